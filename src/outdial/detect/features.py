"""Per-frame measurements: level, spectral peak and purity, tone shares at exact frequencies.

Each 20 ms frame is measured over a 40 ms window (the frame and the one before it), so a
frame's features use no audio after the frame's end, and the detector gives the same results
however the audio is chunked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from outdial.audio.frames import FRAME_SAMPLES, SAMPLE_RATE
from outdial.detect.goertzel import ToneBank

WINDOW = 2 * FRAME_SAMPLES  # samples analysed per frame (40 ms)
FULL_SCALE = 32768.0  # 16-bit full scale, for dBFS
BIN_HZ = SAMPLE_RATE / WINDOW  # 25 Hz between FFT bins
PEAK_LOW_HZ = 350.0  # Hz: lowest spectral peak considered a tone
PEAK_HIGH_HZ = 2250.0  # Hz: highest (covers the fax answer tone at 2100 Hz)
SECOND_LOW_HZ = 300.0  # Hz: the second peak (a dual tone, a square wave's third harmonic)...
SECOND_HIGH_HZ = 3400.0  # Hz: ...is looked for across the telephone band
PEAK_HALF_BINS = 2  # bins either side of a peak that hold its energy (Hann window)

# Named frequencies (Hz) measured by the generalised Goertzel bank.
SIT_LOW = (913.8, 985.2)  # SIT first segment (ANSI T1.401 / ITU-T Q.35 Annex)
SIT_MID = (1370.6, 1428.5)  # SIT second segment
SIT_HIGH = (1776.7,)  # SIT third segment
CED_HZ = 2100.0  # ITU-T T.30 / V.25 answer tone
CNG_HZ = 1100.0  # ITU-T T.30 calling tone
V21_MARK_HZ = 1650.0  # ITU-T V.21 channel 2 mark (binary 1)
V21_SPACE_HZ = 1850.0  # ITU-T V.21 channel 2 space (binary 0)
V21_BAND_HZ = (1550.0, 1950.0)  # Hz: where V.21 channel 2 FSK puts its energy
BANK_HZ = (*SIT_LOW, *SIT_MID, *SIT_HIGH, CED_HZ, CNG_HZ, V21_MARK_HZ, V21_SPACE_HZ)
I_SIT_LOW = (0, 1)
I_SIT_MID = (2, 3)
I_SIT_HIGH = 4
I_CED = 5
I_CNG = 6
I_V21 = (7, 8)

_BANK = ToneBank(BANK_HZ, WINDOW, SAMPLE_RATE)
_HANN = _BANK.window
_LOW_BIN = int(PEAK_LOW_HZ / BIN_HZ)
_HIGH_BIN = int(PEAK_HIGH_HZ / BIN_HZ) + 1
_LOW2_BIN = int(SECOND_LOW_HZ / BIN_HZ)
_HIGH2_BIN = int(SECOND_HIGH_HZ / BIN_HZ)
_V21_BINS = slice(int(V21_BAND_HZ[0] / BIN_HZ), int(V21_BAND_HZ[1] / BIN_HZ) + 1)
_BASIS = _BANK.basis
_BANK_SCALE = _BANK.scale
_BANK_COUNT = len(BANK_HZ)


@dataclass(slots=True)
class FrameFeatures:
    """Measurements of one 20 ms frame. ``peak2_hz`` and ``purity2`` are measured when first
    read (most frames never need them)."""

    level_dbfs: float  # energy of the frame itself
    peak_hz: float  # frequency of the strongest spectral peak in 350-2250 Hz
    purity: float  # share of the window's energy within that peak
    bank: list[float]  # share of the window's energy at each BANK_HZ frequency
    v21_band: float  # share of the window's energy in V21_BAND_HZ
    power: npt.NDArray[np.float64] | None = None  # the window's power spectrum
    peak_bin: int = 0
    _second: tuple[float, float] | None = None

    @property
    def peak2_hz(self) -> float:
        """The strongest other peak in 300-3400 Hz (bin resolution): a dual tone's other
        half, a square wave's third harmonic."""
        return self._second_peak()[0]

    @property
    def purity2(self) -> float:
        """Share of the window's energy within the two peaks."""
        return self._second_peak()[1]

    def _second_peak(self) -> tuple[float, float]:
        if self._second is None:
            self._second = (0.0, self.purity) if self.power is None else _second(self)
        return self._second


def _second(f: FrameFeatures) -> tuple[float, float]:
    power, k = f.power, f.peak_bin
    assert power is not None
    band = power[_LOW2_BIN:_HIGH2_BIN].copy()
    h = PEAK_HALF_BINS + 1
    band[max(0, k - h - _LOW2_BIN) : k + h + 1 - _LOW2_BIN] = 0.0
    k2 = int(band.argmax()) + _LOW2_BIN
    second = float(power[k2 - PEAK_HALF_BINS : k2 + PEAK_HALF_BINS + 1].sum())
    total = float(power.sum()) + 1e-9
    return k2 * BIN_HZ, f.purity + second / total


def measure(window: npt.NDArray[np.float64]) -> FrameFeatures:
    """Features of the frame that ends ``window`` (the previous frame, then this one).

    Written for one frame at a time with as few numpy calls as possible: per-call overhead,
    not arithmetic, is what costs at this size.
    """
    frame = window[FRAME_SAMPLES:]
    level = 10.0 * math.log10(float(frame @ frame) / (FRAME_SAMPLES * FULL_SCALE**2) + 1e-12)
    tapered = window * _HANN
    spectrum = np.fft.rfft(tapered)
    power = spectrum.real**2 + spectrum.imag**2
    total = float(power.sum()) + 1e-9
    k = int(power[_LOW_BIN:_HIGH_BIN].argmax()) + _LOW_BIN
    near = power[k - 2 : k + 3].tolist()
    lo, mid, hi = near[1:4]
    around = sum(near)
    # Parabolic interpolation on log power refines the peak to a few Hz.
    a, b, c = math.log(lo + 1e-9), math.log(mid + 1e-9), math.log(hi + 1e-9)
    denom = a - 2.0 * b + c
    offset = 0.5 * (a - c) / denom if abs(denom) > 1e-12 else 0.0
    peak = (k + min(0.5, max(-0.5, offset))) * BIN_HZ
    # Parseval for a real signal: sum((w*x)^2) from the one-sided spectrum.
    energy = (2.0 * total - float(power[0]) - float(power[-1])) / WINDOW
    projection = window @ _BASIS  # the basis holds the taper
    squared = projection * projection
    bank = (squared[:_BANK_COUNT] + squared[_BANK_COUNT:]) * (_BANK_SCALE / max(energy, 1e-9))
    v21 = float(power[_V21_BINS].sum()) / total
    return FrameFeatures(level, peak, around / total, bank.tolist(), v21, power, k)
