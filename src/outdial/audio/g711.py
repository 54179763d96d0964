"""G.711 µ-law and A-law (ITU-T G.711), as numpy lookup tables.

``audioop`` is gone in Python 3.13, so decode with a 256-entry table and encode with a
65,536-entry table built once, lazily, on first use (no work at import time).
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

ULAW_SILENCE = 0xFF
ALAW_SILENCE = 0xD5
Samples = npt.NDArray[np.int16]


def _ulaw_decode(code: int) -> int:
    code = ~code & 0xFF
    sign = code & 0x80
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = ((mantissa << 3) + 0x84) << exponent
    magnitude -= 0x84
    return -magnitude if sign else magnitude


def _alaw_decode(code: int) -> int:
    code ^= 0x55
    sign = code & 0x80
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (mantissa << 4) + 264 << exponent - 1 if exponent else (mantissa << 4) + 8
    return magnitude if sign else -magnitude


@functools.cache
def _decode_table(alaw: bool) -> Samples:
    decode = _alaw_decode if alaw else _ulaw_decode
    return np.array([decode(c) for c in range(256)], dtype=np.int16)


@functools.cache
def _encode_table(alaw: bool) -> npt.NDArray[np.uint8]:
    """For every 16-bit sample, the code whose decoded value is nearest."""
    decoded = _decode_table(alaw).astype(np.int32)
    order = np.argsort(decoded, kind="stable")
    values = decoded[order]
    samples = np.arange(-32768, 32768, dtype=np.int32)
    right = np.clip(np.searchsorted(values, samples), 1, len(values) - 1)
    left = right - 1
    nearer_left = (samples - values[left]) <= (values[right] - samples)
    chosen = np.where(nearer_left, order[left], order[right])
    return chosen.astype(np.uint8)


def decode(payload: bytes, *, alaw: bool = False) -> Samples:
    """G.711 bytes to 16-bit linear samples."""
    return _decode_table(alaw)[np.frombuffer(payload, dtype=np.uint8)]


def encode(samples: Samples, *, alaw: bool = False) -> bytes:
    """16-bit linear samples to G.711 bytes."""
    index = samples.astype(np.int32) + 32768
    return bytes(_encode_table(alaw)[index].tobytes())


# The names detection and audio files use: bytes or uint8 arrays in, int16 arrays out.


def _payload(data: bytes | npt.NDArray[np.uint8]) -> bytes:
    return data if isinstance(data, bytes) else np.asarray(data, dtype=np.uint8).tobytes()


def _clipped(samples: npt.NDArray[np.integer]) -> Samples:
    return np.clip(np.asarray(samples), -32768, 32767).astype(np.int16)


def ulaw_decode(data: bytes | npt.NDArray[np.uint8]) -> Samples:
    """16-bit linear samples from µ-law bytes (PCMU, RTP payload type 0)."""
    return decode(_payload(data))


def alaw_decode(data: bytes | npt.NDArray[np.uint8]) -> Samples:
    """16-bit linear samples from A-law bytes (PCMA, RTP payload type 8)."""
    return decode(_payload(data), alaw=True)


def ulaw_encode(samples: npt.NDArray[np.integer]) -> npt.NDArray[np.uint8]:
    """µ-law bytes for 16-bit samples (the nearest code)."""
    return np.frombuffer(encode(_clipped(samples)), dtype=np.uint8)


def alaw_encode(samples: npt.NDArray[np.integer]) -> npt.NDArray[np.uint8]:
    """A-law bytes for 16-bit samples (the nearest code)."""
    return np.frombuffer(encode(_clipped(samples), alaw=True), dtype=np.uint8)
