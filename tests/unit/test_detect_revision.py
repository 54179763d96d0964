"""Revisable verdicts, words, the prompt input and the beeps that are not one sine.

"Speech" here is loud noise in syllables (non-tonal, far above the line's background), as in
the listening tests; real speech is in the corpus test.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
import pytest

from outdial.audio import synth
from outdial.audio.frames import SAMPLE_RATE
from outdial.calls import CalleeType
from outdial.detect import Cause, DetectionParams, Detector, Heard, Verdict

FRAME = 160
FloatArray = npt.NDArray[np.float64]


def quiet(ms: float) -> FloatArray:
    rng = np.random.default_rng(1)
    return rng.normal(0.0, synth.amplitude(-60.0) / np.sqrt(2.0), synth.samples_for(ms))


def talk(ms: float, seed: int = 2) -> FloatArray:
    """Syllables: 200 ms noise bursts at -20 dBFS, 100 ms apart."""
    rng = np.random.default_rng(seed)
    parts: list[FloatArray] = []
    for _ in range(max(1, round(ms / 300.0))):
        parts += [rng.normal(0.0, synth.amplitude(-20.0) / np.sqrt(2.0), 1600), quiet(100)]
    return np.concatenate(parts)


def pcm(*parts: FloatArray) -> npt.NDArray[np.int16]:
    return np.clip(np.round(np.concatenate(parts)), -32768, 32767).astype(np.int16)


def ms_of(*parts: FloatArray) -> int:
    return round(sum(len(p) for p in parts) * 1000 / SAMPLE_RATE)


def run(
    audio: npt.NDArray[np.int16],
    detector: Detector | None = None,
    prompt_ms: int = 0,
    words: dict[int, list[Heard]] | None = None,
) -> tuple[Detector, list[Verdict]]:
    """Feed 20 ms frames; on a voice verdict, play a prompt of ``prompt_ms`` (told to the
    detector); hand in ``words`` at the positions given."""
    detector = detector or Detector()
    verdicts: list[Verdict] = []
    prompt_until = -1
    for start in range(0, len(audio) - FRAME + 1, FRAME):
        verdict = detector.feed(audio[start : start + FRAME])
        if verdict is not None:
            verdicts.append(verdict)
            if prompt_ms and verdict.callee_type is CalleeType.VOICE and prompt_until < 0:
                detector.playing(True)
                prompt_until = detector.position_ms + prompt_ms
        if detector.position_ms == prompt_until:
            detector.playing(False)
        if words and detector.position_ms in words:
            detector.heard_words(words[detector.position_ms])
        if detector.finished:
            break
    return detector, verdicts


def square(hz: float, ms: float, dbfs: float) -> FloatArray:
    n = np.arange(synth.samples_for(ms))
    return np.sign(np.sin(2 * np.pi * hz * n / SAMPLE_RATE)) * synth.amplitude(dbfs) / 1.41


def sweep(start_hz: float, end_hz: float, ms: float, dbfs: float) -> FloatArray:
    n = np.arange(synth.samples_for(ms))
    hz = start_hz + (end_hz - start_hz) * n / len(n)
    return synth.amplitude(dbfs) * np.sin(2 * np.pi * np.cumsum(hz) / SAMPLE_RATE)


def test_a_beep_after_a_voice_verdict_revises_it() -> None:
    head = (quiet(300), talk(600), quiet(2000))
    beep = synth.tone(1000.0, 400.0, -15.0)
    _, verdicts = run(pcm(*head, beep, quiet(3000)))

    first, revised = verdicts
    assert (first.callee_type, first.cause, first.revises) == (
        CalleeType.VOICE,
        Cause.SHORT_GREETING,
        None,
    )
    assert (revised.callee_type, revised.cause, revised.revises) == (
        CalleeType.ANSWERINGMACHINE,
        Cause.BEEP_AFTER_VOICE,
        CalleeType.VOICE,
    )
    assert revised.beep_end_ms is not None
    assert abs(revised.beep_end_ms - ms_of(*head, beep)) <= 20
    assert revised.decided_ms > first.decided_ms


def test_without_a_revision_window_voice_is_final_at_once() -> None:
    detector = Detector(DetectionParams(revise_window_ms=0))
    head = (quiet(300), talk(600), quiet(2000))
    detector, verdicts = run(pcm(*head, synth.tone(1000.0, 400.0, -15.0), quiet(3000)), detector)

    assert [v.callee_type for v in verdicts] == [CalleeType.VOICE]
    assert detector.finished


def test_voice_is_finished_when_the_revision_window_closes() -> None:
    params = DetectionParams()
    detector, verdicts = run(pcm(quiet(300), talk(600), quiet(12000)))

    assert [v.callee_type for v in verdicts] == [CalleeType.VOICE]
    assert detector.finished
    since_voice = detector.position_ms - verdicts[0].decided_ms
    assert since_voice == max(params.revise_window_ms, params.revise_quiet_ms)


@pytest.mark.parametrize(
    "beep",
    [
        square(600.0, 400.0, -16.0),
        synth.tone(700.0, 400.0, -18.0) + synth.tone(1000.0, 400.0, -20.0),
        sweep(800.0, 1300.0, 400.0, -16.0),
    ],
    ids=["square", "dual-tone", "swept"],
)
def test_beeps_that_are_not_one_sine_are_found(beep: FloatArray) -> None:
    head = (quiet(300), talk(7200), quiet(300))
    _, verdicts = run(pcm(*head, beep, quiet(3000)))

    last = verdicts[-1]
    assert last.callee_type is CalleeType.ANSWERINGMACHINE
    assert last.beep_end_ms is not None
    assert abs(last.beep_end_ms - ms_of(*head, beep)) <= 100


def test_old_tone_rules_miss_a_square_beep() -> None:
    old = DetectionParams(tone_purity2=1.0, beep_sweep_hz=0.0)
    head = (quiet(300), talk(7200), quiet(300))
    _, verdicts = run(pcm(*head, square(600.0, 400.0, -16.0), quiet(3000)), Detector(old))

    assert all(v.beep_end_ms is None for v in verdicts)


def test_speech_that_starts_during_our_prompt_never_revises() -> None:
    audio = pcm(quiet(300), talk(600), quiet(1200), talk(4000), quiet(4000))

    _, told = run(audio, prompt_ms=3000)
    _, untold = run(audio)

    assert [(v.callee_type, v.cause) for v in told] == [(CalleeType.VOICE, Cause.SHORT_GREETING)]
    assert [(v.callee_type, v.cause) for v in untold] == [
        (CalleeType.VOICE, Cause.SHORT_GREETING),
        (CalleeType.ANSWERINGMACHINE, Cause.GREETING_WENT_ON),
    ]


def test_a_second_short_hello_is_not_a_greeting_going_on() -> None:
    _, verdicts = run(pcm(quiet(300), talk(600), quiet(1500), talk(600, seed=3), quiet(6000)))

    assert [v.callee_type for v in verdicts] == [CalleeType.VOICE]


def test_a_greeting_phrase_decides_voicemail_once_the_greeting_is_long_enough() -> None:
    audio = pcm(quiet(300), talk(6000), quiet(4000))
    words = {1500: [Heard("leave a message", 1400)]}

    _, verdicts = run(audio, words=words)

    first = verdicts[0]
    assert (first.callee_type, first.cause) == (CalleeType.ANSWERINGMACHINE, Cause.GREETING_PHRASES)
    assert first.decided_ms == 300 + DetectionParams().phrase_speech_ms


def test_one_phrase_after_a_voice_verdict_is_not_enough_two_are() -> None:
    audio = pcm(quiet(300), talk(600), quiet(9000))
    one = {2000: [Heard("not available", 1900)]}
    two = {2000: [Heard("not available", 1900)], 2500: [Heard("after the tone", 2400)]}

    _, with_one = run(audio, words=one)
    _, with_two = run(audio, words=two)

    assert [v.callee_type for v in with_one] == [CalleeType.VOICE]
    assert [(v.cause, v.revises) for v in with_two] == [
        (Cause.SHORT_GREETING, None),
        (Cause.PHRASES_AFTER_VOICE, CalleeType.VOICE),
    ]


def test_words_are_ignored_when_turned_off() -> None:
    detector = Detector(DetectionParams(phrases_for_machine=0))
    assert not detector.wants_words
    audio = pcm(quiet(300), talk(3000), quiet(4000))
    _, verdicts = run(audio, detector, words={1500: [Heard("leave a message", 1400)]})

    assert verdicts[0].callee_type is CalleeType.VOICE


def test_a_monologue_without_sentence_pauses_is_not_a_machine_at_six_and_a_half_seconds() -> None:
    params = DetectionParams()
    _, verdicts = run(pcm(quiet(300), talk(8000), quiet(4000)))
    assert verdicts[0].callee_type is CalleeType.VOICE

    _, old = run(
        pcm(quiet(300), talk(8000), quiet(4000)),
        Detector(dataclasses.replace(params, long_sentences=0)),
    )
    assert (old[0].callee_type, old[0].cause) == (CalleeType.ANSWERINGMACHINE, Cause.LONG_GREETING)
