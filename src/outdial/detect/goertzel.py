"""Generalised Goertzel: the DFT at an exact frequency, not the nearest integer bin.

An integer-bin Goertzel on a 160-sample frame (bins 50 Hz apart) misses tones such as the SIT
frequencies 913.8, 1370.6 and 1776.7 Hz. The generalised form (Sysel and Rajmic, 2012) uses
w = 2*pi*f/fs for any real f. :func:`goertzel_power` is the textbook recurrence;
:class:`ToneBank` computes exactly the same quantity for many frequencies and many frames at
once as one matrix product, which is what the detector uses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def goertzel_power(samples: Sequence[float], frequency: float, sample_rate: float) -> float:
    """|X(f)|^2 of ``samples`` at ``frequency`` Hz by the generalised Goertzel recurrence."""
    w = 2.0 * math.pi * frequency / sample_rate
    coeff = 2.0 * math.cos(w)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = float(x) + coeff * s1 - s2, s1
    # After N steps X(f) = (s1 - e^{-jw} s2) e^{-jw(N-1)}; the phase factor has modulus 1.
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


class ToneBank:
    """Normalised power at fixed frequencies over windows of ``size`` samples.

    ``share(windows)`` gives, for each window (row) and frequency (column), the fraction of
    the window's energy that a sinusoid at exactly that frequency explains: 1.0 for a pure
    tone at that frequency, near 0 for silence, noise or speech. A Hann taper keeps a strong
    tone at one frequency from leaking into its neighbours (913.8 vs 985.2 Hz).
    """

    def __init__(self, frequencies: Sequence[float], size: int, sample_rate: float) -> None:
        self.frequencies = tuple(frequencies)
        n = np.arange(size)
        self.window: FloatArray = 0.5 - 0.5 * np.cos(2.0 * np.pi * (n + 0.5) / size)
        w = 2.0 * np.pi * np.asarray(self.frequencies) / sample_rate
        phase = np.outer(n, w)
        self.basis: FloatArray = np.concatenate(
            [np.cos(phase) * self.window[:, None], np.sin(phase) * self.window[:, None]], axis=1
        )
        # ``basis`` holds the tapered cosines, then the tapered sines, one column per frequency.
        # A pure tone A*cos(wn) gives |X|^2 ~ (A*sum(win)/2)^2 and sum((win*x)^2) ~
        # A^2*sum(win^2)/2, so this scale maps it to 1.
        self.scale = 2.0 * float(np.sum(self.window**2)) / float(np.sum(self.window)) ** 2

    def power(self, windows: FloatArray) -> FloatArray:
        """|X(f)|^2 of the tapered windows, shape (rows, frequencies)."""
        k = len(self.frequencies)
        proj = windows @ self.basis
        return np.asarray(proj[:, :k] ** 2 + proj[:, k:] ** 2, dtype=np.float64)

    def share(self, windows: FloatArray) -> FloatArray:
        """Fraction of each window's energy explained by a tone at each frequency."""
        energy = np.sum((windows * self.window) ** 2, axis=1)
        return np.asarray(
            self.power(windows) * self.scale / np.maximum(energy, 1e-9)[:, None],
            dtype=np.float64,
        )
