"""The flow interpreter: fed events, it returns actions. No clock, no I/O, no asyncio.

The driver (one per call) calls :meth:`Interpreter.start` at answer and :meth:`Interpreter.feed`
with each event, and carries out the actions in order. Every wait has a way out: a timer the
interpreter asked for, or an answer the driver owes (a prompt finished, a transfer ended).

Interruptions (``on``): a verdict of ``answeringmachine`` or ``fax`` — the first or a revised
one — leaves whatever step is running for the step named by that step's ``on`` or the flow's,
once per kind of event. A ``detect`` step waiting for the verdict takes it itself (its
``branches`` decide), and a ``transfer`` in progress is not interrupted. When the callee hangs
up, the flow goes to ``on.hangup`` if there is one, else it ends; an ``http`` step under way
finishes first, and a recording is stopped and kept. After a hang-up only ``result``, ``set``,
``branch`` and ``http`` steps run: reaching any other step goes to ``on.hangup`` (if not taken
yet) or ends the flow.
"""

from __future__ import annotations

from collections.abc import Mapping

from outdial.flow import actions as a
from outdial.flow import events as e
from outdial.flow import steps as s
from outdial.flow.collect import DigitsRunner, MenuRunner
from outdial.flow.context import Context, Done, Session, TraceEntry
from outdial.flow.document import Flow
from outdial.flow.immediate import (
    BranchRunner,
    HangupRunner,
    ResultRunner,
    SendDtmfRunner,
    SetRunner,
)
from outdial.flow.remote import GotoRunner, HttpRunner, TransferRunner
from outdial.flow.runners import (
    DetectRunner,
    PauseRunner,
    RecordRunner,
    Runner,
    SayRunner,
    WaitBeepRunner,
)
from outdial.flow.steps import Scalar
from outdial.flow.variables import PROCESSING, Variables

MAX_STEPS_WITHOUT_WAIT = 1000  # more steps than this between two events is a loop
MAX_CALL_TIMER = "max-call"
INTERRUPTING = ("answeringmachine", "fax")

_RUNNERS: dict[s.StepType, type[Runner]] = {
    s.StepType.SAY: SayRunner,
    s.StepType.PAUSE: PauseRunner,
    s.StepType.DETECT: DetectRunner,
    s.StepType.WAIT_BEEP: WaitBeepRunner,
    s.StepType.MENU: MenuRunner,
    s.StepType.DIGITS: DigitsRunner,
    s.StepType.RECORD: RecordRunner,
    s.StepType.BRANCH: BranchRunner,
    s.StepType.SET: SetRunner,
    s.StepType.RESULT: ResultRunner,
    s.StepType.HTTP: HttpRunner,
    s.StepType.TRANSFER: TransferRunner,
    s.StepType.SEND_DTMF: SendDtmfRunner,
    s.StepType.GOTO: GotoRunner,
    s.StepType.HANGUP: HangupRunner,
}


