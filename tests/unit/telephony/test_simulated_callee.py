"""The simulated carrier's scripted callee: what it says (recorded clips), checked when the
trunk's rules are read, and heard in the callee's audio at its times."""

from __future__ import annotations

import asyncio
import random

import numpy as np
import pytest

from outdial.calls import CalleeType
from outdial.errors import InvalidField
from outdial.telephony import simaudio
from outdial.telephony.carrier import DialRequest
from outdial.telephony.simulated import SimulatedCarrier, parse_sim_config


def rule(callee: object, outcome: str = "voice") -> dict[str, object]:
    return {"match": ".*", "outcome": outcome, "ring_s": 0.0, "callee": callee}


def test_every_word_of_the_docs_has_a_clip() -> None:
    words = simaudio.said_words()
    assert {"yes", "no", "one", "two", "front desk", "maybe"} <= set(words)
    for word in words:
        assert len(simaudio.said(word)) > 1600  # at least 200 ms of audio


def test_say_is_read_with_its_times_sorted_and_its_words_normalised() -> None:
    config = parse_sim_config(
        {
            "rules": [
                rule({"say": [{"at_s": 5, "text": " Front  Desk"}, {"at_s": 2.5, "text": "yes"}]})
            ]
        }
    )
    assert config.rules[0].says == ((2.5, "yes"), (5.0, "front desk"))


@pytest.mark.parametrize(
    ("say", "message"),
    [
        ({"at_s": 1}, 'rule 1: callee.say 1 must be {"at_s": s, "text": …}'),
        ({"at_s": 1, "text": "yes", "loud": True}, "callee.say 1 must be"),
        ({"at_s": -1, "text": "yes"}, "rule 1: callee.say 1: at_s must be a number >= 0"),
        ({"at_s": 1, "text": 7}, "rule 1: callee.say 1: no recording of 7 to say"),
        (
            {"at_s": 1, "text": "absolutely"},
            "rule 1: callee.say 1: no recording of 'absolutely' to say (there are: ",
        ),
    ],
)
def test_a_bad_say_is_refused_naming_the_rule_and_the_entry(
    say: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_sim_config({"rules": [rule({"say": [say]})]})
    assert message in caught.value.message


def test_say_must_be_a_list_and_unknown_callee_keys_name_the_allowed_ones() -> None:
    with pytest.raises(InvalidField, match=r"callee\.say must be a list"):
        parse_sim_config({"rules": [rule({"say": {"at_s": 1, "text": "yes"}})]})
    with pytest.raises(InvalidField, match=r"unknown key 'speak' \(allowed: hangup_s, press, say"):
        parse_sim_config({"rules": [rule({"speak": []})]})


def test_a_person_says_the_words_at_their_times_over_the_line() -> None:
    words = ((1.5, "yes"),)
    line = simaudio.answered_audio(CalleeType.VOICE, random.Random(3), 4.0)
    with_yes = simaudio.answered_audio(CalleeType.VOICE, random.Random(3), 4.0, words)
    yes = simaudio.said("yes")
    at = 12_000  # 1.5 s
    assert np.array_equal(with_yes[:at], line[:at])
    mixed = line[at : at + len(yes)].astype(np.int32) + yes
    assert np.array_equal(with_yes[at : at + len(yes)], np.clip(mixed, -32768, 32767))
    assert np.array_equal(with_yes[at + len(yes) :], line[at + len(yes) :])
    # only people speak: a voicemail's audio is its own
    machine = simaudio.answered_audio(CalleeType.ANSWERINGMACHINE, random.Random(3), 4.0)
    assert np.array_equal(
        simaudio.answered_audio(CalleeType.ANSWERINGMACHINE, random.Random(3), 4.0, words),
        machine,
    )


def test_the_simulated_leg_plays_what_the_callee_says() -> None:
    async def main() -> np.ndarray:
        config = parse_sim_config(
            {"rules": [rule({"say": [{"at_s": 2.2, "text": "two"}], "hangup_s": 3.0})]}
        )
        leg = SimulatedCarrier(config).dial(DialRequest("c1", 1, "+16175550101", None, None, 30))
        frames = [frame.samples async for frame in leg.audio()]
        return np.frombuffer(b"".join(frames), dtype="<i2")

    heard = asyncio.run(main())
    two = simaudio.said("two").astype(np.float64)
    start = 17_600  # 2.2 s, after the person's "hello"
    assert len(heard) >= start + len(two)
    segment = heard[start : start + len(two)].astype(np.float64)
    assert np.corrcoef(segment, two)[0, 1] > 0.99  # the word, over the line's quiet
    assert np.abs(heard[start - 2000 : start]).max() < 300  # and quiet before it
