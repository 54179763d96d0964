"""Call flows run on answered calls of the simulated carrier (both databases): a person who
presses 1 confirms, a voicemail gets the message after its beep, and each attempt keeps the
flow's results and trace."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from simdial_support import all_final, make_dep, make_trunk, run_dialers

from outdial.accounts import Account
from outdial.calls import CalleeType, CallStatus
from outdial.options import Schedule
from outdial.store.store import NewCall, Store, new_call_ids

REMINDER = (
    Path(__file__).parents[2] / "examples" / "flows" / "appointment_reminder.yaml"
).read_text()
RULES = [
    # A person answers, says hello, and presses 1 while the menu's prompt plays.
    {
        "match": "1$",
        "outcome": "voice",
        "ring_s": 0.2,
        "callee": {"press": [{"at_s": 9.0, "digits": "1"}], "hangup_s": 25.0},
    },
    # A voicemail: greeting, beep, then it records whatever we say.
    {"match": "2$", "outcome": "answeringmachine", "ring_s": 0.2, "talk_s": 30.0},
]


@pytest.fixture
def tenant(live: Store) -> Account:
    account, _ = live.create_account("flows@example.com")
    return account


@pytest.mark.slow
def test_the_appointment_reminder_runs_on_answered_calls(live: Store, tenant: Account) -> None:
    dep = make_dep(live, tenant, make_trunk(live, "sim", RULES))
    version = live.save_flow(dep.application_id, REMINDER, "yaml", tenant.email)
    numbers = ["+16175550101", "+16175550102"]
    ids = new_call_ids(2)
    params = json.dumps({"first_name": "Ann", "date": "May 3"})
    rows = [
        NewCall(i, n, None, None, None, params, None) for i, n in zip(ids, numbers, strict=True)
    ]
    live.queue_calls(dep, Schedule(start_at=time.time()), rows)

    run_dialers(live, all_final(live, tenant, ids), timeout=60.0)
    person, machine = (live.get_call(tenant, i) for i in ids)

    assert (person.status, person.callee_type) == (CallStatus.COMPLETED, CalleeType.VOICE)
    assert person.results == {"confirmed": "yes"}
    flow = person.details()["attempt_details"][0]["flow"]
    assert flow["version"] == version.version
    steps = [entry["step"] for entry in flow["trace"]]
    assert steps[:4] == ["greet", "who", "ask", "confirmed"]
    assert steps[-2:] == ["thanks", "done"]
    assert person.attempt_list[0].cause == "hung up by the call flow"

    assert (machine.status, machine.callee_type) == (
        CallStatus.COMPLETED,
        CalleeType.ANSWERINGMACHINE,
    )
    assert machine.results == {"voicemail": "left"}
    trace = machine.details()["attempt_details"][0]["flow"]["trace"]
    steps = [entry["step"] for entry in trace]
    assert "message" in steps and steps[-3:] == ["leave", "left", "done"]
    beep_end = machine.attempt_list[0].beep_end_ms
    message = next(entry for entry in trace if entry["step"] == "leave")
    assert beep_end is not None
    assert message["start_ms"] >= beep_end  # the message is left after the beep


SPOKEN_MENU = """
flow: 1
start: hello
steps:
  hello: {type: say, text: "Hello, this is a short test call.", next: ask}
  ask:
    type: menu
    prompt: "Say yes, or press 1."
    choices: {"1": chosen, "2": chosen}
    speech: {"yes": "1", "no": "2"}
    timeout_s: 4
    attempts: 1
    then: missed
  chosen:
    type: result
    fields: {answer: "${ask$.value}", mode: "${ask$.inputmode}", heard: "${ask$.utterance}"}
    next: done
  missed: {type: result, fields: {answer: "none"}, next: done}
  done: {type: hangup}
"""
SPEAKERS = [
    # After their "hello" (during our greeting), each answers the menu's question (from
    # about 2.5 s on) at 5 s: "yes", a word the menu does not know, or nothing at all.
    {
        "match": "1$",
        "outcome": "voice",
        "ring_s": 0.2,
        "callee": {"say": [{"at_s": 5.0, "text": "yes"}], "hangup_s": 20.0},
    },
    {
        "match": "2$",
        "outcome": "voice",
        "ring_s": 0.2,
        "callee": {"say": [{"at_s": 5.0, "text": "maybe"}], "hangup_s": 20.0},
    },
    {"match": "3$", "outcome": "voice", "ring_s": 0.2, "callee": {"hangup_s": 20.0}},
]


@pytest.mark.slow
def test_spoken_answers_choose_in_menus(live: Store, tenant: Account) -> None:
    """Simulated people answer a menu by voice: "yes" takes the branch of key 1 with
    ``inputmode`` voice; a word outside the menu's phrases is a wrong answer (no match), and
    silence no input."""
    dep = make_dep(live, tenant, make_trunk(live, "sim", SPEAKERS))
    live.save_flow(dep.application_id, SPOKEN_MENU, "yaml", tenant.email)
    numbers = ["+16175550101", "+16175550102", "+16175550103"]
    ids = new_call_ids(3)
    rows = [NewCall(i, n, None, None, None, "{}", None) for i, n in zip(ids, numbers, strict=True)]
    live.queue_calls(dep, Schedule(start_at=time.time()), rows)

    run_dialers(live, all_final(live, tenant, ids), timeout=60.0)
    said_yes, said_maybe, silent = (live.get_call(tenant, i) for i in ids)

    assert said_yes.results == {"answer": "1", "mode": "voice", "heard": "yes"}
    trace = said_yes.details()["attempt_details"][0]["flow"]["trace"]
    assert [(e["step"], e["outcome"]) for e in trace][1:3] == [
        ("ask", "said 'yes': key 1"),
        ("chosen", "fields answer, mode, heard"),
    ]
    assert said_yes.attempt_list[0].cause == "hung up by the call flow"

    assert said_maybe.results == {"answer": "none"}
    trace = said_maybe.details()["attempt_details"][0]["flow"]["trace"]
    assert trace[1]["outcome"] == "no match after 1 attempts"

    assert silent.results == {"answer": "none"}
    trace = silent.details()["attempt_details"][0]["flow"]["trace"]
    assert trace[1]["outcome"] == "no input after 1 attempts"
