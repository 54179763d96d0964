"""Call flows on real SIP calls: what the callee says (espeak-ng clips, tones, a beep), and
reading the RTP of an independent capture of loopback (``benchmarks/wire.py``: tcpdump, and
headers and µ-law decoded without outdial's code).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))

from wire import (
    RATE,
    ULAW,
    Capture,
    Pcm,
    Rtp,
    audio,
    between,
    dominant_frequency,
    speech,
    tone_packets,
    ulaw_encode,
)

KAMAILIO_ROUTER = Path(__file__).parent / "kamailio" / "router.cfg"  # routes by number

__all__ = [
    "KAMAILIO_ROUTER",
    "Capture",
    "Rtp",
    "audio",
    "between",
    "dominant_frequency",
    "espeak_clip",
    "quiet",
    "speech",
    "tone",
    "tone_packets",
    "write_ulaw",
]


def espeak_clip(path: Path, text: str, voice: str = "en-us", speed: int = 170) -> Pcm:
    """``text`` spoken by espeak-ng, made 8 kHz µ-law by sox and band-limited like a phone
    line (as scripts/make-sim-audio makes the simulated callees' clips); written to ``path``
    and returned as linear samples."""
    wav = subprocess.run(
        ["espeak-ng", "--stdout", "-v", voice, "-s", str(speed), "--", text],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(
        [
            *("sox", "-q", "-t", "wav", "-", "-r", str(RATE), "-c", "1", "-t", "ul", str(path)),
            *("sinc", "300-3400", "norm", "-6"),
        ],
        input=wav,
        check=True,
    )
    return ULAW[np.frombuffer(path.read_bytes(), np.uint8)]


def tone(freq: float, seconds: float, amplitude: int = 6000) -> Pcm:
    t = np.arange(int(RATE * seconds)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def quiet(seconds: float) -> Pcm:
    return np.zeros(int(RATE * seconds), np.int16)


def write_ulaw(path: Path, *parts: Pcm) -> Path:
    """Headerless µ-law, as sipp's ``rtp_stream`` wants it."""
    path.write_bytes(ulaw_encode(np.concatenate(parts)))
    return path
