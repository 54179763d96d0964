"""The menu grammar: normalised phrases, synonyms, decoys, what a decoded start stands for."""

from __future__ import annotations

import pytest

from outdial.speech.grammar import DECOYS, SYNONYMS, build_grammar, normalise
from outdial.speech.lexicon import unknown_words


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("Yes", "yes"),
        ("  No,  THANKS! ", "no thanks"),
        ("Press 1", "press one"),
        ("that's right", "that's right"),
        ("'quoted'", "quoted"),
        ("?!", ""),
    ],
)
def test_normalise_keeps_lower_case_words_and_spells_digits(written: str, spoken: str) -> None:
    assert normalise(written) == spoken


def test_a_phrase_brings_its_synonyms_each_standing_for_the_phrase_as_the_menu_wrote_it() -> None:
    grammar = build_grammar({"Yes": "1", "No": "2"}, decoys=False)

    assert grammar.choices["yeah"].phrase == "Yes"
    assert grammar.choices["yeah"].key == "1"
    assert {"yep", "yup", "sure", "correct", "okay", "yes please"} <= set(grammar.choices)
    assert grammar.choices["nope"].key == grammar.choices["no thanks"].key == "2"
    assert "oh" not in grammar.choices  # zero's synonym, and the menu has no zero


def test_the_menus_own_phrases_win_over_synonyms_and_decoys() -> None:
    grammar = build_grammar({"yes": "1", "sure": "3", "repeat": "9"})

    assert grammar.choices["sure"].key == "3"
    assert grammar.choices["yeah"].key == "1"
    assert grammar.choices["repeat"].key == "9"
    assert grammar.choices["hello"].key is None  # a decoy


def test_without_synonyms_only_the_menus_phrases_and_the_decoys_are_heard() -> None:
    grammar = build_grammar({"zero": "0"}, synonyms=False)

    assert {c.spoken for c in grammar.answers} == {"zero"}
    assert "oh" not in grammar.choices
    assert set(DECOYS) <= set(grammar.choices)


def test_a_phrase_with_a_word_the_dictionary_lacks_is_dropped_and_named() -> None:
    grammar = build_grammar({"yes": "1", "frobnicate now": "2", "!!": "3"}, {"yes", "now"})

    assert dict(grammar.dropped) == {"frobnicate now": "frobnicate", "!!": ""}
    assert [c.spoken for c in grammar.answers] == ["yes"]


def test_the_jsgf_holds_every_choice_once() -> None:
    grammar = build_grammar({"one": "1", "two": "2"}, decoys=False, synonyms=False)

    assert grammar.jsgf() == "#JSGF V1.0;\ngrammar menu;\npublic <choice> = one | two;\n"


def test_a_decoded_start_of_a_phrase_stands_for_the_longest_answer_it_begins_with() -> None:
    grammar = build_grammar({"yes": "1", "no": "2"})

    assert grammar.choice_for("no thank") == grammar.choices["no"]
    assert grammar.choice_for("yes i") == grammar.choices["yes"]
    assert grammar.choice_for("uh") is None  # the start of "uh huh", but no answer itself
    assert grammar.choice_for("") is None


def test_every_synonym_and_decoy_is_in_the_dictionary() -> None:
    words = [w for group in SYNONYMS for phrase in group for w in phrase.split()]
    words += [w for decoy in DECOYS for w in decoy.split()]
    assert unknown_words(words) == []
    assert unknown_words(["yes", "zzqx", "zzqx"]) == ["zzqx"]
