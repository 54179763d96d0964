"""Telephone audio as WAV files that every player takes."""

from __future__ import annotations

import io
import wave

from outdial.audio import g711
from outdial.audio.frames import SAMPLE_RATE


def ulaw_to_wav(ulaw: bytes) -> bytes:
    """µ-law 8 kHz bytes as a 16-bit PCM WAV file (every browser plays PCM; not all µ-law)."""
    samples = g711.decode(ulaw).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()
