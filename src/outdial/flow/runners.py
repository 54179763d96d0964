"""How each step runs: a runner per step, started by ``begin`` and fed the events meant for it.

``begin`` and ``feed`` return :class:`~outdial.flow.context.Done` when the step is over, or None
while it waits. Menu and digits are in :mod:`outdial.flow.collect`, branch conditions in
:mod:`outdial.flow.conditions`.
"""

from __future__ import annotations

import json
from typing import ClassVar
from urllib.parse import urlencode

from outdial.flow import actions as a
from outdial.flow import events as e
from outdial.flow import steps as s
from outdial.flow.conditions import choose
from outdial.flow.context import Context, Done, Playing
from outdial.flow.steps import JsonValue, Scalar
from outdial.flow.variables import format_value

HTTP_GRACE_S = 2.0  # seconds past an http step's timeout before the interpreter gives up
RECORD_GRACE_S = 10.0  # seconds past max_s before a recording that never ended has failed
GOTO_TIMEOUT_S = 10.0  # seconds to fetch a goto's flow
_SENDABLE = set("0123456789*#ABCDabcd,")


class Runner:
    """A step that runs. Subclasses override what they need."""

    wants_keys: ClassVar[bool] = False  # Digit/Speech go to the runner, not the key buffer
    interruptible: ClassVar[bool] = True  # verdict interrupts (on:) may leave this step

    def __init__(self, step: s.AnyStep) -> None:
        self.step = step

    def begin(self, ctx: Context) -> Done | None:
        raise NotImplementedError

    def feed(self, ctx: Context, event: e.Event) -> Done | None:
        return None

    def cancel(self, ctx: Context) -> None:
        """Interrupted: stop whatever the step started."""

    def keep_after_hangup(self, ctx: Context) -> bool:
        """The callee hung up: True when the step goes on (it needs no line)."""
        return False

    def fail(
        self,
        cause: str,
        on_error: str | None,
        what: str,
        values: dict[str, JsonValue] | None = None,
    ) -> Done:
        """Go to ``on_error``, or end the flow with a reason naming the step and the cause."""
        if on_error is not None:
            return Done(on_error, f"error: {cause}", values)
        end = f"step '{self.step.id}': {what} {cause}"
        return Done(None, f"error: {cause}", values, end=end, error=True)


class Prompting(Runner):
    """A step that may play a prompt, with barge-in and failure handling shared."""

    playing: Playing | None = None

    def on_error(self) -> str | None:
        return getattr(self.step, "on_error", None)

    def prompt_event(self, ctx: Context, event: e.Event) -> Done | bool | None:
        """Handle the prompt's own events: True when it finished, a Done when it failed,
        None when the event was not about the prompt."""
        p = self.playing
        if p is None:
            return None
        if isinstance(event, e.PromptFinished) and event.play_id == p.play_id:
            ctx.played(p)
            self.playing = None
            return True
        if isinstance(event, e.PlayFailed) and event.play_id == p.play_id:
            ctx.played(p)
            self.playing = None
            return self.fail(event.error, self.on_error(), "prompt failed:")
        if isinstance(event, e.TimerFired) and event.timer_id == p.guard_id:
            ctx.stop(p)
            self.playing = None
            return self.fail("prompt did not finish", self.on_error(), "prompt failed:")
        return None

    def cancel(self, ctx: Context) -> None:
        if self.playing is not None:
            ctx.stop(self.playing)
            self.playing = None


class SayRunner(Prompting):
    wants_keys = True
    step: s.SayStep

    def begin(self, ctx: Context) -> Done | None:
        self.playing = ctx.play(self.step.prompt, bargein=self.step.bargein)
        return None

    def feed(self, ctx: Context, event: e.Event) -> Done | None:
        handled = self.prompt_event(ctx, event)
        if handled is True:
            return Done(self.step.next, "played")
        if isinstance(handled, Done):
            return handled
        if isinstance(event, e.Digit) and self.step.bargein and self.playing is not None:
            ctx.stop(self.playing)
            self.playing = None
            ctx.keys.append(event.key)
            return Done(self.step.next, f"barge-in: key {event.key}", redacted="barge-in")
        return None  # keys during a prompt without barge-in are ignored


class PauseRunner(Runner):
    step: s.PauseStep

    def begin(self, ctx: Context) -> Done | None:
        self.timer = ctx.start_timer(self.step.seconds)
        return None

    def feed(self, ctx: Context, event: e.Event) -> Done | None:
        if isinstance(event, e.TimerFired) and event.timer_id == self.timer:
            return Done(self.step.next, "done")
        return None

    def cancel(self, ctx: Context) -> None:
        ctx.cancel_timer(self.timer)


class DetectRunner(Runner):
    step: s.DetectStep
    timer: str | None = None

    def begin(self, ctx: Context) -> Done | None:
        if ctx.decided_ms is not None:
            return self._decided(ctx.callee_type, ctx.decided_ms)
        self.timer = ctx.start_timer(self.step.timeout_s)
        return None

    def _decided(self, callee_type: str, at_ms: int | None) -> Done:
        target = self.step.branches.get(callee_type, self.step.default)
        values: dict[str, JsonValue] = {"callee_type": callee_type, "decided_ms": at_ms}
        return Done(target, callee_type, values)

    def feed(self, ctx: Context, event: e.Event) -> Done | None:
        if isinstance(event, e.Verdict):
            ctx.cancel_timer(self.timer)
            return self._decided(str(event.callee_type), event.at_ms)
        if isinstance(event, e.TimerFired) and event.timer_id == self.timer:
            values: dict[str, JsonValue] = {"callee_type": "unknown", "decided_ms": None}
            return Done(self.step.default, "timeout", values)
        return None

    def cancel(self, ctx: Context) -> None:
        ctx.cancel_timer(self.timer)


