"""Every voice really synthesised (espeak-ng, flite, festival as installed by
scripts/system-deps): 8 kHz µ-law of a plausible length, text that must only be spoken, long
text, missing programs and voices, and synthesis off the event loop."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from outdial.audio import g711
from outdial.audio.files import read_audio
from outdial.cli import flowcmds, main
from outdial.dispatch.flows import FlowRuntime
from outdial.flow.engines import (
    FestivalSynthesizer,
    FliteSynthesizer,
    default_cache,
    synthesizers,
)
from outdial.flow.tts import SAMPLE_RATE, TtsError, run_program
from outdial.flow.voices import all_voices, parse_voice
from outdial.store.store import Store

SENTENCE = "Hello, this is Acme Dental with a reminder of your visit on Tuesday."


def speak(spec: str, text: str) -> bytes:
    engine, voice = parse_voice(spec)
    return synthesizers()[engine].synthesize(text, voice)


def assert_speech(audio: bytes, low_s: float, high_s: float) -> None:
    """µ-law 8 kHz speech: as long as expected, not silence, not clipped throughout."""
    seconds = len(audio) / SAMPLE_RATE  # one byte per sample
    assert low_s < seconds < high_s, seconds
    pcm = g711.decode(audio).astype(np.float64)
    frames = pcm[: len(pcm) // 160 * 160].reshape(-1, 160)  # 20 ms frames
    rms = np.sqrt((frames**2).mean(axis=1))
    assert (rms > 300).mean() > 0.3  # speech in at least a third of the frames
    assert (np.abs(pcm) > 32000).mean() < 0.01  # and hardly ever at full scale


@pytest.fixture(scope="module")
def espeak_seconds() -> float:
    return len(speak("en-us", SENTENCE)) / SAMPLE_RATE


@pytest.mark.parametrize("spec", all_voices())
def test_each_voice_speaks_a_sentence_as_8khz_ulaw(spec: str, espeak_seconds: float) -> None:
    audio = speak(spec, SENTENCE)
    # A rate taken for another (16 or 48 kHz audio read as 8 kHz) would be 2 to 6 times off.
    assert_speech(audio, 0.6 * espeak_seconds, 1.6 * espeak_seconds)


@pytest.mark.parametrize("spec", ["flite:slt", "festival:us-slt-hts"])
def test_quotes_parentheses_and_scheme_are_only_spoken(spec: str, tmp_path: Path) -> None:
    marker = tmp_path / "evaluated"
    text = f'He said "no" (twice). \\ ") (system "touch {marker}") (quit) ("'
    audio = speak(spec, text)
    assert_speech(audio, 2.0, 20.0)
    assert not marker.exists()


@pytest.mark.parametrize("spec", ["flite:slt", "festival:us-slt-hts"])
def test_unicode_text_is_spoken_without_its_symbols(spec: str) -> None:
    accented = speak(spec, "Caf\u00e9 \u201cZo\u00eb\u201d \u2014 na\u00efve, \u00e0 5 \u20ac.")
    plain = speak(spec, 'Cafe "Zoe" - naive, a 5 euros.')
    assert_speech(accented, 1.0, 10.0)
    assert abs(len(accented) - len(plain)) < 0.2 * len(plain)
    assert speak(spec, "\u65e5\u672c\u8a9e") == b""


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["flite:slt", "festival:us-slt-hts"])
def test_long_text_is_spoken_whole(spec: str) -> None:
    text = " ".join(f"This is sentence number {i} of a long message." for i in range(1, 31))
    assert len(text) > 1200
    assert_speech(speak(spec, text), 60.0, 200.0)  # thirty sentences of 2 to 6 s


def test_missing_programs_and_voices_are_named_with_their_packages(tmp_path: Path) -> None:
    with pytest.raises(TtsError, match="flite is not installed"):
        FliteSynthesizer(flite="/nonexistent/flite").synthesize("hi", "slt")
    with pytest.raises(TtsError, match="festival:us-slt-hts is not installed on this host"):
        FestivalSynthesizer(text2wave="/nonexistent/text2wave").synthesize("hi", "us-slt-hts")
    # festival exits 0 when a voice is missing and writes nothing: /bin/true does the same
    silent = FestivalSynthesizer(text2wave="/bin/true", voices_dir=tmp_path)
    with pytest.raises(TtsError, match="festvox-us-slt-hts"):
        silent.synthesize("hi", "us-slt-hts")


def test_a_program_that_hangs_is_stopped_at_its_time_limit() -> None:
    with pytest.raises(TtsError, match=r"sleep took more than 0\.2 s"):
        run_program(["sleep", "5"], None, 0.2)


def test_synthesis_while_ringing_runs_off_the_event_loop_and_fills_the_cache(
    tmp_path: Path,
) -> None:
    runtime = FlowRuntime(cast(Store, object()), default_cache(tmp_path), asyncio.to_thread)
    prompts = [("festival:us-slt-hts", "Hello Ann."), ("flite:kal", "Press 1."), ("en-us", "Hi.")]

    async def ring() -> tuple[bool, bytes]:
        synthesis = asyncio.create_task(runtime._synthesize(prompts))
        await asyncio.sleep(0.01)  # the loop runs on while festival works in a thread
        busy = not synthesis.done()
        await synthesis
        return busy, await runtime.speech("Hello Ann.", "festival:us-slt-hts")

    busy, audio = asyncio.run(ring())
    assert busy
    assert_speech(audio, 0.5, 4.0)
    assert all(runtime.tts.cached(text, voice) for voice, text in prompts)
    assert len(list(tmp_path.glob("*.ul"))) == 3


def test_the_cli_lists_the_voices_and_speaks_a_sentence_to_a_wav_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flow", "voices"], {}) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [v["voice"] for v in listed] == all_voices()
    assert all(v["installed"] for v in listed)  # scripts/system-deps installs every engine
    out = tmp_path / "hello.wav"
    assert main(["flow", "say", SENTENCE, "--voice", "flite:slt", "--out", str(out)], {}) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["voice"] == "flite:slt" and said["duration_s"] > 2
    assert_speech(g711.encode(read_audio(out)), 2.0, 8.0)
    assert main(["flow", "say", "hi", "--voice", "flite:bob", "--out", str(out)], {}) != 0
    assert "unknown flite voice 'bob'" in capsys.readouterr().err


def test_flow_check_warns_of_a_voice_this_host_cannot_speak(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text(
        "flow: 1\nstart: a\nvoice: 'festival:us-slt-hts'\nsteps:\n"
        "  a: {type: say, text: hi, voice: 'flite:slt', next: b}\n  b: {type: hangup}\n"
    )
    assert main(["flow", "check", str(flow)], {}) == 0
    assert capsys.readouterr().out == ""  # every engine is installed here

    def no_festival(spec: str) -> str | None:
        return "festival is missing" if spec.startswith("festival") else None

    monkeypatch.setattr(flowcmds, "missing_on_this_host", no_festival)
    assert main(["flow", "check", str(flow)], {}) == 0  # a warning, not an error
    [warning] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert warning == {
        "path": "voice",
        "message": "festival is missing",
        "severity": "warning",
        "line": 3,
    }
