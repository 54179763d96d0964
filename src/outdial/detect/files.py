"""Classifying audio files, for ``outdial detect``: the file is the callee's side from answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from outdial.audio.files import AudioFormatError, read_audio
from outdial.audio.frames import FRAME_SAMPLES
from outdial.detect.detector import Detector
from outdial.detect.params import DetectionParams

_SILENCE = np.zeros(FRAME_SAMPLES, dtype=np.int16)


def classify_file(path: Path, params: DetectionParams | None = None) -> dict[str, Any]:
    """``{"file", "callee_type", "decided_ms", "beep_end_ms", "cause"}``, or ``{"file",
    "error"}`` when the file cannot be read.

    The detector streams the file 20 ms at a time and stops when its verdict is final (for
    voicemail, once the beep has settled). A recording that stops first is heard as a call
    that goes on in silence, up to ``max_decision_ms``: a person's "hello?" cut short after
    the word is still a person, though ``decided_ms`` is then past the end of the file.
    """
    try:
        audio = read_audio(path)
    except (OSError, AudioFormatError) as error:
        return {"file": str(path), "error": _describe(error)}
    detector = Detector(params)
    for start in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        detector.feed(audio[start : start + FRAME_SAMPLES])
        if detector.finished:
            break
    tail = len(audio) % FRAME_SAMPLES
    if tail and not detector.finished:  # the last part-frame, completed with silence
        detector.feed(np.concatenate([audio[-tail:], _SILENCE[tail:]]))
    while not detector.finished and detector.position_ms < detector.params.max_decision_ms:
        detector.feed(_SILENCE)
    verdict = detector.verdict if detector.finished else detector.end()
    assert verdict is not None
    return {
        "file": str(path),
        "callee_type": verdict.callee_type.value,
        "decided_ms": verdict.decided_ms,
        "beep_end_ms": verdict.beep_end_ms,
        "cause": verdict.cause.value,
    }


def _describe(error: Exception) -> str:
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return str(error)
