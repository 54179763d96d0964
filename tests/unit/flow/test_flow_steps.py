"""Each step type run by the interpreter (menu and digits: test_flow_input.py; http, transfer
and goto: test_flow_remote.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from outdial.flow import actions as a
from outdial.flow.context import Session
from outdial.flow.document import Flow
from outdial.flow.events import Digit
from outdial.flow.interpreter import Interpreter
from outdial.flow.rehearsal import Rehearsal

Rehearse = Callable[..., Rehearsal]
MakeFlow = Callable[[str], Flow]


def test_say_substitutes_variables_and_uses_the_voices(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: one
        voice: espeak-ng:en-gb
        steps:
          one: {type: say, text: "Hi ${name}, call ${session.id} try ${session.attempt}", next: two}
          two: {type: say, audio: "hello.wav", voice: "en-us", bargein: false}
        """,
        {"name": "Bo"},
    )
    first = r.plays[0]
    assert (first.text, first.audio, first.voice, first.bargein) == (
        "Hi Bo, call call-1 try 2",
        None,
        "espeak-ng:en-gb",
        True,
    )
    r.finish_prompt(after_ms=1000)
    second = r.plays[1]
    assert (second.text, second.audio, second.voice, second.bargein) == (
        None,
        "hello.wav",
        "en-us",
        False,
    )
    r.finish_prompt(after_ms=500)
    assert r.ended == a.Ended("flow ended at step 'two'")
    assert r.of(a.Hangup) == [a.Hangup("flow ended at step 'two'")]


def test_prompt_has_a_guard_timer_cancelled_when_it_finishes(rehearse: Rehearse) -> None:
    r = rehearse("start: s\nsteps:\n  s: {type: say, text: hi}\n")
    (guard,) = r.of(a.StartTimer)
    assert isinstance(guard, a.StartTimer) and guard.seconds == 300.0
    actions = r.finish_prompt()
    assert actions[0] == a.CancelTimer(guard.timer_id)


def test_a_prompt_never_reported_finished_fails_at_its_guard(rehearse: Rehearse) -> None:
    r = rehearse("start: s\nsteps:\n  s: {type: say, text: hi}\n")
    r.advance(300_000)
    assert r.ended is not None and r.ended.error
    assert r.ended.reason == "step 's': prompt failed: prompt did not finish"


def test_unknown_variable_at_run_time_is_empty_with_a_warning(rehearse: Rehearse) -> None:
    r = rehearse("start: s\nsteps:\n  s: {type: say, text: 'a${nope}b'}\n")
    assert r.spoken == ["ab"]
    assert r.of(a.Warn) == [a.Warn("s", "unknown variable ${nope}: empty")]


def test_pause_waits_for_its_timer_and_keeps_keys(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: p
        steps:
          p: {type: pause, seconds: 2.5, next: m}
          m: {type: menu, prompt: "pick", choices: {"4": done}}
          done: {type: hangup}
        """
    )
    assert a.StartTimer("timer-1", 2.5) in r.actions
    r.advance(1000)
    r.press("4")
    assert r.steps == ["p"]
    r.advance(1500)
    assert r.steps == ["p", "m", "done"]  # the key was typed ahead: no prompt played
    assert r.plays == []


DETECT = """
start: greet
steps:
  greet: {type: say, text: "hello ${session.connection.callee_type}", next: who}
  who:
    type: detect
    timeout_s: 4
    branches: {voice: person, fax: gone}
    default: other
  person: {type: say, text: "person ${who$.callee_type} ${session.connection.callee_type}"}
  other: {type: say, text: "other ${who$.callee_type} ${session.connection.callee_type}"}
  gone: {type: hangup}
"""


def test_detect_waits_for_the_verdict(rehearse: Rehearse) -> None:
    r = rehearse(DETECT)
    assert r.spoken == ["hello processing"]
    r.finish_prompt(after_ms=1000)
    assert a.StartTimer("timer-3", 4) in r.actions
    r.advance(1500)
    r.verdict("voice")
    assert r.spoken[-1] == "person voice voice"
    assert r.interpreter.vars.steps["who"] == {"callee_type": "voice", "decided_ms": 2500}
    assert "timer-3" not in r.timers


def test_detect_proceeds_at_once_when_already_decided(rehearse: Rehearse) -> None:
    r = rehearse(DETECT)
    r.advance(300)
    r.verdict("fax")  # no on: fax here, so nothing is interrupted
    assert r.steps == ["greet"]
    r.finish_prompt(after_ms=700)
    assert r.steps == ["greet", "who", "gone"]
    assert r.interpreter.vars.steps["who"]["decided_ms"] == 300
    assert r.interpreter.trace[1].start_ms == r.interpreter.trace[1].end_ms == 1000


def test_detect_timeout_takes_the_default_as_unknown(rehearse: Rehearse) -> None:
    r = rehearse(DETECT)
    r.finish_prompt(after_ms=1000)
    r.advance(4000)
    assert r.spoken[-1] == "other unknown processing"
    assert r.interpreter.trace[1].outcome == "timeout"


def test_detect_unlisted_type_takes_the_default(rehearse: Rehearse) -> None:
    r = rehearse(DETECT)
    r.finish_prompt()
    r.verdict("answeringmachine")
    assert r.spoken[-1] == "other answeringmachine answeringmachine"


WAIT_BEEP = """
start: w
steps:
  w: {type: wait_beep, timeout_s: 10, next: m}
  m: {type: say, text: "beep=${w$.beep} after ${w$.waited_ms}"}
"""


def test_wait_beep_ends_at_the_beep(rehearse: Rehearse) -> None:
    r = rehearse(WAIT_BEEP)
    r.advance(3200)
    assert r.plays == []
    r.beep_end()
    assert r.spoken == ["beep=true after 3200"]
    assert r.interpreter.trace[0].outcome == "beep"


def test_wait_beep_at_final_silence_without_a_beep(rehearse: Rehearse) -> None:
    r = rehearse(WAIT_BEEP)
    r.advance(4000)
    r.beep_end(beep=False)
    assert r.spoken == ["beep=false after 4000"]
    assert r.interpreter.trace[0].outcome == "silence"


def test_wait_beep_times_out(rehearse: Rehearse) -> None:
    r = rehearse(WAIT_BEEP)
    r.advance(10_000)
    assert r.spoken == ["beep=false after 10000"]
    assert r.interpreter.trace[0].outcome == "timeout"


def test_wait_beep_after_the_beep_proceeds_at_once(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: s
        steps:
          s: {type: say, text: "x", bargein: false, next: w}
          w: {type: wait_beep, next: m}
          m: {type: say, text: "beep=${w$.beep} after ${w$.waited_ms}"}
        """
    )
    r.advance(500)
    r.beep_end()
    r.finish_prompt(after_ms=1000)
    assert r.spoken == ["x", "beep=true after 0"]


