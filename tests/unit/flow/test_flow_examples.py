"""The example flows validate, and the appointment reminder of FLOWS.md runs as it should."""

from __future__ import annotations

from pathlib import Path

import pytest

from outdial.flow import actions as a
from outdial.flow.document import load_flow
from outdial.flow.rehearsal import Rehearsal
from outdial.flow.validate import check

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "flows"
PARAMS = {
    "appointment_reminder": ["first_name", "date"],
    "voicemail_drop": ["first_name", "company", "callback"],
    "payment_notice": ["first_name", "account", "api_token", "due_date"],
    "survey": ["first_name", "visit_date"],
}
GREETING = "Hello Ann. This is Acme Dental with a reminder of your visit on May 3."
MENU = "To confirm, press 1 or say yes. To speak to our front desk, press 2 or say front desk."
NO_INPUT = "Sorry, I did not hear you. To confirm, press 1 or say yes. For the front desk, press 2."
NO_MATCH = (
    "Sorry, that is not an option. To confirm, press 1 or say yes. For the front desk, press 2."
)
LEAVE = (
    "Hello, this is Acme Dental reminding Ann of a visit on May 3. Call 617 555 0100 to change it."
)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_example_has_no_problems(name: str) -> None:
    text = (EXAMPLES / f"{name}.yaml").read_text()
    assert check(text) == []
    assert check(text, known_params=PARAMS[name]) == []
    assert load_flow(text, known_params=PARAMS[name]).warnings == ()


def test_every_example_is_tested() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.yaml")) == sorted(PARAMS)


def reminder() -> Rehearsal:
    text = (EXAMPLES / "appointment_reminder.yaml").read_text()
    flow = load_flow(text, known_params=PARAMS["appointment_reminder"])
    rehearsal = Rehearsal(flow, {"first_name": "Ann", "date": "May 3"})
    rehearsal.start()
    return rehearsal


def to_menu(r: Rehearsal) -> None:
    r.finish_prompt(after_ms=4000)
    r.advance(700)
    r.verdict("voice")


def test_person_presses_1() -> None:
    r = reminder()
    assert r.spoken == [GREETING]
    to_menu(r)
    assert r.spoken == [GREETING, MENU]
    r.finish_prompt(after_ms=3000)
    r.advance(1200)
    r.press("1")
    assert r.results == {"confirmed": "yes"}
    assert r.of(a.SetResult) == [a.SetResult({"confirmed": "yes"})]
    assert r.spoken[-1] == "Thank you. See you soon."
    r.finish_prompt(after_ms=1500)
    assert r.steps == ["greet", "who", "ask", "confirmed", "thanks", "done"]
    assert r.ended == a.Ended("hangup step 'done'", False, {"confirmed": "yes"})
    assert r.of(a.Hangup) == [a.Hangup("hangup step 'done'")]
    trace = [(t.step, t.start_ms, t.end_ms, t.outcome) for t in r.interpreter.trace]
    assert trace == [
        ("greet", 0, 4000, "played"),
        ("who", 4000, 4700, "voice"),
        ("ask", 4700, 8900, "key 1"),
        ("confirmed", 8900, 8900, "fields confirmed"),
        ("thanks", 8900, 10400, "played"),
        ("done", 10400, 10400, "hangup"),
    ]


def test_person_says_yes_during_the_question() -> None:
    r = reminder()
    to_menu(r)
    [listen] = r.of(a.Listen)
    assert listen.phrases == {"yes": "1", "front desk": "2"}
    r.advance(2000)
    r.start_speaking(listen_id=listen.listen_id)
    r.advance(600)
    actions = r.say("yes", "1", 0.8, listen_id=listen.listen_id)  # barge-in by voice
    assert isinstance(actions[0], a.StopPlay)
    assert r.results == {"confirmed": "yes"}
    assert r.interpreter.trace[2].outcome == "said 'yes': key 1"
    assert r.interpreter.vars.steps["ask"] == {
        "value": "1",
        "inputmode": "voice",
        "utterance": "yes",
        "confidence": 0.8,
    }
    assert r.listening == {}


