"""Interruptions (on:), hang-up, the call limit, failures, loops and stale answers."""

from __future__ import annotations

from collections.abc import Callable

from outdial.flow import actions as a
from outdial.flow.events import PromptFinished, TimerFired
from outdial.flow.rehearsal import Rehearsal

Rehearse = Callable[..., Rehearsal]

ON = """
start: a
on: {answeringmachine: vm, fax: fax}
steps:
  a: {type: say, text: "a", next: b}
  b: {type: say, text: "b", on: {answeringmachine: vm_b}, next: c}
  c: {type: transfer, to: "tel:+1555", next: end}
  vm: {type: say, text: "vm"}
  vm_b: {type: say, text: "vm b"}
  fax: {type: result, fields: {fax: "yes"}}
  end: {type: hangup}
"""


def test_flow_on_interrupts_a_prompt(rehearse: Rehearse) -> None:
    r = rehearse(ON)
    r.advance(900)
    actions = r.verdict("answeringmachine")
    assert actions[:2] == [a.StopPlay("play-1"), a.CancelTimer("timer-2")]
    assert r.spoken == ["a", "vm"]
    assert r.interpreter.trace[0].end_ms == 900


def test_step_on_overrides_the_flows(rehearse: Rehearse) -> None:
    r = rehearse(ON)
    r.finish_prompt()
    r.verdict("answeringmachine")
    assert r.spoken == ["a", "b", "vm b"]


def test_each_kind_interrupts_once(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: a
        on: {answeringmachine: vm}
        steps:
          a: {type: say, text: "a"}
          vm: {type: say, text: "vm", next: b}
          b: {type: say, text: "b"}
        """
    )
    r.verdict("voice")
    assert r.spoken == ["a"] and r.playing  # voice interrupts nothing
    r.verdict("answeringmachine", revised=True)
    r.finish_prompt()
    assert r.verdict("answeringmachine", revised=True) == []
    assert r.spoken == ["a", "vm", "b"]
    assert r.interpreter.current_step == "b"


def test_fax_handler(rehearse: Rehearse) -> None:
    r = rehearse(ON)
    r.verdict("fax")
    assert r.results == {"fax": "yes"}
    assert r.ended is not None


def test_verdict_without_a_handler_only_updates_the_callee_type(rehearse: Rehearse) -> None:
    r = rehearse(
        "start: a\nsteps:\n  a: {type: say, text: a, next: b}\n  b: {type: say, text: b}\n"
    )
    assert r.verdict("answeringmachine") == []
    assert r.interpreter.callee_type == "answeringmachine"
    r.finish_prompt()
    assert r.spoken == ["a", "b"]


def test_a_transfer_is_not_interrupted_by_a_verdict(rehearse: Rehearse) -> None:
    r = rehearse(ON)
    r.finish_prompt()
    r.verdict("voice")
    r.finish_prompt()
    assert r.transfer is not None
    assert r.verdict("answeringmachine", revised=True) == []
    r.end_transfer("completed", 30)
    assert r.steps == ["a", "b", "c", "end"]


def test_interrupt_drops_typed_ahead_keys(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: p
        on: {answeringmachine: m}
        steps:
          p: {type: pause, seconds: 5}
          m: {type: menu, prompt: "main", choices: {"1": x}}
          x: {type: hangup}
        """
    )
    r.press("1")
    r.verdict("answeringmachine")
    assert r.spoken == ["main"]  # the 1 pressed before did not choose for the machine


def test_hang_up_without_a_handler_ends_the_flow(rehearse: Rehearse) -> None:
    r = rehearse(ON)
    r.advance(1500)
    actions = r.hang_up()
    assert actions == [a.CancelTimer("timer-2"), a.Ended("callee hung up")]
    assert r.interpreter.trace[0].outcome == "hangup"
    assert r.interpreter.trace[0].end_ms == 1500
    assert r.verdict("answeringmachine") == []


HANGUP = """
start: a
on: {hangup: bye}
steps:
  a: {type: say, text: "a", next: a2}
  a2: {type: say, text: "a2"}
  bye: {type: set, vars: {why: gone}, next: note}
  note: {type: http, url: "https://x.example/gone?why=${why}", next: store}
  store: {type: result, fields: {why: "${why}", status: "${note$.status}"}, next: talk}
  talk: {type: say, text: "nobody hears this", next: store2}
  store2: {type: result, fields: {never: "yes"}}
"""