class Interpreter:
    """Runs one flow for one answered call.

    ``trace`` lists the steps run (the last one open while it runs), ``results`` what the
    result steps stored, ``ended`` the final :class:`~outdial.flow.actions.Ended` once over.
    """

    def __init__(self, flow: Flow, params: Mapping[str, str], session: Session) -> None:
        self.flow = flow
        self.session = session
        self.vars = Variables(params=dict(params))
        self.vars.session.update(
            {
                "session.id": session.id,
                "session.attempt": str(session.attempt),
                "session.connection.remote": session.remote,
                "session.connection.local": session.local,
                "session.connection.callee_type": PROCESSING,
            }
        )
        self.ctx = Context(flow, self.vars)
        self.trace: list[TraceEntry] = []
        self.ended: a.Ended | None = None
        self._runner: Runner | None = None
        self._taken: set[str] = set()  # interrupting events already handled
        self._started = False
        self._max_call = False  # the max-call timer runs
        self._max_call_s = flow.settings.max_call_s  # the first flow's (a goto keeps it)
        self._budget = MAX_STEPS_WITHOUT_WAIT

    @property
    def results(self) -> dict[str, Scalar]:
        return self.ctx.results

    @property
    def callee_type(self) -> str:
        """``session.connection.callee_type``: ``processing`` until the first verdict."""
        return self.ctx.callee_type

    @property
    def current_step(self) -> str | None:
        return self._runner.step.id if self._runner is not None else None

    def start(self, at_ms: int = 0) -> list[a.Action]:
        """Start at the flow's ``start`` step; ``at_ms`` from answer (after post-dial digits)."""
        if self._started:
            raise RuntimeError("the flow has already started")
        self._started = True
        self._begin(at_ms)
        if self._max_call_s is not None:
            self._max_call = True
            self.ctx.emit(a.StartTimer(MAX_CALL_TIMER, self._max_call_s))
        self._run(self.flow.start)
        return self._flush()

    def feed(self, event: e.Event) -> list[a.Action]:
        """Take one event; the actions it leads to, in order."""
        if not self._started:
            raise RuntimeError("start() the flow before feeding it events")
        if self.ended is not None:
            return []
        self._begin(event.at_ms)
        ctx, runner = self.ctx, self._runner
        if isinstance(event, e.TimerFired) and event.timer_id == MAX_CALL_TIMER:
            self._max_call = False
            self._leave("max call time")
            self._end(f"settings.max_call_s ({self._max_call_s} s) reached")
        elif isinstance(event, e.Verdict):
            self._verdict(event)
        elif isinstance(event, e.HangUp):
            self._hangup()
        elif isinstance(event, e.Digit | e.Speech | e.SpeechStarted) and not (
            runner and runner.wants_keys
        ):
            if isinstance(event, e.Digit):
                ctx.keys.append(event.key)  # type-ahead for the next input step
        else:
            if isinstance(event, e.BeepEnd):
                ctx.beep, ctx.beep_ms = event.beep, event.at_ms
            self._pass(event)
        return self._flush()

    # internals ------------------------------------------------------------------------------

    def _begin(self, at_ms: int) -> None:
        self.ctx.out = []
        self.ctx.now_ms = at_ms
        self._budget = MAX_STEPS_WITHOUT_WAIT

    def _flush(self) -> list[a.Action]:
        out, self.ctx.out = self.ctx.out, []
        return out

    def _pass(self, event: e.Event) -> None:
        if self._runner is not None:
            done = self._runner.feed(self.ctx, event)
            if done is not None:
                self._complete(done)

    def _verdict(self, event: e.Verdict) -> None:
        ctx, kind = self.ctx, str(event.callee_type)
        ctx.callee_type = kind
        self.vars.session["session.connection.callee_type"] = kind
        if ctx.decided_ms is None:
            ctx.decided_ms = event.at_ms
        runner = self._runner
        if isinstance(runner, DetectRunner):
            if kind in INTERRUPTING:
                self._taken.add(kind)  # the detect step's branches handle it
            self._pass(event)
        elif kind in INTERRUPTING and kind not in self._taken and ctx.line_up:
            target = self._handler(kind)
            if target is None or (runner is not None and not runner.interruptible):
                return
            self._taken.add(kind)
            if runner is not None and runner.step.id == target:
                return  # already there
            self._leave(f"interrupted: {kind}")
            ctx.keys.clear()
            self._run(target)

    def _hangup(self) -> None:
        ctx, runner = self.ctx, self._runner
        ctx.line_up = False
        if runner is not None and runner.keep_after_hangup(ctx):
            return
        target = self._handler("hangup")  # the running step's own on: first
        self._leave("hangup")
        if target is not None and "hangup" not in self._taken:
            self._taken.add("hangup")
            self._run(target)
        else:
            self._end("callee hung up")

    def _handler(self, kind: str, step: s.AnyStep | None = None) -> str | None:
        """Where an interrupting event goes: the step's own ``on``, else the flow's."""
        if step is None and self._runner is not None:
            step = self._runner.step
        if step is not None and kind in step.on:
            return step.on[kind]
        return self.flow.on.get(kind)

    def _leave(self, outcome: str) -> None:
        """Stop the running step (interrupted) and close its trace entry."""
        if self._runner is not None:
            self._runner.cancel(self.ctx)
            self._close(outcome)
            self._runner = None

    def _close(self, outcome: str) -> None:
        if self.trace and self.trace[-1].end_ms is None:
            last = self.trace[-1]
            self.trace[-1] = TraceEntry(
                last.step, last.type, last.start_ms, self.ctx.now_ms, outcome
            )

    def _complete(self, done: Done) -> None:
        target = self._finish(done)
        if self.ended is None:
            self._run(target)

    def _finish(self, done: Done) -> str | None:
        """Record a finished step; the step to run next (None: the flow ended or ends)."""
        runner = self._runner
        assert runner is not None
        step = runner.step
        self._runner = None
        private = step.private and done.redacted is not None
        self._close(done.redacted if private and done.redacted else done.outcome)
        if done.values is not None:
            self.vars.steps[step.id] = done.values
        if done.flow is not None:
            self.flow = self.ctx.flow = done.flow
        if done.end is not None:
            self._end(done.end, error=done.error)
            return None
        if done.target is None:
            self._end(f"flow ended at step '{step.id}'")
        return done.target

    def _run(self, target: str | None) -> None:
        """Run steps from ``target`` until one waits or the flow ends."""
        ctx = self.ctx
        while target is not None and self.ended is None:
            self._budget -= 1
            if self._budget < 0:
                self._end(
                    f"step '{target}': more than {MAX_STEPS_WITHOUT_WAIT} steps ran without "
                    "waiting for the callee (a loop?)",
                    error=True,
                )
                return
            step = self.flow.steps.get(target)
            if step is None:
                self._end(f"step '{target}' does not exist", error=True)
                return
            if not ctx.line_up and step.type not in s.LINE_FREE:
                handler = self._handler("hangup", step)
                if handler is not None and "hangup" not in self._taken:
                    self._taken.add("hangup")
                    target = handler
                    continue
                self._end("callee hung up")
                return
            self.trace.append(TraceEntry(step.id, str(step.type), ctx.now_ms))
            ctx.step_id = step.id
            runner = _RUNNERS[step.type](step)
            self._runner = runner
            done = runner.begin(ctx)
            if done is None:
                return
            target = self._finish(done)

    def _end(self, reason: str, *, error: bool = False) -> None:
        ctx = self.ctx
        if self._runner is not None:
            self._leave("ended")
        if self._max_call:
            ctx.emit(a.CancelTimer(MAX_CALL_TIMER))
            self._max_call = False
        if ctx.line_up:
            ctx.emit(a.Hangup(reason))
        self.ended = a.Ended(reason, error, dict(ctx.results))
        ctx.emit(self.ended)