def test_voicemail_waits_for_the_beep_then_leaves_the_message() -> None:
    r = reminder()
    r.advance(2500)
    actions = r.verdict("answeringmachine")  # during the greeting: the flow's on: takes it
    assert a.StopPlay("play-1") in actions
    assert r.steps == ["greet", "message"]
    assert r.interpreter.trace[0].outcome == "interrupted: answeringmachine"
    r.advance(6000)
    assert r.spoken == [GREETING]  # nothing over the greeting
    r.beep_end()
    assert r.spoken == [GREETING, LEAVE]
    r.finish_prompt(after_ms=6000)
    assert r.steps == ["greet", "message", "leave", "left", "done"]
    assert r.results == {"voicemail": "left"}
    assert r.interpreter.vars.steps["message"] == {"beep": True, "waited_ms": 6000}


def test_voicemail_decided_while_detecting_branches_there() -> None:
    r = reminder()
    r.finish_prompt(after_ms=4000)
    r.advance(1000)
    r.verdict("answeringmachine")
    assert r.steps == ["greet", "who", "message"]
    r.beep_end()
    r.finish_prompt(after_ms=5000)
    assert r.results == {"voicemail": "left"}


def test_no_input_three_times_says_goodbye() -> None:
    r = reminder()
    to_menu(r)
    for _ in range(2):
        r.finish_prompt(after_ms=3000)
        r.advance(5000)
        assert r.spoken[-1] == NO_INPUT
    r.finish_prompt(after_ms=3000)
    r.advance(4999)
    assert r.spoken[-1] == NO_INPUT
    r.advance(1)
    assert r.spoken[-1] == "Goodbye."
    assert r.spoken.count(NO_INPUT) == 2  # the third failure goes to then, no re-prompt
    assert r.interpreter.trace[-1].outcome is None
    assert r.interpreter.trace[-2].outcome == "no input after 3 attempts"
    r.finish_prompt(after_ms=800)
    assert r.steps == ["greet", "who", "ask", "bye", "done"]
    assert r.results == {}


def test_wrong_key_plays_the_no_match_prompt() -> None:
    r = reminder()
    to_menu(r)
    r.finish_prompt(after_ms=3000)
    r.press("7")
    assert r.spoken[-1] == NO_MATCH
    r.advance(1000)
    actions = r.press("1")  # barge-in on the no-match prompt
    assert isinstance(actions[0], a.StopPlay)
    assert r.results == {"confirmed": "yes"}
    assert r.steps == ["greet", "who", "ask", "confirmed", "thanks"]


def test_revised_verdict_mid_menu_goes_to_the_message() -> None:
    r = reminder()
    to_menu(r)
    r.finish_prompt(after_ms=3000)
    r.advance(1500)  # the menu waits for a key: its timer runs
    menu_timers = set(r.timers) - {"max-call"}
    actions = r.verdict("answeringmachine", revised=True)
    assert [x for x in actions if isinstance(x, a.CancelTimer)] == [
        a.CancelTimer(t) for t in menu_timers
    ]
    assert r.interpreter.current_step == "message"
    assert r.interpreter.callee_type == "answeringmachine"
    r.beep_end()
    r.verdict("answeringmachine", revised=True)  # once per kind of event: no second jump
    assert r.steps == ["greet", "who", "ask", "message", "leave"]
    r.finish_prompt(after_ms=4000)
    assert r.results == {"voicemail": "left"}
    assert r.interpreter.trace[2].outcome == "interrupted: answeringmachine"


def test_revised_verdict_during_the_menu_prompt_stops_it() -> None:
    r = reminder()
    to_menu(r)
    menu_play = r.plays[-1].play_id
    actions = r.verdict("answeringmachine", revised=True)
    assert a.StopPlay(menu_play) in actions
    assert r.playing == {}
    assert r.interpreter.current_step == "message"


