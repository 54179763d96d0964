"""A menu's spoken answers as a grammar: phrases, their built-in synonyms, and decoys.

A menu's ``speech`` maps phrases to keys (``{"yes": "1", "no": "2"}``). People do not say
exactly what the prompt asked, so a phrase that belongs to a synonym group brings the
group with it: a menu that lists "yes" also hears "yeah", "yep", "sure"… and each of them
stands for the key of "yes". What the menu lists itself always wins over a synonym.

Decoys are things people say to a menu that are no answer ("hello?", "who is this",
"hold on"): the decoder may choose them too, and a decoy heard is no match. They give
out-of-grammar speech somewhere to go other than the nearest menu phrase.

Pure: no audio, no decoder. The recogniser turns a :class:`Grammar` into JSGF.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_WORD = re.compile(r"[a-z']+|\d")
_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# Each group: the phrases that mean the same answer. A menu phrase in a group brings the rest.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    (
        "yes", "yeah", "yep", "yup", "yes please", "yes it is", "yes i do", "sure", "correct",
        "right", "that's right", "ok", "okay", "alright", "uh huh", "absolutely", "of course",
        "definitely", "certainly",
    ),
    ("no", "nope", "nah", "no thanks", "no thank you", "no it's not", "no i don't", "not really"),
    ("zero", "oh"),
    *((digit,) for digit in _DIGITS[1:]),
)  # fmt: skip

# Said to menus but no answer to them: heard, they are no match. Single words of two
# syllables or more: short ones sound like answers ("what" and "one", "hi" and "five"), and
# the decoder stops inside a phrase of several words and returns its start ("what" of "what
# is this about"); both took more answers than they caught.
DECOYS: tuple[str, ...] = (
    "hello", "maybe", "sorry", "pardon", "operator", "representative", "goodbye", "later",
    "busy", "wrong", "interested", "remove", "repeat",
)  # fmt: skip


def normalise(phrase: str) -> str:
    """A phrase as the grammar spells it: lower-case words, single spaces, digits as words
    ("Press 1!" → "press one")."""
    words = _WORD.findall(phrase.lower())
    return " ".join(_DIGITS[int(w)] if w.isdigit() else w.strip("'") for w in words if w != "'")


@dataclass(frozen=True, slots=True)
class Choice:
    """One thing the decoder may hear: ``spoken`` (normalised words), the ``phrase`` as the
    menu wrote it that it stands for, and that phrase's ``key`` (``None`` for a decoy)."""

    spoken: str
    phrase: str
    key: str | None


@dataclass(frozen=True, slots=True)
class Grammar:
    """What one menu can hear. ``choices`` by spoken form; ``dropped`` lists the menu's
    phrases that cannot be recognised (a word the dictionary lacks), with that word."""

    choices: Mapping[str, Choice]
    dropped: Mapping[str, str]

    @property
    def answers(self) -> list[Choice]:
        return [c for c in self.choices.values() if c.key is not None]

    def choice_for(self, heard: str) -> Choice | None:
        """The choice ``heard`` (normalised words) stands for. The decoder answers with the
        start of a phrase when the utterance ends before the phrase does ("no thank" of "no
        thank you"): such a start stands for the longest answer it begins with ("no"), and
        for nothing when it begins with none ("uh" of "uh huh", "what" of a decoy)."""
        found = self.choices.get(heard)
        if found is not None or not heard:
            return found
        begun = [c for c in self.choices.values() if heard.startswith(c.spoken + " ")]
        return max(begun, key=lambda c: len(c.spoken)) if begun else None

    def words(self) -> set[str]:
        return {w for spoken in self.choices for w in spoken.split()}

    def jsgf(self) -> str:
        """The grammar as JSGF: one public rule, any one choice."""
        alternatives = " | ".join(sorted(self.choices))
        return f"#JSGF V1.0;\ngrammar menu;\npublic <choice> = {alternatives};\n"


def build_grammar(
    phrases: Mapping[str, str],
    known: Iterable[str] | None = None,
    *,
    synonyms: bool = True,
    decoys: bool = True,
) -> Grammar:
    """The grammar for a menu's ``speech`` (phrase → key).

    ``known``: the words the decoder can pronounce (``None``: every word); a menu phrase with
    another word is dropped (listed in ``dropped``), a synonym or decoy with one is skipped.
    The menu's own phrases come first, then their synonyms, then the decoys, and an earlier
    entry keeps a spoken form: a menu that maps "sure" to "2" keeps that, and a decoy that
    is one of the menu's phrases ("repeat") is the menu's.
    """
    vocabulary = None if known is None else set(known)
    choices: dict[str, Choice] = {}
    dropped: dict[str, str] = {}

    def missing(spoken: str) -> str | None:
        if vocabulary is None:
            return None
        return next((w for w in spoken.split() if w not in vocabulary), None)

    own: list[tuple[str, str, str]] = []
    for phrase, key in phrases.items():
        spoken = normalise(phrase)
        if not spoken:
            dropped[phrase] = ""
            continue
        unknown = missing(spoken)
        if unknown is not None:
            dropped[phrase] = unknown
            continue
        own.append((spoken, phrase, key))
        choices.setdefault(spoken, Choice(spoken, phrase, key))
    if synonyms:
        for spoken, phrase, key in own:
            for group in SYNONYMS:
                if spoken in group:
                    for other in group:
                        if other not in choices and missing(other) is None:
                            choices[other] = Choice(other, phrase, key)
    if decoys and choices:
        for decoy in DECOYS:
            if decoy not in choices and missing(decoy) is None:
                choices[decoy] = Choice(decoy, "", None)
    return Grammar(choices, dropped)


__all__ = ["DECOYS", "SYNONYMS", "Choice", "Grammar", "build_grammar", "normalise"]