class WaitBeepRunner(Runner):
    step: s.WaitBeepStep
    timer: str | None = None

    def begin(self, ctx: Context) -> Done | None:
        self.start_ms = ctx.now_ms
        if ctx.beep is not None:
            return self._ended(ctx.beep, 0)
        self.timer = ctx.start_timer(self.step.timeout_s)
        return None

    def _ended(self, beep: bool, waited_ms: int) -> Done:
        values: dict[str, JsonValue] = {"beep": beep, "waited_ms": waited_ms}
        return Done(self.step.next, "beep" if beep else "silence", values)

    def feed(self, ctx: Context, event: e.Event) -> Done | None:
        if isinstance(event, e.BeepEnd):
            ctx.cancel_timer(self.timer)
            return self._ended(event.beep, event.at_ms - self.start_ms)
        if isinstance(event, e.TimerFired) and event.timer_id == self.timer:
            values: dict[str, JsonValue] = {"beep": False, "waited_ms": event.at_ms - self.start_ms}
            return Done(self.step.next, "timeout", values)
        return None

    def cancel(self, ctx: Context) -> None:
        ctx.cancel_timer(self.timer)


class RecordRunner(Prompting):
    wants_keys = True  # keys end a recording at the driver; the flow ignores them
    step: s.RecordStep
    record_id: str | None = None
    guard: str | None = None

    def begin(self, ctx: Context) -> Done | None:
        if self.step.prompt is not None:
            self.playing = ctx.play(self.step.prompt, bargein=False)
            return None
        self._record(ctx)
        return None

    def _record(self, ctx: Context) -> None:
        st = self.step
        self.record_id = ctx.new_id("rec")
        ctx.emit(a.Record(self.record_id, st.beep, st.max_s, st.final_silence_s, st.finish_on_key))
        self.guard = ctx.start_timer(st.max_s + RECORD_GRACE_S)

    def feed(self, ctx: Context, event: e.Event) -> Done | None:
        handled = self.prompt_event(ctx, event)
        if handled is True:
            self._record(ctx)
            return None
        if isinstance(handled, Done):
            return handled
        if isinstance(event, e.RecordingEnded) and event.record_id == self.record_id:
            ctx.cancel_timer(self.guard)
            values: dict[str, JsonValue] = {
                "termchar": event.termchar,
                "duration_s": event.duration_s,
                "recording": event.recording,
            }
            outcome = f"recorded {format_value(event.duration_s)} s"
            return Done(self.step.next, outcome, values, redacted="recorded")
        if isinstance(event, e.TimerFired) and event.timer_id == self.guard and self.record_id:
            ctx.emit(a.StopRecord(self.record_id))
            return self.fail("recording did not end", self.step.on_error, "record:")
        return None

    def keep_after_hangup(self, ctx: Context) -> bool:
        if self.record_id is None:
            return False
        ctx.emit(a.StopRecord(self.record_id))  # hanging up ends a recording; keep it
        return True

    def cancel(self, ctx: Context) -> None:
        super().cancel(ctx)
        if self.record_id is not None and ctx.line_up:
            ctx.emit(a.StopRecord(self.record_id))
        ctx.cancel_timer(self.guard)


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


class BranchRunner(Runner):
    step: s.BranchStep

    def begin(self, ctx: Context) -> Done | None:
        index = choose(self.step.cases, ctx)
        if index is None:
            return Done(self.step.default, "default")
        return Done(self.step.cases[index].next, f"case {index}")


class SetRunner(Runner):
    step: s.SetStep

    def begin(self, ctx: Context) -> Done | None:
        values: dict[str, JsonValue] = {}
        for name, value in self.step.vars.items():
            values[name] = ctx.text(value) if isinstance(value, str) else value
        ctx.vars.names.update(values)
        return Done(self.step.next, "set " + ", ".join(values), values)


class ResultRunner(Runner):
    step: s.ResultStep

    def begin(self, ctx: Context) -> Done | None:
        fields: dict[str, Scalar] = {}
        for name, value in self.step.fields.items():
            fields[name] = ctx.text(value) if isinstance(value, str) else value
        ctx.results.update(fields)
        ctx.emit(a.SetResult(fields))
        return Done(self.step.next, "fields " + ", ".join(fields))


class SendDtmfRunner(Runner):
    step: s.SendDtmfStep

    def begin(self, ctx: Context) -> Done | None:
        digits = ctx.text(self.step.digits)
        bad = sorted(set(digits) - _SENDABLE)
        if bad:
            ctx.warn([f"not sent as DTMF: {''.join(bad)!r}"])
            digits = "".join(d for d in digits if d in _SENDABLE)
        if digits:
            ctx.emit(a.SendDtmf(digits))
        return Done(self.step.next, f"sent {digits}", redacted="sent")


class HangupRunner(Runner):
    def begin(self, ctx: Context) -> Done | None:
        return Done(None, "hangup", end=f"hangup step '{self.step.id}'")