def example(name: str, params: dict[str, str]) -> Rehearsal:
    flow = load_flow((EXAMPLES / f"{name}.yaml").read_text(), known_params=PARAMS[name])
    rehearsal = Rehearsal(flow, params)
    rehearsal.start()
    return rehearsal


def test_survey_keeps_rating_and_comment_when_the_callee_hangs_up_while_recording() -> None:
    r = example("survey", {"first_name": "Cy", "visit_date": "June 2"})
    r.finish_prompt(after_ms=5000)
    r.verdict("voice")
    r.finish_prompt(after_ms=6000)
    r.press("10#", gap_ms=400)
    assert r.results == {"rating": "10"}
    r.finish_prompt(after_ms=4000)  # the comment prompt, then recording
    (record,) = r.of(a.Record)
    assert (record.beep, record.max_s, record.final_silence_s, record.finish_on_key) == (
        True,
        60,
        4,
        "#",
    )
    r.advance(9000)
    r.hang_up()
    r.end_recording(duration_s=9.0, recording="recordings/c1-comment.wav")
    assert r.results == {
        "rating": "10",
        "comment": "recordings/c1-comment.wav",
        "comment_s": "9",
        "survey": "hung up",
    }
    assert r.steps[-3:] == ["comment", "save_comment", "hung_up"]


def test_survey_rating_out_of_range_is_asked_again() -> None:
    r = example("survey", {"first_name": "Cy", "visit_date": "June 2"})
    r.finish_prompt()
    r.finish_prompt()
    r.press("11")  # max 2 keys: complete, but off the pattern
    assert r.spoken[-1] == "Please enter a number from 1 to 10, then press pound."


def test_payment_notice_reads_the_balance_and_transfers_to_an_agent() -> None:
    params = {"first_name": "Di", "account": "A-7", "api_token": "s3cret", "due_date": "May 9"}
    r = example("payment_notice", params)
    (request,) = r.of(a.HttpRequest)
    assert request.url == "https://billing.example.com/api/accounts/A-7/balance?call=rehearsal"
    assert request.headers == {"Authorization": "Bearer s3cret"}
    r.reply_http(200, {"amount_due": 42.5})
    assert r.interpreter.trace[0].outcome == "status 200"
    assert r.spoken[-1] == (
        "Hello Di. This is Example Energy. Your balance of 42.5 dollars is due on May 9."
    )
    r.finish_prompt(after_ms=5000)
    r.press("1")  # barge-in on the menu prompt
    assert r.transfer == a.Transfer("tel:+18005550199", "", 25, "bridge")
    r.end_transfer("busy")
    assert r.spoken[-1] == "All our agents are busy. Please call us at 800 555 0199. Goodbye."
    r.finish_prompt()
    assert r.results == {"outcome": "agents busy"}
    assert r.ended is not None and r.ended.reason == "hangup step 'done'"


def test_payment_notice_without_the_billing_service_still_calls() -> None:
    params = {"first_name": "Di", "account": "A-7", "api_token": "t", "due_date": "May 9"}
    r = example("payment_notice", params)
    r.advance(3000)
    r.reply_http(None, error="timeout")
    assert (r.spoken[-1] or "").startswith("Hello Di. This is Example Energy with a notice")


def test_voicemail_drop_waits_for_the_beep() -> None:
    r = example("voicemail_drop", {"first_name": "Ed", "company": "Acme", "callback": "555"})
    r.advance(4000)
    r.verdict("answeringmachine")
    r.advance(5000)
    assert r.plays == []
    r.beep_end()
    assert r.plays[0].bargein is False
    r.finish_prompt(after_ms=7000)
    assert r.results == {"voicemail": "left", "beep": "true"}
    assert r.ended is not None and r.ended.reason == "hangup step 'done'"
