"""Classifying audio files, for ``outdial detect``: the file is the callee's side from answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from outdial.detect.audio import AudioFormatError, read_audio
from outdial.detect.detector import Detector
from outdial.detect.params import FRAME_SAMPLES, DetectionParams


def classify_file(path: Path, params: DetectionParams | None = None) -> dict[str, Any]:
    """``{"file", "callee_type", "decided_ms", "beep_end_ms", "cause"}``, or ``{"file",
    "error"}`` when the file cannot be read. The detector streams 20 ms frames and stops when
    its verdict is final (for voicemail, once the beep has settled)."""
    try:
        audio = read_audio(path)
    except (OSError, AudioFormatError) as error:
        return {"file": str(path), "error": _describe(error)}
    detector = Detector(params)
    for start in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        detector.feed(audio[start : start + FRAME_SAMPLES])
        if detector.finished:
            break
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
