"""Steps that wait on the world outside the call's audio: an HTTP request, a transfer to
another number, fetching the next flow (goto)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from outdial.flow import actions as a
from outdial.flow import events as e
from outdial.flow import steps as s
from outdial.flow.context import Context, Done
from outdial.flow.runners import Runner
from outdial.flow.steps import JsonValue
from outdial.flow.variables import format_value

HTTP_GRACE_S = 2.0  # seconds past an http step's timeout before the interpreter gives up
GOTO_TIMEOUT_S = 10.0  # seconds to fetch a goto's flow


class HttpRunner(Runner):
    step: s.HttpStep

    def begin(self, ctx: Context) -> Done | None:
        st = self.step
        headers = {k: ctx.text(v) for k, v in st.headers.items()}
        body: str | None = None
        if isinstance(st.body, str):
            body = ctx.text(st.body)
            _default_header(headers, "text/plain; charset=utf-8")
        elif st.body is not None:
            value = ctx.value(st.body)
            if st.encoding == "form" and isinstance(value, dict):
                body = urlencode({k: format_value(v) for k, v in value.items()})
                _default_header(headers, "application/x-www-form-urlencoded")
            else:
                body = json.dumps(value)
                _default_header(headers, "application/json")
        method = st.method or ("POST" if body is not None else "GET")
        self.request_id = ctx.new_id("http")
        url = ctx.url(st.url)
        ctx.emit(a.HttpRequest(self.request_id, method, url, headers, body, st.timeout_s))
        self.guard: str | None = ctx.start_timer(st.timeout_s + HTTP_GRACE_S)
        return None

    def feed(self, ctx: Context, event: e.Event) -> Done | None:
        if isinstance(event, e.HttpReply) and event.request_id == self.request_id:
            ctx.cancel_timer(self.guard)
            values: dict[str, JsonValue] = {
                "status": event.status,
                "json": event.json,
                "text": event.text,
            }
            if event.error is not None or event.status is None:
                cause = event.error or "no status"
                return self.fail(cause, self.step.on_error, "http", values=values)
            if event.status >= 400:
                cause = f"status {event.status}"
                return self.fail(cause, self.step.on_error, "http", values=values)
            return Done(self.step.next, f"status {event.status}", values)
        if isinstance(event, e.TimerFired) and event.timer_id == self.guard:
            return self.fail("timeout", self.step.on_error, "http")
        return None

    def keep_after_hangup(self, ctx: Context) -> bool:
        return True

    def cancel(self, ctx: Context) -> None:
        ctx.cancel_timer(self.guard)


def _default_header(headers: dict[str, str], content_type: str) -> None:
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = content_type


class TransferRunner(Runner):
    """Waits for TransferEnded with no timer of its own: a bridged call may last; the driver
    applies ``timeout_s`` to the ringing, and ``settings.max_call_s`` bounds the whole call."""

    interruptible = False  # the callee is talking to an agent: detection no longer applies
    step: s.TransferStep

    def begin(self, ctx: Context) -> Done | None:
        st = self.step
        caller_id = ctx.text(st.caller_id) if st.caller_id is not None else None
        ctx.emit(a.Transfer(ctx.text(st.to), caller_id, st.timeout_s, st.mode))
        return None

    def feed(self, ctx: Context, event: e.Event) -> Done | None:
        if isinstance(event, e.TransferEnded):
            values: dict[str, JsonValue] = {
                "outcome": event.outcome,
                "duration_s": event.duration_s,
            }
            target = self.step.branches.get(event.outcome, self.step.next)
            return Done(target, event.outcome, values)
        return None


class GotoRunner(Runner):
    step: s.GotoStep

    def begin(self, ctx: Context) -> Done | None:
        self.request_id = ctx.new_id("fetch")
        ctx.emit(a.FetchFlow(self.request_id, ctx.url(self.step.url)))
        self.guard: str | None = ctx.start_timer(GOTO_TIMEOUT_S)
        return None

    def feed(self, ctx: Context, event: e.Event) -> Done | None:
        if isinstance(event, e.FlowFetched) and event.request_id == self.request_id:
            ctx.cancel_timer(self.guard)
            if event.flow is None:
                return self.fail(event.error or "no flow", self.step.on_error, "goto:")
            return Done(event.flow.start, "fetched", flow=event.flow)
        if isinstance(event, e.TimerFired) and event.timer_id == self.guard:
            return self.fail("timeout", self.step.on_error, "goto:")
        return None

    def cancel(self, ctx: Context) -> None:
        ctx.cancel_timer(self.guard)
