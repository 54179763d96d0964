"""G.711 µ-law audio in a WAV file (format 7), as browsers and players take it."""

from __future__ import annotations

import struct

from outdial.audio.frames import SAMPLE_RATE

WAVE_FORMAT_MULAW = 7


def ulaw_wav(ulaw: bytes) -> bytes:
    """A WAV file holding ``ulaw`` (8 kHz mono µ-law) as it is, 8 bits a sample."""
    fmt = struct.pack(
        "<HHIIHHH", WAVE_FORMAT_MULAW, 1, SAMPLE_RATE, SAMPLE_RATE, 1, 8, 0
    )  # cbSize 0: non-PCM formats carry it (RIFF WAVE, WAVEFORMATEX)
    fact = struct.pack("<I", len(ulaw))  # samples: one byte each
    pad = b"\0" if len(ulaw) % 2 else b""
    chunks = (
        b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"fact" + struct.pack("<I", len(fact)) + fact
        + b"data" + struct.pack("<I", len(ulaw)) + ulaw + pad
    )  # fmt: skip
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks
