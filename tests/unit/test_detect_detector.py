"""The streaming detector on synthesised tones and silence (speech is in the corpus test)."""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
import pytest

from outdial.audio import synth
from outdial.audio.g711 import ulaw_encode
from outdial.calls import CalleeType
from outdial.detect import Cause, DetectionParams, Detector, Verdict

FRAME = 160


def pcm(*parts: npt.NDArray[np.float64]) -> npt.NDArray[np.int16]:
    return np.clip(np.round(np.concatenate(parts)), -32768, 32767).astype(np.int16)


def stream(audio: npt.NDArray[np.int16], detector: Detector | None = None) -> Detector:
    """Feed 20 ms frames until the detector is finished or the audio ends."""
    detector = detector or Detector()
    for start in range(0, len(audio) - FRAME + 1, FRAME):
        detector.feed(audio[start : start + FRAME])
        if detector.finished:
            break
    return detector


def verdict_of(audio: npt.NDArray[np.int16]) -> Verdict:
    detector = stream(audio)
    assert detector.verdict is not None, "undecided"
    return detector.verdict


@pytest.mark.parametrize(
    ("low", "mid", "durations"),
    [
        (913.8, 1370.6, (274.0, 274.0, 380.0)),  # e.g. reorder
        (985.2, 1428.5, (380.0, 380.0, 380.0)),  # e.g. vacant code
        (913.8, 1428.5, (274.0, 380.0, 380.0)),
    ],
)
def test_sit_is_informationtone(
    low: float, mid: float, durations: tuple[float, float, float]
) -> None:
    audio = pcm(synth.silence(400), synth.sit(low, mid, durations), synth.silence(2000))
    verdict = verdict_of(audio)
    assert (verdict.callee_type, verdict.cause) == (CalleeType.INFORMATIONTONE, Cause.SIT)
    assert verdict.decided_ms < 400 + sum(durations)  # during the third segment


def test_sit_segments_out_of_order_are_not_sit() -> None:
    reversed_sit = pcm(
        synth.silence(400),
        synth.tone(1776.7, 380, -18),
        synth.tone(1370.6, 274, -18),
        synth.tone(913.8, 274, -18),
        synth.silence(6000),
    )
    assert verdict_of(reversed_sit).callee_type is CalleeType.UNKNOWN


@pytest.mark.parametrize("reversals", [False, True])
def test_fax_answer_tone(reversals: bool) -> None:
    audio = pcm(synth.silence(300), synth.ced(3000, reversals), synth.silence(1000))
    verdict = verdict_of(audio)
    assert (verdict.callee_type, verdict.cause) == (CalleeType.FAX, Cause.FAX_CED)


def test_fax_v21_flags_alone() -> None:
    verdict = verdict_of(pcm(synth.silence(300), synth.v21_flags(1500), synth.silence(500)))
    assert (verdict.callee_type, verdict.cause) == (CalleeType.FAX, Cause.FAX_V21)


def test_fax_calling_tone() -> None:
    verdict = verdict_of(pcm(synth.silence(500), synth.cng(8000)))
    assert (verdict.callee_type, verdict.cause) == (CalleeType.FAX, Cause.FAX_CNG)


def test_steady_tone_near_v21_band_is_not_fax() -> None:
    verdict = verdict_of(pcm(synth.silence(300), synth.tone(1700, 1500), synth.silence(6000)))
    assert verdict.callee_type is CalleeType.UNKNOWN


def test_dead_air_is_unknown_after_the_configured_time() -> None:
    params = DetectionParams(dead_air_ms=2500)
    detector = stream(pcm(synth.silence(8000)), Detector(params))
    assert detector.verdict == Verdict(CalleeType.UNKNOWN, Cause.DEAD_AIR, 2500, None)


def test_quiet_line_noise_is_still_dead_air() -> None:
    noise = np.random.default_rng(3).normal(0, 32768 * 10 ** (-50 / 20), 8 * 8000)
    verdict = verdict_of(pcm(noise))
    assert (verdict.callee_type, verdict.cause) == (CalleeType.UNKNOWN, Cause.DEAD_AIR)


def test_audio_that_ends_undecided_is_unknown() -> None:
    detector = stream(pcm(synth.silence(1000)))
    assert detector.verdict is None
    assert detector.end() == Verdict(CalleeType.UNKNOWN, Cause.AUDIO_ENDED, 1000, None)


def test_result_does_not_depend_on_how_audio_is_chunked() -> None:
    audio = pcm(synth.silence(333), synth.sit(985.2, 1370.6, (380, 274, 380)), synth.silence(900))
    by_frame = stream(audio).verdict
    whole = Detector()
    whole.feed(audio)
    odd = Detector()
    for start in range(0, len(audio), 97):  # not a whole number of frames
        odd.feed(audio[start : start + 97])
    assert by_frame is not None
    assert whole.verdict == odd.verdict == by_frame


def test_ulaw_and_bytes_input_give_the_same_verdict() -> None:
    audio = pcm(synth.silence(300), synth.ced(2000, True))
    codes = ulaw_encode(audio).tobytes()
    by_ulaw = Detector()
    for start in range(0, len(codes), FRAME):
        by_ulaw.feed_ulaw(codes[start : start + FRAME])
    by_bytes = Detector()
    by_bytes.feed(audio.astype("<i2").tobytes())
    assert by_ulaw.verdict is not None and by_bytes.verdict is not None
    assert by_ulaw.verdict.callee_type is by_bytes.verdict.callee_type is CalleeType.FAX


def test_feed_returns_the_verdict_once_when_it_is_made() -> None:
    audio = pcm(synth.silence(300), synth.ced(2000, False), synth.silence(2000))
    detector = Detector()
    made = [v for s in range(0, len(audio), FRAME) if (v := detector.feed(audio[s : s + FRAME]))]
    assert len(made) == 1
    assert made[0] is detector.verdict
    assert detector.finished


def test_params_are_frozen_and_validated() -> None:
    params = DetectionParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.dead_air_ms = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="webrtcvad mode must be 0 to 3"):
        Detector(DetectionParams(vad_mode=4))
