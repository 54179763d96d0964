"""The pronouncing dictionary shipped with the model (CMUdict), read once per process.

Decoders here get a dictionary of only the words their grammar uses: loading the whole
134,000-word file into every decoder costs more than the decoding.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

from outdial.speech.engine import model_dir


@functools.cache
def pronunciations() -> Mapping[str, tuple[str, ...]]:
    """Every word of the model's dictionary → its pronunciations (ARPAbet phones)."""
    found: dict[str, list[str]] = {}
    path = model_dir() / "cmudict-en-us.dict"
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, _, phones = line.strip().partition(" ")
            if not phones:
                continue
            base = word.split("(", 1)[0]  # "read(2)" is a second pronunciation of "read"
            found.setdefault(base, []).append(phones.strip())
    return {word: tuple(options) for word, options in found.items()}


def unknown_words(words: Iterable[str]) -> list[str]:
    """The words the dictionary does not have, in order, each once."""
    known = pronunciations()
    return list(dict.fromkeys(w for w in words if w not in known))


def write_dictionary(words: Iterable[str], path: Path) -> None:
    """A pocketsphinx dictionary file of ``words`` (all known) at ``path``."""
    known = pronunciations()
    lines = []
    for word in sorted(set(words)):
        for n, phones in enumerate(known[word]):
            lines.append(f"{word} {phones}" if n == 0 else f"{word}({n + 1}) {phones}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


__all__ = ["pronunciations", "unknown_words", "write_dictionary"]
