from __future__ import annotations

import numpy as np

from outdial.audio import g711


def test_ulaw_known_values() -> None:
    assert g711.decode(b"\xff\x7f\x00\x80").tolist() == [0, 0, -32124, 32124]


def test_alaw_known_values() -> None:
    assert g711.decode(b"\xd5\x55\x2a\xaa", alaw=True).tolist() == [8, -8, -32256, 32256]


def test_every_code_survives_decode_then_encode() -> None:
    codes = bytes(range(256))
    for alaw in (False, True):
        decoded = g711.decode(codes, alaw=alaw)
        again = g711.decode(g711.encode(decoded, alaw=alaw), alaw=alaw)
        assert np.array_equal(decoded, again)


def test_encoding_a_sine_keeps_it_close() -> None:
    t = np.arange(160) / 8000
    tone = (8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    for alaw in (False, True):
        back = g711.decode(g711.encode(tone, alaw=alaw), alaw=alaw).astype(np.int32)
        assert np.max(np.abs(back - tone)) < 300
