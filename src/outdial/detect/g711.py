"""G.711 µ-law and A-law for detection and audio files, in the names detection uses.

One codec serves the project: these call ``outdial.telephony.g711`` (RTP uses it directly), so
a file, a simulated call and a SIP call decode alike.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from outdial.telephony import g711

Int16Array = npt.NDArray[np.int16]


def _payload(data: bytes | npt.NDArray[np.uint8]) -> bytes:
    return data if isinstance(data, bytes) else np.asarray(data, dtype=np.uint8).tobytes()


def _samples(samples: npt.NDArray[np.integer]) -> Int16Array:
    return np.clip(np.asarray(samples), -32768, 32767).astype(np.int16)


def ulaw_decode(data: bytes | npt.NDArray[np.uint8]) -> Int16Array:
    """16-bit linear samples from µ-law bytes (PCMU, RTP payload type 0)."""
    return g711.decode(_payload(data))


def alaw_decode(data: bytes | npt.NDArray[np.uint8]) -> Int16Array:
    """16-bit linear samples from A-law bytes (PCMA, RTP payload type 8)."""
    return g711.decode(_payload(data), alaw=True)


def ulaw_encode(samples: npt.NDArray[np.integer]) -> npt.NDArray[np.uint8]:
    """µ-law bytes for 16-bit samples (the nearest code)."""
    return np.frombuffer(g711.encode(_samples(samples)), dtype=np.uint8)


def alaw_encode(samples: npt.NDArray[np.integer]) -> npt.NDArray[np.uint8]:
    """A-law bytes for 16-bit samples (the nearest code)."""
    return np.frombuffer(g711.encode(_samples(samples), alaw=True), dtype=np.uint8)
