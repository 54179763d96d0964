"""Each step type run by the interpreter (menu and digits: test_flow_input.py)."""

from __future__ import annotations

import json

import pytest

from conftest import Rehearse, make_flow
from outdial.flow import actions as a
from outdial.flow.context import Session
from outdial.flow.events import Digit
from outdial.flow.interpreter import Interpreter


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


HTTP = """
start: h
steps:
  h:
    type: http
    url: "${base}/acct/${acct}?phone=${session.connection.remote}&n=${name}"
    headers: {Authorization: "Bearer ${token}"}
    body: {account: "${acct}", items: ["${name}", 2], deep: {x: "${session.id}"}}
    timeout_s: 4
    next: ok
    on_error: failed
  ok: {type: say, text: "due ${h$.json.due.amount} first ${h$.json.items.0} status ${h$.status}"}
  failed: {type: say, text: "failed ${h$.status}"}
"""
PARAMS = {"base": "https://api.example.com", "acct": "A 1", "name": "Jo & Co", "token": "t0k"}


def test_http_request_is_built_from_the_step(rehearse: Rehearse) -> None:
    r = rehearse(HTTP, PARAMS)
    (request,) = r.of(a.HttpRequest)
    assert isinstance(request, a.HttpRequest)
    assert request.method == "POST"
    assert request.url == "https://api.example.com/acct/A 1?phone=%2B16175550123&n=Jo%20%26%20Co"
    assert request.headers == {"Authorization": "Bearer t0k", "Content-Type": "application/json"}
    assert request.body is not None
    assert json.loads(request.body) == {
        "account": "A 1",
        "items": ["Jo & Co", 2],
        "deep": {"x": "call-1"},
    }
    assert request.timeout_s == 4
    assert a.StartTimer("timer-2", 6.0) in r.actions  # the interpreter's own guard


def test_http_reply_sets_status_json_and_text(rehearse: Rehearse) -> None:
    r = rehearse(HTTP, PARAMS)
    r.advance(120)
    r.reply_http(200, {"due": {"amount": 12.5}, "items": ["a", "b"]}, "{...}")
    assert r.spoken == ["due 12.5 first a status 200"]
    assert r.interpreter.trace[0].outcome == "status 200"
    assert r.interpreter.vars.steps["h"]["text"] == "{...}"


@pytest.mark.parametrize(
    ("status", "error", "outcome"),
    [(503, None, "error: status 503"), (None, "connection refused", "error: connection refused")],
)
def test_http_failure_goes_to_on_error(
    rehearse: Rehearse, status: int | None, error: str | None, outcome: str
) -> None:
    r = rehearse(HTTP, PARAMS)
    r.reply_http(status, error=error)
    assert r.spoken == [f"failed {status or ''}"]
    assert r.interpreter.trace[0].outcome == outcome


def test_http_timeout_without_on_error_ends_the_flow_naming_step_and_cause(
    rehearse: Rehearse,
) -> None:
    r = rehearse(
        """
        start: h
        steps:
          h: {type: http, url: "https://x.example/a", next: n}
          n: {type: hangup}
        """
    )
    (request,) = r.of(a.HttpRequest)
    assert isinstance(request, a.HttpRequest)
    assert (request.method, request.body, request.headers, request.timeout_s) == (
        "GET",
        None,
        {},
        5,
    )
    r.advance(6999)
    assert r.ended is None
    actions = r.advance(1)
    assert r.ended == a.Ended("step 'h': http timeout", True)
    assert actions[-2:] == [a.Hangup("step 'h': http timeout"), r.ended]
    r.reply_http(200)  # too late: ignored
    assert r.steps == ["h"]


def test_http_form_and_text_bodies(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: f
        steps:
          f:
            {type: http, method: PUT, url: "https://x.example/f", body: {a: "${v}", b: 1},
             encoding: form, next: t}
          t:
            {type: http, url: "https://x.example/t", body: "v=${v}",
             headers: {content-type: text/csv}}
        """,
        {"v": "x y"},
    )
    first = r.of(a.HttpRequest)[0]
    assert isinstance(first, a.HttpRequest)
    assert (first.method, first.body) == ("PUT", "a=x+y&b=1")
    assert first.headers == {"Content-Type": "application/x-www-form-urlencoded"}
    r.reply_http(204)
    second = r.of(a.HttpRequest)[1]
    assert isinstance(second, a.HttpRequest)
    assert (second.method, second.body, second.headers) == (
        "POST",
        "v=x y",
        {"content-type": "text/csv"},
    )


TRANSFER = """
start: t
steps:
  t:
    type: transfer
    to: "tel:${agent}"
    caller_id: "${session.connection.remote}"
    branches: {busy: busy}
    next: after
  busy: {type: say, text: "busy"}
  after: {type: say, text: "after ${t$.outcome} ${t$.duration_s}"}
"""


def test_transfer_defaults_and_branches(rehearse: Rehearse) -> None:
    r = rehearse(TRANSFER, {"agent": "+16175550100"})
    assert r.transfer == a.Transfer("tel:+16175550100", "+16175550123", 30, "bridge")
    r.end_transfer("busy")
    assert r.spoken == ["busy"]


def test_transfer_outcome_without_a_branch_takes_next(rehearse: Rehearse) -> None:
    r = rehearse(TRANSFER, {"agent": "+16175550100"})
    r.advance(60_000)
    r.end_transfer("completed", 58.5)
    assert r.spoken == ["after completed 58.5"]
    assert r.interpreter.trace[0].outcome == "completed"


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


NEXT_FLOW = """
start: second
steps:
  second: {type: say, text: "second flow, ${name}, ${code}"}
"""


def test_goto_continues_in_the_fetched_flow(rehearse: Rehearse) -> None:
    r = rehearse(
        """
        start: first
        steps:
          first: {type: http, url: "https://x.example/a", next: v}
          v: {type: set, vars: {code: "${first$.status}"}, next: r}
          r: {type: result, fields: {kept: "yes"}, next: g}
          g: {type: goto, url: "https://flows.example/next?c=${session.id}"}
        """,
        {"name": "Di"},
    )
    r.reply_http(201)
    assert r.fetches and next(iter(r.fetches.values())).url == "https://flows.example/next?c=call-1"
    r.advance(800)
    r.fetched(make_flow(NEXT_FLOW))
    assert r.spoken == ["second flow, Di, 201"]
    assert r.steps == ["first", "v", "r", "g", "second"]
    r.finish_prompt()
    assert r.ended is not None and r.ended.results == {"kept": "yes"}


def test_goto_failure_goes_to_on_error_or_ends(rehearse: Rehearse) -> None:
    text = """
        start: g
        steps:
          g: {type: goto, url: "https://x.example/f"%s}
          e: {type: say, text: err}
        """
    r = rehearse(text % ", on_error: e")
    r.fetched(None, "status 500")
    assert r.spoken == ["err"]
    r = rehearse(text % "")
    r.advance(10_000)
    assert r.ended == a.Ended("step 'g': goto: timeout", True)


def test_start_and_feed_misuse() -> None:
    flow = make_flow("start: h\nsteps:\n  h: {type: hangup}\n")
    interpreter = Interpreter(flow, {}, Session("c"))
    with pytest.raises(RuntimeError):
        interpreter.feed(Digit("1", at_ms=0))
    interpreter.start()
    with pytest.raises(RuntimeError):
        interpreter.start()
    assert interpreter.feed(Digit("1", at_ms=0)) == []  # ended: nothing more