def test_on_hangup_runs_line_free_steps_then_ends_at_the_first_that_needs_the_line(
    rehearse: Rehearse,
) -> None:
    r = rehearse(HANGUP)
    actions = r.hang_up()
    assert not any(isinstance(x, a.StopPlay) for x in actions)  # no line to stop it on
    assert r.of(a.HttpRequest)[0].url == "https://x.example/gone?why=gone"
    r.reply_http(200)
    assert r.results == {"why": "gone", "status": "200"}
    assert r.steps == ["a", "bye", "note", "store"]
    assert r.spoken == ["a"]
    assert r.ended == a.Ended("callee hung up", False, r.results)
    assert r.of(a.Hangup) == []


def test_an_http_step_under_way_finishes_after_a_hang_up(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: h
        on: {hangup: late}
        steps:
          h: {type: http, url: "https://x.example/", next: r}
          r: {type: result, fields: {s: "${h$.status}"}, next: t}
          t: {type: say, text: "x"}
          late: {type: result, fields: {late: "yes"}}
        """
    )
    assert r.hang_up() == []
    r.reply_http(204)
    assert r.results == {"s": "204", "late": "yes"}  # the handler runs when the line is needed
    assert r.steps == ["h", "r", "late"]


def test_max_call_time_hangs_up(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: m
        settings: {max_call_s: 30}
        steps:
          m: {type: menu, prompt: "p", choices: {"1": m}}
        """
    )
    assert r.actions[0] == a.StartTimer("max-call", 30)
    for _ in range(5):
        r.finish_prompt(after_ms=1000)
        r.press("1")
    r.advance(25_000)
    reason = "settings.max_call_s (30 s) reached"
    assert r.ended == a.Ended(reason)
    assert r.of(a.Hangup) == [a.Hangup(reason)]
    assert r.interpreter.trace[-1].outcome == "max call time"
    assert r.timers == {}  # every timer was cancelled or fired


def test_ending_early_cancels_the_max_call_timer(rehearse: Rehearse) -> None:
    r = rehearse("start: h\nsettings: {max_call_s: 30}\nsteps:\n  h: {type: hangup}\n")
    assert a.CancelTimer("max-call") in r.actions
    assert r.timers == {}


def test_a_loop_that_never_waits_is_stopped(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: a
        steps:
          a: {type: set, vars: {n: "x"}, next: b}
          b: {type: branch, cases: [{var: "${n}", op: eq, value: "x", next: a}]}
        """
    )
    assert r.ended is not None and r.ended.error
    assert "more than 1000 steps" in r.ended.reason
    assert len(r.interpreter.trace) == 1000


def test_prompt_failure_goes_to_on_error_or_ends_naming_step_and_cause(
    rehearse: Rehearse,
) -> None:
    text = """
    start: s
    steps:
      s: {type: say, text: "hi"%s}
      e: {type: say, text: "sorry"}
    """
    r = rehearse(text % ", on_error: e")
    r.fail_prompt("espeak-ng failed")
    assert r.spoken == ["hi", "sorry"]
    assert r.interpreter.trace[0].outcome == "error: espeak-ng failed"
    r = rehearse(text % "")
    r.fail_prompt("espeak-ng failed")
    assert r.ended == a.Ended("step 's': prompt failed: espeak-ng failed", True)


def test_menu_prompt_failure_is_not_a_stuck_line(rehearse: Rehearse) -> None:
    r = rehearse("start: m\nsteps:\n  m: {type: menu, prompt: p, choices: {'1': m}}\n")
    r.fail_prompt("no voice")
    assert r.ended == a.Ended("step 'm': prompt failed: no voice", True)


def test_stale_answers_are_ignored(rehearse: Rehearse) -> None:
    r = rehearse(
        "start: a\nsteps:\n  a: {type: say, text: a, next: b}\n  b: {type: pause, seconds: 9}\n"
    )
    r.finish_prompt()
    assert r.feed(PromptFinished("play-1", at_ms=10)) == []
    assert r.feed(TimerFired("timer-2", at_ms=10)) == []
    assert r.steps == ["a", "b"] and r.ended is None


def test_a_verdict_after_the_hang_up_changes_nothing(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: h
        on: {answeringmachine: vm}
        steps:
          h: {type: http, url: "https://x.example/", next: r}
          r: {type: result, fields: {s: "${h$.status}"}}
          vm: {type: result, fields: {vm: "yes"}}
        """
    )
    r.hang_up()
    assert r.verdict("answeringmachine", revised=True) == []
    r.reply_http(200)
    assert r.results == {"s": "200"}


def test_a_steps_own_hangup_handler_is_used(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: m
        on: {hangup: flow_level}
        steps:
          m: {type: menu, prompt: p, choices: {"1": m}, on: {hangup: step_level}}
          step_level: {type: result, fields: {where: step}}
          flow_level: {type: result, fields: {where: flow}}
        """
    )
    r.finish_prompt()
    r.hang_up()
    assert r.results == {"where": "step"}
    assert r.steps == ["m", "step_level"]
