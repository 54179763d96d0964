"""Classifying audio files, for ``outdial detect``: the file is the callee's side from answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from outdial.audio.files import AudioFormatError, read_audio
from outdial.audio.frames import FRAME_SAMPLES
from outdial.detect.detector import Detector
from outdial.detect.params import DetectionParams
from outdial.detect.spotting import SpotSchedule
from outdial.detect.verdict import Heard, Verdict

_SILENCE = np.zeros(FRAME_SAMPLES, dtype=np.int16)


def classify_file(
    path: Path, params: DetectionParams | None = None, words: bool = True
) -> dict[str, Any]:
    """``{"file", "callee_type", "decided_ms", "beep_end_ms", "cause"}``, plus ``"first"``
    (the first verdict's ``callee_type``, ``cause`` and ``decided_ms``) when a later one
    revised it; or ``{"file", "error"}`` when the file cannot be read.

    The detector streams the file 20 ms at a time and stops when its verdict is final (for
    voicemail, once the beep has settled; for a person, when the revision window closes). A
    recording that stops first is heard as a call that goes on in silence, up to
    ``max_decision_ms``: a person's "hello?" cut short after the word is still a person,
    though ``decided_ms`` is then past the end of the file. With ``words``, the greeting-phrase
    spotter hears the windows a call's would, and its hits count at once.
    """
    try:
        audio = read_audio(path)
    except (OSError, AudioFormatError) as error:
        return {"file": str(path), "error": _describe(error)}
    detector = Detector(params)
    spot = _spotter() if words and detector.params.phrases_for_machine > 0 else None
    schedule = SpotSchedule()
    verdicts: list[Verdict] = []

    def feed(frame: np.ndarray[Any, np.dtype[np.int16]]) -> None:
        verdict = detector.feed(frame)
        if verdict is not None:
            verdicts.append(verdict)
        window = schedule.next_window(detector) if spot is not None else None
        if spot is not None and window is not None:
            start, end = window
            heard = spot.spot(audio[start * 8 : end * 8], offset_ms=start).phrases
            detector.heard_words(Heard(h.phrase, h.end_ms) for h in heard)

    for start in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        feed(audio[start : start + FRAME_SAMPLES])
        if detector.finished:
            break
    tail = len(audio) % FRAME_SAMPLES
    if tail and not detector.finished:  # the last part-frame, completed with silence
        feed(np.concatenate([audio[-tail:], _SILENCE[tail:]]))
    while not detector.finished and detector.position_ms < detector.params.max_decision_ms:
        feed(_SILENCE)
    verdict = detector.verdict if detector.finished else detector.end()
    assert verdict is not None
    result: dict[str, Any] = {
        "file": str(path),
        "callee_type": verdict.callee_type.value,
        "decided_ms": verdict.decided_ms,
        "beep_end_ms": verdict.beep_end_ms,
        "cause": verdict.cause.value,
    }
    first = verdicts[0] if verdicts else verdict
    if first.callee_type is not verdict.callee_type:
        result["first"] = {
            "callee_type": first.callee_type.value,
            "cause": first.cause.value,
            "decided_ms": first.decided_ms,
        }
    return result


def _spotter() -> Any:
    from outdial.speech.spotter import Spotter  # pocketsphinx loads only when words are used

    return Spotter()


def _describe(error: Exception) -> str:
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return str(error)
