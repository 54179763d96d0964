"""The steps that wait on the outside world: http, transfer, goto."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from outdial.flow import actions as a
from outdial.flow.document import Flow
from outdial.flow.rehearsal import Rehearsal

Rehearse = Callable[..., Rehearsal]
MakeFlow = Callable[[str], Flow]

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


NEXT_FLOW = """
start: second
steps:
  second: {type: say, text: "second flow, ${name}, ${code}"}
"""


def test_goto_continues_in_the_fetched_flow(rehearse: Rehearse, make_flow: MakeFlow) -> None:
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
