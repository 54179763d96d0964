"""Recognising one utterance against a menu's small grammar: phrases, each standing for a key.

First version: the phrases as a JSGF grammar, the best hypothesis taken as it is. (Synonyms,
rejection of out-of-grammar speech and noise, and a calibrated confidence come next.)
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from outdial.speech.engine import decoder, to_16k

_WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True, slots=True)
class Recognition:
    """What was heard: ``key`` is the menu key of the matched phrase, ``None`` for no match
    (nothing in the grammar, or below the confidence threshold); ``text`` the phrase heard
    (``""`` when nothing was); ``confidence`` 0 to 1."""

    text: str
    key: str | None
    confidence: float


def normalise(phrase: str) -> str:
    """A phrase as the grammar spells it: lower case words, single spaces."""
    return " ".join(_WORD.findall(phrase.lower()))


class Recognizer:
    """Recognises utterances (8 kHz int16) against ``phrases`` (phrase → key). Safe to share
    between threads: each thread decodes with its own decoder."""

    def __init__(self, phrases: Mapping[str, str]) -> None:
        self.phrases = {normalise(p): key for p, key in phrases.items() if normalise(p)}
        if not self.phrases:
            raise ValueError("a grammar needs at least one phrase with a word in it")
        self._local = threading.local()

    def _decoder(self) -> Any:
        found = getattr(self._local, "decoder", None)
        if found is None:
            rules = " | ".join(sorted(self.phrases))
            grammar = f"#JSGF V1.0;\ngrammar menu;\npublic <choice> = {rules};\n"
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "menu.gram"
                path.write_text(grammar)
                found = decoder(jsgf=str(path))
            self._local.decoder = found
        return found

    def recognize(self, pcm: npt.NDArray[np.int16]) -> Recognition:
        """Blocking: run it off the event loop."""
        d = self._decoder()
        d.start_utt()
        d.process_raw(to_16k(pcm), full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        text = normalise(hyp.hypstr) if hyp is not None else ""
        key = self.phrases.get(text)
        return Recognition(text, key, float(hyp.prob) if hyp is not None and key else 0.0)


__all__ = ["Recognition", "Recognizer", "normalise"]
