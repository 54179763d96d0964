"""What every pocketsphinx decoder here shares: the model, quiet logs, 16 kHz input.

Importing this module loads nothing; :func:`decoder` loads pocketsphinx and its model on
first use. A ``pocketsphinx.Decoder`` is not thread-safe: give each thread its own.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pocketsphinx

SAMPLE_RATE = 16_000  # Hz: what the US English model was trained on
TELEPHONE_RATE = 8_000  # Hz: what calls carry
_TAPS = 48  # half-length of the interpolation filter, in 16 kHz samples


@functools.cache
def model_dir() -> Path:
    """The US English model shipped in pocketsphinx's wheel."""
    import pocketsphinx

    return Path(pocketsphinx.get_model_path()) / "en-us"


def decoder(**options: Any) -> pocketsphinx.Decoder:
    """A decoder on the US English model at 16 kHz, logging nothing. ``options`` are
    pocketsphinx configuration (``jsgf=``, ``kws=``, ``keyphrase=``, thresholds…)."""
    import pocketsphinx

    base = model_dir()
    settings: dict[str, Any] = {
        "hmm": str(base / "en-us"),
        "dict": str(base / "cmudict-en-us.dict"),
        "samprate": SAMPLE_RATE,
        "loglevel": "FATAL",
    }
    if not any(key in options for key in ("lm", "jsgf", "fsg", "keyphrase", "kws", "allphone")):
        settings["lm"] = str(base / "en-us.lm.bin")
    settings.update(options)
    return pocketsphinx.Decoder(**settings)


@functools.cache
def _interpolator() -> npt.NDArray[np.float64]:
    """A windowed-sinc low-pass at 4 kHz for 16 kHz samples, gain 2 (zero-stuffing halves it)."""
    n = np.arange(-_TAPS, _TAPS + 1, dtype=np.float64)
    taps = np.sinc(n / 2.0) * np.blackman(len(n))
    return np.asarray(taps * (2.0 / taps.sum()), dtype=np.float64)


def to_16k(pcm: npt.NDArray[np.int16]) -> bytes:
    """8 kHz 16-bit samples as 16 kHz little-endian 16-bit PCM, band-limited (nothing above
    4 kHz is invented)."""
    if not len(pcm):
        return b""
    stuffed = np.zeros(2 * len(pcm), dtype=np.float64)
    stuffed[::2] = pcm
    up = np.convolve(stuffed, _interpolator(), mode="same")
    return np.clip(np.round(up), -32768, 32767).astype("<i2").tobytes()


__all__ = ["SAMPLE_RATE", "TELEPHONE_RATE", "decoder", "model_dir", "to_16k"]
