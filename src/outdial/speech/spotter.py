"""Spotting the phrases of voicemail greetings ("leave a message", "after the tone"…) in the
first seconds of an answered call, with pocketsphinx's keyword search.

The detector (``outdial.detect``) takes what is spotted as one more input; this module only
listens. Keyword search scores each phrase against a phone loop, so nothing outside the list
is forced onto a phrase (a menu grammar would), and each phrase has its own threshold: the
longer the phrase, the lower the threshold it can afford. Decoding blocks: run it in a worker
thread (``Spotter`` is safe to share, one decoder per thread).
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from outdial.speech.engine import TELEPHONE_RATE, decoder, to_16k

FRAME_RATE = 100  # pocketsphinx frames per second (10 ms)

# Phrase -> keyword-search threshold. Phrases that were spotted in people's speech on the
# tuning voices ("you've reached", "you have reached", "at the tone", "please leave") are left
# out; short ones
# ("hang up", "your call") were spotted everywhere.
GREETING_PHRASES: Mapping[str, float] = {
    "leave a message": 1e-30,
    "leave your message": 1e-30,
    "after the tone": 1e-30,
    "after the beep": 1e-30,
    "not available": 1e-30,
    "record your message": 1e-30,
    "the person you are calling": 1e-30,
    "name and number": 1e-30,
    "return your call": 1e-30,
    "voicemail": 1e-10,
    "mailbox": 1e-10,
}


@dataclass(frozen=True, slots=True)
class Spotted:
    """A phrase heard, with where it ended (ms from the start of the audio given)."""

    phrase: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class Spotting:
    """What one call to :meth:`Spotter.spot` found, and the CPU seconds it took."""

    phrases: tuple[Spotted, ...]
    cpu_s: float


class Spotter:
    """Spots ``phrases`` (phrase -> threshold) in 8 kHz 16-bit audio."""

    def __init__(self, phrases: Mapping[str, float] = GREETING_PHRASES) -> None:
        cleaned = {" ".join(p.lower().split()): t for p, t in phrases.items() if p.strip()}
        if not cleaned:
            raise ValueError("phrase spotting needs at least one phrase")
        self.phrases = cleaned
        self._local = threading.local()

    def _decoder(self) -> Any:
        found = getattr(self._local, "decoder", None)
        if found is None:
            lines = "".join(f"{p} /{t:g}/\n" for p, t in sorted(self.phrases.items()))
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "phrases.kws"
                path.write_text(lines)
                found = decoder(kws=str(path))
            self._local.decoder = found
        return found

    def spot(self, pcm: npt.NDArray[np.int16], offset_ms: int = 0) -> Spotting:
        """The phrases in ``pcm`` (8 kHz), positions shifted by ``offset_ms``. Blocking."""
        started = time.thread_time()
        found: list[Spotted] = []
        if len(pcm) >= TELEPHONE_RATE // 10:
            d = self._decoder()
            d.start_utt()
            d.process_raw(to_16k(pcm), full_utt=True)
            d.end_utt()
            for seg in d.seg() or ():
                phrase = " ".join(str(seg.word).split())
                if phrase in self.phrases:
                    start = offset_ms + seg.start_frame * 1000 // FRAME_RATE
                    end = offset_ms + (seg.end_frame + 1) * 1000 // FRAME_RATE
                    found.append(Spotted(phrase, start, end))
        return Spotting(tuple(found), time.thread_time() - started)


__all__ = ["GREETING_PHRASES", "Spotted", "Spotter", "Spotting"]
