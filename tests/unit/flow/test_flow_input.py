"""Menu and digits: prompts, timers, retries, barge-in and type-ahead."""

from __future__ import annotations

from collections.abc import Callable

from outdial.flow import actions as a
from outdial.flow.collect import UTTERANCE_GUARD_S
from outdial.flow.rehearsal import Rehearsal

Rehearse = Callable[..., Rehearsal]

MENU = """
start: m
steps:
  m:
    type: menu
    prompt: "main"
    choices: {"1": one, "2": two}
    speech: {"yes please": "1", "No": "2"}
    attempts: 4
    timeout_s: 5
    no_input: ["ni 1", "ni 2"]
    no_match: ["nm 1"]
    then: out
  one: {type: say, text: "one ${m$.value} ${m$.inputmode} ${m$.utterance} ${m$.confidence}"}
  two: {type: say, text: "two ${m$.value} ${m$.inputmode} ${m$.utterance} ${m$.confidence}"}
  out: {type: say, text: "out"}
"""


def test_menu_timer_starts_only_after_the_prompt(rehearse: Rehearse) -> None:
    r = rehearse(MENU)
    assert [t.seconds for t in r.of(a.StartTimer)] == [300.0]  # the prompt's guard only
    r.finish_prompt(after_ms=2000)
    assert [t.seconds for t in r.of(a.StartTimer)] == [300.0, 5]
    r.advance(4999)
    assert r.spoken == ["main"]
    r.advance(1)
    assert r.spoken == ["main", "ni 1"]


def test_menu_retry_prompts_are_indexed_by_retry_and_the_last_reused(rehearse: Rehearse) -> None:
    r = rehearse(MENU)
    r.finish_prompt()
    r.advance(5000)  # retry 1: no input
    r.finish_prompt()
    r.press("9")  # retry 2: no match -> no_match[1] does not exist: the last one
    r.finish_prompt()
    r.advance(5000)  # retry 3: no input -> no_input[2] does not exist: the last one
    assert r.spoken == ["main", "ni 1", "nm 1", "ni 2"]
    r.finish_prompt()
    r.advance(5000)  # the fourth attempt fails: then
    assert r.spoken[-1] == "out"
    assert r.interpreter.trace[0].outcome == "no input after 4 attempts"
    assert r.interpreter.vars.steps["m"] == {"value": ""}


def test_menu_without_retry_prompts_repeats_the_main_prompt(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: m
        steps:
          m: {type: menu, prompt: "main", choices: {"1": x}}
          x: {type: hangup}
        """
    )
    for _ in range(3):
        r.finish_prompt()
        r.advance(5000)
    assert r.spoken == ["main", "main", "main"]
    assert r.ended is not None
    assert r.ended.reason == "step 'm': no input after 3 attempts"
    assert not r.ended.error


def test_menu_key_sets_its_values(rehearse: Rehearse) -> None:
    r = rehearse(MENU)
    r.finish_prompt()
    r.press("2")
    assert r.spoken[-1] == "two 2 dtmf 2 1"
    assert r.interpreter.trace[0].outcome == "key 2"


def test_menu_key_during_the_prompt_stops_it(rehearse: Rehearse) -> None:
    r = rehearse(MENU)
    r.advance(700)
    actions = r.press("1")
    assert actions[:2] == [a.StopPlay("play-1"), a.CancelTimer("timer-2")]
    assert r.spoken[-1] == "one 1 dtmf 1 1"
    assert r.interpreter.trace[0].end_ms == 700


def test_menu_speech_phrase_and_recogniser_key(rehearse: Rehearse) -> None:
    r = rehearse(MENU)
    r.finish_prompt()
    r.say("Yes, please!")
    assert r.spoken[-1] == "one 1 voice Yes, please! 0.9"
    assert r.interpreter.trace[0].outcome == "said 'Yes, please!': key 1"
    r = rehearse(MENU)
    r.say("nope", key="2", confidence=0.5)  # barge-in by voice, the recogniser gave the key
    assert r.spoken[-1] == "two 2 voice nope 0.5"


def test_menu_speech_that_matches_nothing_is_no_match(rehearse: Rehearse) -> None:
    r = rehearse(MENU)
    r.finish_prompt()
    r.say("maybe later")
    assert r.spoken[-1] == "nm 1"


def test_barge_in_on_say_is_the_first_key_of_the_next_menu(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: hi
        steps:
          hi: {type: say, text: "hello", next: who}
          who: {type: detect, timeout_s: 3, default: m}
          m: {type: menu, prompt: "main", choices: {"1": yes}}
          yes: {type: result, fields: {picked: "${m$.value}"}}
        """
    )
    r.advance(1200)
    actions = r.press("1")
    assert actions[0] == a.StopPlay("play-1")
    assert r.steps == ["hi", "who"]
    r.advance(3000)
    assert r.results == {"picked": "1"}
    assert r.spoken == ["hello"]  # the menu's prompt was never needed
    assert r.interpreter.trace[0].outcome == "barge-in: key 1"


