"""How each step runs: a runner per step, started by ``begin`` and fed the events meant for it.

``begin`` and ``feed`` return :class:`~outdial.flow.context.Done` when the step is over, or None
while it waits. Here: the base class and the steps that play or wait on the call's audio (say,
pause, detect, wait_beep, record). Menu and digits are in :mod:`outdial.flow.collect`, http,
transfer and goto in :mod:`outdial.flow.remote`, the steps that finish at once in
:mod:`outdial.flow.immediate`.
"""

from __future__ import annotations

from typing import ClassVar

from outdial.flow import actions as a
from outdial.flow import events as e
from outdial.flow import steps as s
from outdial.flow.context import Context, Done, Playing
from outdial.flow.steps import JsonValue
from outdial.flow.variables import format_value

RECORD_GRACE_S = 10.0  # seconds past max_s before a recording that never ended has failed


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
