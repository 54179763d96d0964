"""Synthetic network tones at 8 kHz: beeps, SIT, fax CED, V.21 flags and CNG.

Pure numpy, deterministic. The corpus generator builds test audio from these, and a simulated
carrier can play them as the callee's side of an answered call.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from outdial.audio.frames import SAMPLE_RATE

FloatArray = npt.NDArray[np.float64]
RAMP_MS = 5.0  # ms raised-cosine ramp at each tone edge, so edges do not click
SIT_SHORT_MS = 274.0  # ms: short SIT segment (ANSI T1.401)
SIT_LONG_MS = 380.0  # ms: long SIT segment
SIT_LOW_HZ = (913.8, 985.2)
SIT_MID_HZ = (1370.6, 1428.5)
SIT_HIGH_HZ = 1776.7
CED_HZ = 2100.0
CED_REVERSAL_MS = 450.0  # ms between phase reversals (ITU-T V.25 answer tone)
V21_MARK_HZ = 1650.0  # V.21 channel 2, binary 1
V21_SPACE_HZ = 1850.0  # V.21 channel 2, binary 0
V21_BAUD = 300.0  # bit/s
HDLC_FLAG_BITS = (0, 1, 1, 1, 1, 1, 1, 0)  # 0x7E, least significant bit first
CNG_HZ = 1100.0
CNG_ON_MS = 500.0  # ms (ITU-T T.30)
CNG_OFF_MS = 3000.0  # ms


def samples_for(ms: float) -> int:
    """Samples in ``ms`` milliseconds at 8 kHz."""
    return round(ms * SAMPLE_RATE / 1000.0)


def silence(ms: float) -> FloatArray:
    return np.zeros(samples_for(ms))


def amplitude(dbfs: float) -> float:
    """Peak amplitude (16-bit scale) of a sine whose RMS is ``dbfs`` dB below full scale."""
    return float(32768.0 * np.sqrt(2.0) * 10.0 ** (dbfs / 20.0))


def _ramped(x: FloatArray) -> FloatArray:
    ramp = min(samples_for(RAMP_MS), len(x) // 2)
    if ramp:
        edge = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
        x[:ramp] *= edge
        x[-ramp:] *= edge[::-1]
    return x


def tone(hz: float, ms: float, dbfs: float = -12.0) -> FloatArray:
    """A sine tone with soft edges."""
    n = np.arange(samples_for(ms))
    return _ramped(amplitude(dbfs) * np.sin(2.0 * np.pi * hz * n / SAMPLE_RATE))


def sit(low_hz: float, mid_hz: float, durations_ms: tuple[float, float, float]) -> FloatArray:
    """The three-segment special information tone, at -18 dBFS (about -24 dBm0)."""
    return np.concatenate(
        [
            tone(low_hz, durations_ms[0], -18.0),
            tone(mid_hz, durations_ms[1], -18.0),
            tone(SIT_HIGH_HZ, durations_ms[2], -18.0),
        ]
    )


def ced(ms: float, reversals: bool, dbfs: float = -15.0) -> FloatArray:
    """The fax answer tone, optionally with a 180 degree phase reversal every 450 ms."""
    n = np.arange(samples_for(ms))
    phase = 2.0 * np.pi * CED_HZ * n / SAMPLE_RATE
    if reversals:
        phase = phase + np.pi * (n // samples_for(CED_REVERSAL_MS) % 2)
    return _ramped(amplitude(dbfs) * np.sin(phase))


def v21_flags(ms: float, dbfs: float = -15.0) -> FloatArray:
    """V.21 channel 2 FSK carrying repeated HDLC flags (the T.30 preamble), phase-continuous."""
    n = samples_for(ms)
    bit = (np.arange(n) * V21_BAUD / SAMPLE_RATE).astype(np.int64)
    bits = np.asarray(HDLC_FLAG_BITS)[bit % len(HDLC_FLAG_BITS)]
    hz = np.where(bits == 1, V21_MARK_HZ, V21_SPACE_HZ)
    phase = 2.0 * np.pi * np.cumsum(hz) / SAMPLE_RATE
    return _ramped(amplitude(dbfs) * np.sin(phase))


def cng(ms: float, dbfs: float = -15.0) -> FloatArray:
    """The fax calling tone cadence (0.5 s of 1100 Hz, 3 s off) for ``ms`` milliseconds."""
    period = np.concatenate([tone(CNG_HZ, CNG_ON_MS, dbfs), silence(CNG_OFF_MS)])
    repeats = int(np.ceil(samples_for(ms) / len(period)))
    return np.tile(period, repeats)[: samples_for(ms)]
