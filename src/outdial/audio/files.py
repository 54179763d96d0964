"""Reading telephone audio files into 8 kHz 16-bit mono samples.

WAV (RIFF) is parsed here rather than with :mod:`wave`, which cannot read µ-law or A-law
WAV files. Supported: PCM 8/16/24/32-bit, IEEE float, µ-law and A-law (also inside
WAVE_FORMAT_EXTENSIBLE), any sample rate (resampled to 8 kHz), any channel count (mixed
down). Raw files by extension: ``.ul``/``.ulaw``/``.mulaw``/``.pcmu`` (µ-law), ``.al``/
``.alaw``/``.pcma`` (A-law) and ``.sln``/``.raw`` (16-bit little-endian PCM), all at 8 kHz.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt

from outdial.audio import g711
from outdial.audio.frames import SAMPLE_RATE
from outdial.audio.g711 import alaw_decode, ulaw_decode

FORMAT_PCM = 0x0001  # WAVE_FORMAT_PCM
FORMAT_FLOAT = 0x0003  # WAVE_FORMAT_IEEE_FLOAT
FORMAT_ALAW = 0x0006  # WAVE_FORMAT_ALAW
FORMAT_MULAW = 0x0007  # WAVE_FORMAT_MULAW
FORMAT_EXTENSIBLE = 0xFFFE  # WAVE_FORMAT_EXTENSIBLE: the real tag leads the SubFormat GUID
ULAW_SUFFIXES = frozenset({".ul", ".ulaw", ".mulaw", ".pcmu", ".u8"})
ALAW_SUFFIXES = frozenset({".al", ".alaw", ".pcma", ".a8"})
SLIN_SUFFIXES = frozenset({".sln", ".raw"})
RESAMPLE_CUTOFF_HZ = 3600.0  # Hz: resampling keeps this much, then tapers to 4 kHz

Int16Array = npt.NDArray[np.int16]


class AudioFormatError(ValueError):
    """The file is not audio that outdial can read."""


def read_audio(path: Path) -> Int16Array:
    """The file's audio as 8 kHz mono 16-bit samples."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix in ULAW_SUFFIXES:
        return ulaw_decode(data)
    if suffix in ALAW_SUFFIXES:
        return alaw_decode(data)
    if suffix in SLIN_SUFFIXES:
        return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.int16)
    return decode_wav(data)


def decode_wav(data: bytes) -> Int16Array:
    """8 kHz mono samples from the bytes of a RIFF/WAVE file."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFormatError("not a WAV file (no RIFF/WAVE header)")
    fmt: tuple[int, int, int, int] | None = None
    payload: bytes | None = None
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        body = data[offset + 8 : offset + 8 + size]
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(body)
        elif chunk_id == b"data":
            payload = body  # a truncated last chunk: keep what is there
            if fmt is not None:
                break
        offset += 8 + size + (size & 1)  # chunks are padded to even length
    if fmt is None:
        raise AudioFormatError("WAV file has no fmt chunk")
    if payload is None:
        raise AudioFormatError("WAV file has no data chunk")
    tag, channels, rate, bits = fmt
    samples = _decode_samples(payload, tag, channels, bits)
    return resample(samples, rate)


def _parse_fmt(body: bytes) -> tuple[int, int, int, int]:
    if len(body) < 16:
        raise AudioFormatError("WAV fmt chunk is too short")
    tag, channels, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == FORMAT_EXTENSIBLE:
        if len(body) < 26:
            raise AudioFormatError("WAV extensible fmt chunk is too short")
        (tag,) = struct.unpack_from("<H", body, 24)
    if channels < 1:
        raise AudioFormatError("WAV file has no channels")
    if rate < 1000:
        raise AudioFormatError(f"WAV sample rate {rate} Hz is too low")
    return tag, channels, rate, bits


def _decode_samples(payload: bytes, tag: int, channels: int, bits: int) -> npt.NDArray[np.float64]:
    """Mono float samples on the 16-bit scale."""
    width = 1 if tag in (FORMAT_ALAW, FORMAT_MULAW) else bits // 8
    usable = len(payload) // (width * channels) * width * channels
    raw = payload[:usable]
    if tag == FORMAT_MULAW:
        flat = ulaw_decode(raw).astype(np.float64)
    elif tag == FORMAT_ALAW:
        flat = alaw_decode(raw).astype(np.float64)
    elif tag == FORMAT_PCM and bits == 8:
        flat = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
    elif tag == FORMAT_PCM and bits == 16:
        flat = np.frombuffer(raw, dtype="<i2").astype(np.float64)
    elif tag == FORMAT_PCM and bits == 24:
        triples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        flat = (np.where(value >= 1 << 23, value - (1 << 24), value) / 256.0).astype(np.float64)
    elif tag == FORMAT_PCM and bits == 32:
        flat = np.frombuffer(raw, dtype="<i4").astype(np.float64) / 65536.0
    elif tag == FORMAT_FLOAT and bits in (32, 64):
        kind = "<f4" if bits == 32 else "<f8"
        flat = np.frombuffer(raw, dtype=kind).astype(np.float64) * 32767.0
    else:
        raise AudioFormatError(f"unsupported WAV encoding (format tag {tag:#06x}, {bits} bits)")
    return np.asarray(flat.reshape(-1, channels).mean(axis=1), dtype=np.float64)


def resample(samples: npt.NDArray[np.float64], rate: int) -> Int16Array:
    """``samples`` at ``rate`` Hz as 8 kHz 16-bit samples.

    Band-limited resampling in the frequency domain: the spectrum up to 4 kHz is kept (tapered
    from 3.6 kHz so nothing aliases) and transformed back at the new length. Exact for any
    rate, up or down, and fast for call-length recordings.
    """
    if rate != SAMPLE_RATE and len(samples):
        count = int(len(samples) * SAMPLE_RATE // rate)
        spectrum = np.fft.rfft(samples)
        bins = count // 2 + 1
        kept = np.zeros(bins, dtype=np.complex128)
        shared = min(bins, len(spectrum))
        kept[:shared] = spectrum[:shared]
        hz = np.arange(bins) * (SAMPLE_RATE / max(count, 1))
        edge = (hz - RESAMPLE_CUTOFF_HZ) / (SAMPLE_RATE / 2 - RESAMPLE_CUTOFF_HZ)
        kept *= np.where(
            hz <= RESAMPLE_CUTOFF_HZ, 1.0, 0.5 + 0.5 * np.cos(np.pi * np.clip(edge, 0, 1))
        )
        samples = np.fft.irfft(kept, count) * (count / len(samples))
    return np.clip(np.round(samples), -32768, 32767).astype(np.int16)


def prompt_ulaw(data: bytes, *, raw_ulaw: bool = False) -> bytes:
    """An audio prompt as µ-law 8 kHz: a WAV file (any format above, resampled), or, with
    ``raw_ulaw``, headerless µ-law taken as it is."""
    if raw_ulaw:
        return data
    return g711.encode(decode_wav(data))