RECORD = """
start: rec
steps:
  rec: {type: record, prompt: "Speak after the beep.", next: saved}
  saved:
    type: result
    fields: {file: "${rec$.recording}", secs: "${rec$.duration_s}", key: "${rec$.termchar}"}
    next: bye
  bye: {type: say, text: "bye"}
"""


def test_record_plays_its_prompt_then_records_with_fuse_defaults(rehearse: Rehearse) -> None:
    r = rehearse(RECORD)
    assert r.plays[0].bargein is False
    assert r.of(a.Record) == []
    r.press("5")  # ignored: no barge-in on a record prompt
    assert r.playing
    r.finish_prompt(after_ms=2000)
    (record,) = r.of(a.Record)
    assert record == a.Record(record.record_id, True, 300, 3, "0123456789*#")
    r.advance(7000)
    r.end_recording(termchar="#", duration_s=6.5, recording="rec/1.wav")
    assert r.results == {"file": "rec/1.wav", "secs": "6.5", "key": "#"}
    assert r.interpreter.trace[0].outcome == "recorded 6.5 s"


def test_record_that_never_ends_fails_at_its_guard(rehearse: Rehearse) -> None:
    r = rehearse(
        "start: rec\nsteps:\n  rec: {type: record, max_s: 20, next: x}\n  x: {type: hangup}\n"
    )
    (record,) = r.of(a.Record)
    assert isinstance(record, a.Record)
    actions = r.advance(30_000)
    assert a.StopRecord(record.record_id) in actions
    assert r.ended is not None and r.ended.error
    assert r.ended.reason == "step 'rec': record: recording did not end"


def test_hanging_up_during_a_recording_keeps_it(rehearse: Rehearse) -> None:
    r = rehearse(RECORD)
    r.finish_prompt(after_ms=2000)
    r.advance(4000)
    (record,) = r.of(a.Record)
    assert isinstance(record, a.Record)
    actions = r.hang_up()
    assert actions == [a.StopRecord(record.record_id)]
    r.end_recording(duration_s=4.0, recording="rec/2.wav")
    assert r.results == {"file": "rec/2.wav", "secs": "4", "key": ""}
    assert r.steps == ["rec", "saved"]  # "bye" is not played to nobody
    assert r.ended == a.Ended("callee hung up", False, r.results)
    assert r.of(a.Hangup) == []


def test_set_and_result_steps(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: s
        steps:
          s: {type: set, vars: {who: "${name}!", n: 3, ok: true}, next: r1}
          r1: {type: result, fields: {greeted: "${who}", count: "${s$.n}"}, next: r2}
          r2: {type: result, fields: {flag: "${ok}", raw: 7}}
        """,
        {"name": "Al"},
    )
    assert r.of(a.SetResult) == [
        a.SetResult({"greeted": "Al!", "count": "3"}),
        a.SetResult({"flag": "true", "raw": 7}),
    ]
    assert r.results == {"greeted": "Al!", "count": "3", "flag": "true", "raw": 7}
    assert r.ended is not None and r.ended.results == r.results
    assert [t.outcome for t in r.interpreter.trace] == [
        "set who, n, ok",
        "fields greeted, count",
        "fields flag, raw",
    ]


def test_set_variable_shadows_a_call_parameter(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: s
        steps:
          s: {type: set, vars: {name: B}, next: t}
          t: {type: say, text: "${name}"}
        """,
        {"name": "A"},
    )
    assert r.spoken == ["B"]


def test_send_dtmf_goes_on_at_once(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: d
        steps:
          d: {type: send_dtmf, digits: "${ext}#", next: s}
          s: {type: say, text: x}
        """,
        {"ext": "12x3"},
    )
    assert r.of(a.SendDtmf) == [a.SendDtmf("123#")]
    assert r.of(a.Warn) == [a.Warn("d", "not sent as DTMF: 'x'")]
    assert r.steps == ["d", "s"]


def test_hangup_step_hangs_up_and_ends(rehearse: Rehearse) -> None:
    r = rehearse("start: h\nsteps:\n  h: {type: hangup}\n")
    assert r.actions == [a.Hangup("hangup step 'h'"), a.Ended("hangup step 'h'")]


def test_start_and_feed_misuse(make_flow: MakeFlow) -> None:
    flow = make_flow("start: h\nsteps:\n  h: {type: hangup}\n")
    interpreter = Interpreter(flow, {}, Session("c"))
    with pytest.raises(RuntimeError):
        interpreter.feed(Digit("1", at_ms=0))
    interpreter.start()
    with pytest.raises(RuntimeError):
        interpreter.start()
    assert interpreter.feed(Digit("1", at_ms=0)) == []  # ended: nothing more
