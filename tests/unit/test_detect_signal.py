"""G.711 tables, the generalised Goertzel and the audio file reader, on golden small inputs."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest

from outdial.audio import synth
from outdial.audio.files import AudioFormatError, decode_wav, read_audio, resample
from outdial.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from outdial.detect import features
from outdial.detect.goertzel import ToneBank, goertzel_power

DATA = Path(__file__).parent / "data"
# What each of the 256 codes decodes to (the codec is outdial.audio.g711, shared with RTP).
ULAW_TABLE = ulaw_decode(bytes(range(256)))
ALAW_TABLE = alaw_decode(bytes(range(256)))
RATE = 8000


# G.711 --------------------------------------------------------------------------------------


def test_ulaw_table_matches_g711() -> None:
    # ITU-T G.711 Table 2a: code 0x00 is the most negative value, 0x80 the most positive;
    # 0x7F and 0xFF are the two zeros.
    golden = {
        0x00: -32124,
        0x0F: -16764,
        0x7F: 0,
        0x80: 32124,
        0xFF: 0,
        0xFE: 8,
        0xEF: 132,
        0xF0: 120,
    }
    assert {code: int(ULAW_TABLE[code]) for code in golden} == golden


def test_alaw_table_matches_g711() -> None:
    # G.711 Table 1a: 0xD5 and 0x55 are the smallest magnitudes, 0xAA/0x2A the largest.
    golden = {0xD5: 8, 0x55: -8, 0xAA: 32256, 0x2A: -32256, 0x80: 5504, 0x00: -5504}
    assert {code: int(ALAW_TABLE[code]) for code in golden} == golden


def test_decoding_is_odd_and_monotonic() -> None:
    ulaw_positive = ULAW_TABLE[0xFF:0x7F:-1]  # 0xFF..0x80 rising
    assert np.all(np.diff(ulaw_positive.astype(int)) > 0)
    assert np.array_equal(ULAW_TABLE[:128], -ULAW_TABLE[128:])
    assert np.array_equal(ALAW_TABLE[:128], -ALAW_TABLE[128:])


def test_encode_then_decode_is_exact_on_table_values() -> None:
    assert np.array_equal(ulaw_decode(ulaw_encode(ULAW_TABLE)), ULAW_TABLE)
    assert np.array_equal(alaw_decode(alaw_encode(ALAW_TABLE)), ALAW_TABLE)


def test_decode_takes_bytes() -> None:
    assert ulaw_decode(b"\x00\xff").tolist() == [-32124, 0]
    assert alaw_decode(b"\xd5").tolist() == [8]


# Goertzel -----------------------------------------------------------------------------------


@pytest.mark.parametrize("hz", [913.8, 1370.6, 1776.7, 1100.0])
def test_generalised_goertzel_is_the_dft_at_the_exact_frequency(hz: float) -> None:
    n = np.arange(160)
    x = np.sin(2 * np.pi * hz * n / RATE + 0.4) + 0.3 * np.cos(2 * np.pi * 440 * n / RATE)
    dft = np.sum(x * np.exp(-2j * np.pi * hz * n / RATE))
    assert goertzel_power(x.tolist(), hz, RATE) == pytest.approx(abs(dft) ** 2, rel=1e-9)


def test_tone_bank_equals_the_recurrence() -> None:
    bank = ToneBank([913.8, 1776.7], 320, RATE)
    x = np.random.default_rng(7).normal(size=320)
    expected = [goertzel_power((x * bank.window).tolist(), hz, RATE) for hz in bank.frequencies]
    assert bank.power(x[None, :])[0] == pytest.approx(expected, rel=1e-9)


def test_tone_bank_tells_neighbouring_sit_frequencies_apart() -> None:
    bank = ToneBank([913.8, 985.2], 320, RATE)
    for i, hz in enumerate((913.8, 985.2)):
        share = bank.share(synth.tone(hz, 40.0)[None, :320].copy())[0]
        assert share[i] > 0.99
        assert share[1 - i] < 0.01


def test_integer_bin_goertzel_would_miss_sit_tone() -> None:
    # Why the generalised form: on 160 samples the nearest integer bin is 900 Hz.
    x = np.sin(2 * np.pi * 913.8 * np.arange(160) / RATE)
    exact = goertzel_power(x.tolist(), 913.8, RATE)
    nearest_bin = goertzel_power(x.tolist(), round(913.8 / 50) * 50, RATE)
    assert nearest_bin < 0.9 * exact


def test_frame_features_of_a_pure_tone() -> None:
    window = synth.tone(1400.0, 60.0)[80:400].copy()
    measured = features.measure(window)
    assert measured.peak_hz == pytest.approx(1400.0, abs=3.0)
    assert measured.purity > 0.99
    assert measured.level_dbfs == pytest.approx(-12.0, abs=0.5)


# WAV and raw files --------------------------------------------------------------------------


def wav(tag: int, channels: int, rate: int, bits: int, payload: bytes, extra: bytes = b"") -> bytes:
    block = channels * max(bits // 8, 1)
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits) + extra
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd-sized chunk, padded
    chunks += b"data" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_sox_made_g711_wav_decodes_like_sox(law: str) -> None:
    # Golden files from sox: a 20 ms 1 kHz tone, and sox's own decoding of it.
    samples = read_audio(DATA / f"detect-tone-{law}.wav")
    expected = np.frombuffer((DATA / f"detect-tone-{law}.s16").read_bytes(), dtype="<i2")
    assert np.array_equal(samples, expected)


def test_raw_g711_files_by_extension(tmp_path: Path) -> None:
    (tmp_path / "a.ul").write_bytes(b"\x00\x80\xff")
    (tmp_path / "a.al").write_bytes(b"\xd5\xaa")
    assert read_audio(tmp_path / "a.ul").tolist() == [-32124, 32124, 0]
    assert read_audio(tmp_path / "a.al").tolist() == [8, 32256]


def test_pcm16_stereo_16khz_is_mixed_down_and_resampled() -> None:
    n = np.arange(16000)
    left = (8000 * np.sin(2 * np.pi * 1000 * n / 16000)).astype("<i2")
    right = np.zeros_like(left)
    payload = np.stack([left, right], axis=1).tobytes()
    samples = decode_wav(wav(1, 2, 16000, 16, payload))
    assert len(samples) == 8000
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    assert np.argmax(spectrum) == 1000  # 1 Hz bins over one second
    assert np.sqrt(np.mean(samples[200:-200].astype(float) ** 2)) == pytest.approx(
        4000 / math.sqrt(2), rel=0.03
    )


def test_extensible_float_and_8_bit_wav() -> None:
    guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    extensible = struct.pack("<HHIH", 22, 32, 4, 3) + guid_tail  # cbSize, bits, mask, tag
    floats = np.array([0.5, -0.5], dtype="<f4").tobytes()
    assert decode_wav(wav(0xFFFE, 1, 8000, 32, floats, extensible)).tolist() == [16384, -16384]
    assert decode_wav(wav(1, 1, 8000, 8, bytes([128, 255, 0]))).tolist() == [0, 32512, -32768]


def test_mulaw_wav_at_another_rate_is_resampled() -> None:
    payload = ulaw_encode((8000 * np.sin(np.arange(4410) * 0.1)).astype(np.int16)).tobytes()
    assert len(decode_wav(wav(7, 1, 44100, 8, payload))) == 800


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not audio at all", "not a WAV file"),
        (b"RIFF\x04\x00\x00\x00WAVE", "no fmt chunk"),
        (wav(1, 1, 8000, 16, b"")[:36], "no data chunk"),
        (wav(0x55, 1, 8000, 16, b"\x00\x00"), "unsupported WAV encoding (format tag 0x0055"),
        (wav(1, 0, 8000, 16, b"\x00\x00"), "no channels"),
    ],
)
def test_unreadable_wav_says_why(data: bytes, message: str) -> None:
    with pytest.raises(AudioFormatError, match=message.replace("(", r"\(")):
        decode_wav(data)


def test_resample_keeps_8khz_untouched() -> None:
    x = np.array([1.0, -2.0, 3.0])
    assert resample(x, 8000).tolist() == [1, -2, 3]
