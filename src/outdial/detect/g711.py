"""G.711 µ-law and A-law decoding (ITU-T G.711) with 256-entry numpy tables."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]


def _ulaw_table() -> Int16Array:
    # G.711 §2 (µ-law): invert, then sign, 3-bit exponent, 4-bit mantissa; bias 0x84.
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(codes & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> Int16Array:
    # G.711 §3 (A-law): even bits inverted (xor 0x55), then sign, exponent, mantissa.
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = np.where(
        exponent == 0,
        (mantissa << 4) + 8,
        ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0),
    )
    return np.where(codes & 0x80, magnitude, -magnitude).astype(np.int16)


ULAW_TABLE: Int16Array = _ulaw_table()
ALAW_TABLE: Int16Array = _alaw_table()


def _codes(data: bytes | npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    if isinstance(data, bytes | bytearray | memoryview):
        return np.frombuffer(data, dtype=np.uint8)
    return data


def ulaw_decode(data: bytes | npt.NDArray[np.uint8]) -> Int16Array:
    """16-bit linear samples from µ-law bytes (PCMU, RTP payload type 0)."""
    return ULAW_TABLE[_codes(data)]


def alaw_decode(data: bytes | npt.NDArray[np.uint8]) -> Int16Array:
    """16-bit linear samples from A-law bytes (PCMA, RTP payload type 8)."""
    return ALAW_TABLE[_codes(data)]


def _encoder(table: Int16Array) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]]:
    order = np.argsort(table, kind="stable")
    return table[order].astype(np.int32), order.astype(np.uint8)


_ULAW_SORTED, _ULAW_ORDER = _encoder(ULAW_TABLE)
_ALAW_SORTED, _ALAW_ORDER = _encoder(ALAW_TABLE)


def _encode(
    samples: npt.NDArray[np.integer], ordered: npt.NDArray[np.int32], codes: npt.NDArray[np.uint8]
) -> npt.NDArray[np.uint8]:
    # Nearest table entry: exact for any sample that a decoder can produce.
    x = np.asarray(samples, dtype=np.int32)
    right = np.clip(np.searchsorted(ordered, x), 1, len(ordered) - 1)
    left = right - 1
    nearer_left = (x - ordered[left]) <= (ordered[right] - x)
    return codes[np.where(nearer_left, left, right)]


def ulaw_encode(samples: npt.NDArray[np.integer]) -> npt.NDArray[np.uint8]:
    """µ-law bytes for 16-bit samples (nearest code; used for simulated audio)."""
    return _encode(samples, _ULAW_SORTED, _ULAW_ORDER)


def alaw_encode(samples: npt.NDArray[np.integer]) -> npt.NDArray[np.uint8]:
    """A-law bytes for 16-bit samples (nearest code; used for simulated audio)."""
    return _encode(samples, _ALAW_SORTED, _ALAW_ORDER)