def test_keys_during_a_prompt_without_barge_in_are_ignored(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: hi
        steps:
          hi: {type: say, text: "hello", bargein: false, next: m}
          m: {type: menu, prompt: "main", choices: {"1": yes}}
          yes: {type: hangup}
        """
    )
    assert r.press("1") == []
    assert r.playing
    r.finish_prompt()
    assert r.spoken == ["hello", "main"]


def test_wrong_type_ahead_key_drops_the_rest(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: p
        steps:
          p: {type: pause, seconds: 1, next: m}
          m: {type: menu, prompt: "main", no_match: ["again"], choices: {"1": yes}}
          yes: {type: hangup}
        """
    )
    r.press("91")
    r.advance(1000)
    assert r.spoken == ["again"]  # 9 was wrong; the 1 typed after it is dropped
    r.finish_prompt()
    r.press("1")
    assert r.steps == ["p", "m", "yes"]


DIGITS = """
start: d
steps:
  d:
    type: digits
    prompt: "enter"
    min: 3
    max: 5
    pattern: "[0-9]+"
    interdigit_s: 2
    no_match: ["bad"]
    no_input: ["nothing"]
    next: ok
    then: failed
  ok: {type: say, text: "got ${d$.value}"}
  failed: {type: say, text: "failed"}
"""


def test_digits_finish_on_pound(rehearse: Rehearse) -> None:
    r = rehearse(DIGITS)
    r.finish_prompt()
    r.press("123#", gap_ms=500)
    assert r.spoken[-1] == "got 123"
    assert r.interpreter.trace[0].outcome == "value 123"


def test_digits_end_at_max(rehearse: Rehearse) -> None:
    r = rehearse(DIGITS)
    r.finish_prompt()
    r.press("123456")
    assert r.spoken[-1] == "got 12345"


def test_digits_end_after_the_interdigit_time(rehearse: Rehearse) -> None:
    r = rehearse(DIGITS)
    r.advance(300)
    r.press("4")  # barge-in: stops the prompt, starts the interdigit timer
    assert not r.playing
    r.advance(1900)
    r.press("56")
    r.advance(1999)
    assert r.spoken == ["enter"]
    r.advance(1)
    assert r.spoken[-1] == "got 456"


def test_digits_too_few_or_off_pattern_is_no_match(rehearse: Rehearse) -> None:
    r = rehearse(DIGITS)
    r.finish_prompt()
    r.press("12#")
    assert r.spoken[-1] == "bad"
    r.finish_prompt()
    r.press("12*4#")
    assert r.spoken[-1] == "bad"
    r.finish_prompt()
    r.press("1#")
    assert r.spoken[-1] == "failed"
    assert r.interpreter.trace[0].outcome == "no match after 3 attempts"


def test_digits_nothing_or_only_the_finish_key_is_no_input(rehearse: Rehearse) -> None:
    r = rehearse(DIGITS)
    r.finish_prompt()
    r.advance(5000)
    assert r.spoken[-1] == "nothing"
    r.finish_prompt()
    r.press("#")
    assert r.spoken[-1] == "nothing"


def test_digits_defaults_and_private_values_stay_out_of_the_trace(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: pin
        steps:
          pin: {type: digits, prompt: "PIN", private: true, next: check}
          check:
            type: branch
            cases: [{var: "${pin$.value}", op: eq, value: "4321", as: string, next: good}]
            default: bad
          good: {type: say, text: "good"}
          bad: {type: say, text: "bad"}
        """
    )
    r.finish_prompt()
    r.advance(4999)
    r.press("43")
    r.advance(2999)  # the interdigit default is 3 s
    r.press("21")
    r.advance(3000)
    assert r.spoken[-1] == "good"
    assert r.interpreter.trace[0].outcome == "input"
    assert all("4321" not in (t.outcome or "") for t in r.interpreter.trace)


def test_digits_type_ahead_fills_the_input(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: hi
        steps:
          hi: {type: say, text: "hello", next: d}
          d: {type: digits, prompt: "enter", finish_on: "", max: 4, next: ok}
          ok: {type: say, text: "got ${d$.value}"}
        """
    )
    r.press("12")
    assert r.steps == ["hi", "d"]
    assert r.spoken == ["hello"]  # the digits prompt is skipped: input has begun
    r.press("3")
    r.advance(3000)
    assert r.spoken[-1] == "got 123"


