"""Recognising audio files, for ``outdial recognize``: one utterance per file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from outdial.audio.files import AudioFormatError, read_audio
from outdial.speech.recognizer import Recognizer


def recognize_file(path: Path, recognizer: Recognizer) -> dict[str, Any]:
    """``{"file", "text", "key", "heard", "confidence"}`` (``text`` and ``key`` ``null`` for
    no match), or ``{"file", "error"}`` when the file cannot be read."""
    try:
        audio = read_audio(path)
    except (OSError, AudioFormatError) as error:
        message = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return {"file": str(path), "error": message}
    heard = recognizer.recognize(audio)
    return {
        "file": str(path),
        "text": heard.text or None,
        "key": heard.key,
        "heard": heard.heard,
        "confidence": heard.confidence,
    }
