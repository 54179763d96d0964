"""The words the recogniser can hear: those of the US English model's pronouncing dictionary.

A menu phrase with a word outside it cannot be recognised at all (pocketsphinx refuses the
whole grammar), so flow validation asks here first. The dictionary is read once, on first use
(about 0.2 s); importing this module reads nothing.
"""

from __future__ import annotations

import functools

from outdial.speech.engine import model_dir
from outdial.speech.recognizer import normalise

DICTIONARY = "cmudict-en-us.dict"


@functools.cache
def known_words() -> frozenset[str]:
    """Every word of the dictionary, lower case (alternative pronunciations folded)."""
    text = (model_dir() / DICTIONARY).read_text(encoding="utf-8")
    return frozenset(line.split(" ", 1)[0].split("(", 1)[0] for line in text.splitlines() if line)


def unknown_words(phrase: str) -> list[str]:
    """The words of ``phrase`` (as the grammar spells them) the recogniser does not know."""
    known = known_words()
    return [word for word in normalise(phrase).split() if word not in known]


__all__ = ["known_words", "unknown_words"]