def test_digits_ignore_keys_they_cannot_use_but_keep_waiting(rehearse: Rehearse) -> None:
    r = rehearse(DIGITS)
    r.advance(200)
    r.press("A")  # a key no digits step takes: it stops the prompt, nothing more
    assert not r.playing
    r.advance(5000)
    assert r.spoken[-1] == "nothing"  # not stuck: the no-input timer ran


def test_a_menu_with_speech_listens_from_its_start_to_its_end(rehearse: Rehearse) -> None:
    r = rehearse(MENU)
    [listen] = r.of(a.Listen)
    assert listen.phrases == {"yes please": "1", "No": "2"}
    assert r.listening == {listen.listen_id: listen}
    r.finish_prompt()
    r.advance(5000)  # a retry keeps listening
    assert r.listening == {listen.listen_id: listen} and len(r.of(a.Listen)) == 1
    r.finish_prompt()
    r.press("1")
    assert r.of(a.StopListen) == [a.StopListen(listen.listen_id)]
    assert r.listening == {}


def test_a_menu_interrupted_or_hung_up_on_stops_listening(rehearse: Rehearse) -> None:
    r = rehearse(MENU)
    r.hang_up()
    assert r.listening == {} and len(r.of(a.StopListen)) == 1


def test_a_menu_without_speech_neither_listens_nor_takes_speech(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: m
        steps:
          m: {type: menu, prompt: "main", choices: {"1": x}}
          x: {type: say, text: "chosen"}
        """
    )
    assert r.of(a.Listen) == []
    r.finish_prompt()
    r.start_speaking()
    r.say("one", key="1")
    assert r.spoken == ["main"] and r.steps == ["m"]
    r.advance(5000)  # the no-input timer was not stopped by the speech
    assert r.spoken == ["main", "main"]


def test_unmatched_speech_during_the_prompt_is_ignored(rehearse: Rehearse) -> None:
    """Barge-in by voice needs a match: what the recogniser could not place (a cough, a word
    to someone else) leaves the prompt playing; once it has finished, it is a wrong input."""
    r = rehearse(MENU)
    r.advance(500)
    r.start_speaking()
    assert r.say("maybe later") == []
    assert r.playing and r.spoken == ["main"]
    r.finish_prompt()
    r.say("maybe later")
    assert r.spoken == ["main", "nm 1"]


def test_speech_started_holds_the_no_input_timer_until_the_answer(rehearse: Rehearse) -> None:
    r = rehearse(MENU)
    r.finish_prompt()
    r.advance(4900)
    r.start_speaking()
    r.advance(3000)  # past the 5 s time-out: the callee is speaking, no retry
    assert r.spoken == ["main"]
    r.say("No")
    assert r.spoken[-1] == "two 2 voice No 0.9"


def test_an_utterance_whose_result_never_comes_is_no_input_in_the_end(rehearse: Rehearse) -> None:
    r = rehearse(MENU)
    r.finish_prompt()
    r.start_speaking()
    r.advance(round(UTTERANCE_GUARD_S * 1000))
    assert r.spoken == ["main", "ni 1"]


def test_an_utterance_begun_during_the_prompt_holds_the_timer_after_it(rehearse: Rehearse) -> None:
    r = rehearse(MENU)
    r.start_speaking()
    r.finish_prompt()
    r.advance(6000)
    assert r.spoken == ["main"]
    r.say("yes please")
    assert r.spoken[-1] == "one 1 voice yes please 0.9"


def test_speech_heard_by_another_listening_is_ignored(rehearse: Rehearse) -> None:
    """A result of the previous menu's listening, still on its way, is not this menu's."""
    r = rehearse(MENU)
    [listen] = r.of(a.Listen)
    r.finish_prompt()
    r.say("No", key="2", listen_id="listen-0")
    assert r.steps == ["m"]
    r.say("No", key="2", listen_id=listen.listen_id)
    assert r.spoken[-1] == "two 2 voice No 0.9"


def test_what_the_recogniser_did_not_match_is_no_match_even_if_its_text_is_a_phrase(
    rehearse: Rehearse,
) -> None:
    """The recogniser heard "No" but was not sure enough to give its key: no match."""
    r = rehearse(MENU)
    [listen] = r.of(a.Listen)
    r.finish_prompt()
    r.say("No", key=None, confidence=0.2, listen_id=listen.listen_id)
    assert r.spoken == ["main", "nm 1"]
