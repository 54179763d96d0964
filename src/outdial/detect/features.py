"""Per-frame measurements, computed for many frames at once.

Each 20 ms frame is measured over a 40 ms window (the frame and the one before it), so a
frame's features use no audio after the frame's end: the detector stays causal however the
audio is chunked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from outdial.detect.goertzel import ToneBank
from outdial.detect.params import FRAME_SAMPLES, SAMPLE_RATE

WINDOW = 2 * FRAME_SAMPLES  # samples analysed per frame (40 ms)
FULL_SCALE = 32768.0  # 16-bit full scale, for dBFS
BIN_HZ = SAMPLE_RATE / WINDOW  # 25 Hz between FFT bins
PEAK_LOW_HZ = 350.0  # Hz: lowest spectral peak considered a tone
PEAK_HIGH_HZ = 2250.0  # Hz: highest (covers the fax answer tone at 2100 Hz)
PEAK_HALF_WIDTH = 2  # bins either side of a peak that a Hann-windowed tone occupies

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
_V21_BINS = slice(int(V21_BAND_HZ[0] / BIN_HZ), int(V21_BAND_HZ[1] / BIN_HZ) + 1)


@dataclass(frozen=True, slots=True)
class FrameFeatures:
    """Measurements of a block of frames, one list entry per frame (plain Python values)."""

    level_dbfs: list[float]  # energy of the frame itself
    peak_hz: list[float]  # frequency of the strongest spectral peak in 350-2250 Hz
    purity: list[float]  # share of the window's energy within that peak
    bank: list[list[float]]  # per frame, share of energy at each BANK_HZ frequency
    v21_band: list[float]  # share of the window's energy in V21_BAND_HZ


def measure(history: npt.NDArray[np.float64], block: npt.NDArray[np.float64]) -> FrameFeatures:
    """Features of each whole frame in ``block``; ``history`` is the frame before it."""
    count = len(block) // FRAME_SAMPLES
    audio = np.concatenate([history[-FRAME_SAMPLES:], block[: count * FRAME_SAMPLES]])
    frames = audio.reshape(count + 1, FRAME_SAMPLES)
    windows = np.concatenate([frames[:-1], frames[1:]], axis=1)  # (count, 320)
    level = 10.0 * np.log10(np.mean(frames[1:] ** 2, axis=1) / FULL_SCALE**2 + 1e-12)

    spectrum = np.abs(np.fft.rfft(windows * _HANN, axis=1)) ** 2
    total = np.sum(spectrum, axis=1) + 1e-9
    band = spectrum[:, _LOW_BIN:_HIGH_BIN]
    k = np.argmax(band, axis=1) + _LOW_BIN
    rows = np.arange(count)
    around = sum(spectrum[rows, np.clip(k + d, 0, spectrum.shape[1] - 1)] for d in range(-2, 3))
    purity = around / total
    # Parabolic interpolation on log power refines the peak to a few Hz.
    lo = np.log(spectrum[rows, k - 1] + 1e-9)
    mid = np.log(spectrum[rows, k] + 1e-9)
    hi = np.log(spectrum[rows, k + 1] + 1e-9)
    denom = lo - 2.0 * mid + hi
    offset = np.where(np.abs(denom) > 1e-12, 0.5 * (lo - hi) / np.where(denom == 0, 1, denom), 0)
    peak = (k + np.clip(offset, -0.5, 0.5)) * BIN_HZ

    bank = _BANK.share(windows)
    v21 = np.sum(spectrum[:, _V21_BINS], axis=1) / total
    return FrameFeatures(
        level.tolist(), peak.tolist(), purity.tolist(), bank.tolist(), v21.tolist()
    )
