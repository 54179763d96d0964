"""What simulated callees sound like: the line stays up in quiet after their words, and the
scripted late-beep voicemail starts like a person."""

from __future__ import annotations

import random

import numpy as np
import pytest

from outdial.audio.frames import FRAME_SAMPLES, SAMPLE_RATE
from outdial.calls import CalleeType
from outdial.detect import Cause, DetectionParams, Detector, Verdict
from outdial.errors import InvalidField
from outdial.telephony import simaudio
from outdial.telephony.simulated import parse_sim_config


def _first_verdict(sound: np.ndarray) -> Verdict | None:
    detector = Detector(DetectionParams())
    for at in range(0, len(sound) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        verdict = detector.feed(sound[at : at + FRAME_SAMPLES].tobytes())
        if verdict is not None:
            return verdict
    return None


def test_a_person_s_line_stays_up_in_quiet_after_the_hello() -> None:
    sound = simaudio.answered_audio(CalleeType.VOICE, random.Random(3), 6.0)
    assert len(sound) == 6 * SAMPLE_RATE  # the call's whole talk time, not the clip's
    tail = sound[-2 * SAMPLE_RATE :].astype(np.float64)
    rms = np.sqrt(np.mean(tail**2))
    assert 0 < rms < 100  # a quiet line (-60 dBFS), not digital zero, not speech
    verdict = _first_verdict(sound)
    assert verdict is not None and verdict.callee_type is CalleeType.VOICE
    assert verdict.cause is Cause.SHORT_GREETING


def test_the_late_beep_voicemail_sounds_like_a_person_first_and_beeps_late() -> None:
    sound = simaudio.answered_audio(
        CalleeType.ANSWERINGMACHINE, random.Random(3), 12.0, sound="voicemail-late-beep"
    )
    hello = len(simaudio.clip("voicemail-late-hello"))
    message = len(simaudio.clip("voicemail-late-message"))
    pause = int(simaudio.LATE_PAUSE_MS * 8)
    beep_at = hello + pause + message + int(simaudio.LATE_BEEP_PAUSE_MS * 8)
    beep = sound[beep_at : beep_at + 3200].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(beep))
    assert np.fft.rfftfreq(len(beep), 1 / SAMPLE_RATE)[int(np.argmax(spectrum))] == 1000.0
    verdict = _first_verdict(sound)
    # what makes it a test of revisions: the first verdict is a person's, before the message
    assert verdict is not None and verdict.callee_type is CalleeType.VOICE
    assert verdict.decided_ms < (hello + pause) * 1000 // SAMPLE_RATE


def test_a_rule_may_name_a_scripted_sound_and_nothing_else() -> None:
    config = parse_sim_config(
        {
            "rules": [
                {
                    "match": ".",
                    "outcome": "answeringmachine",
                    "callee": {"sound": "voicemail-late-beep"},
                }
            ]
        }
    )
    assert config.rules[0].sound == "voicemail-late-beep"
    with pytest.raises(InvalidField, match=r"callee\.sound: 'robot' is not one of"):
        parse_sim_config({"rules": [{"outcome": "voice", "callee": {"sound": "robot"}}]})
