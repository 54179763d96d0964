"""What the interpreter's step runners share: the call's state, ids, and the actions to send.

Nothing here has a clock or does I/O; times come from the events (``at_ms``).
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from outdial.flow import actions as a
from outdial.flow.steps import JsonValue, Prompt, Scalar
from outdial.flow.variables import PROCESSING, Variables

if TYPE_CHECKING:
    from outdial.flow.document import Flow

PROMPT_GUARD_S = 300.0  # seconds: a prompt not reported finished by then has failed
KEY_BUFFER = 64  # keys kept for the next input step (type-ahead)


@dataclass(frozen=True, slots=True)
class Session:
    """The call as ``${session.…}`` shows it."""

    id: str
    attempt: int = 1
    remote: str = ""  # the number called
    local: str = ""  # the caller ID


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One step as it ran: times in ms from answer; ``end_ms`` is None while it runs."""

    step: str
    type: str
    start_ms: int
    end_ms: int | None = None
    outcome: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "type": self.type,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "outcome": self.outcome,
        }


@dataclass(frozen=True, slots=True)
class Done:
    """A step finished. ``target``: the next step (None: the flow ends, with ``end`` as reason
    when that is not a plain end of the flow). ``redacted`` replaces ``outcome`` in the trace
    of a private step."""

    target: str | None
    outcome: str
    values: dict[str, JsonValue] | None = None
    end: str | None = None
    error: bool = False
    redacted: str | None = None
    flow: Flow | None = None  # goto: continue in this flow


@dataclass(frozen=True, slots=True)
class Playing:
    """A prompt being played and the guard timer that fails it if it never finishes."""

    play_id: str
    guard_id: str


@dataclass
class Context:
    """The state runners read and change. ``out`` collects the actions of one ``feed``."""

    flow: Flow
    vars: Variables
    out: list[a.Action] = field(default_factory=list)
    step_id: str = ""
    keys: deque[str] = field(default_factory=lambda: deque(maxlen=KEY_BUFFER))
    callee_type: str = PROCESSING
    decided_ms: int | None = None  # when the first verdict came
    beep: bool | None = None  # set once the greeting ended (BeepEnd): was there a beep
    beep_ms: int | None = None
    line_up: bool = True
    now_ms: int = 0
    results: dict[str, Scalar] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def emit(self, *actions: a.Action) -> None:
        self.out.extend(actions)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def warn(self, messages: list[str]) -> None:
        self.out.extend(a.Warn(self.step_id, m) for m in messages)

    # substitution, with warnings sent as Warn actions

    def text(self, template: str) -> str:
        text, warnings = self.vars.text(template)
        self.warn(warnings)
        return text

    def url(self, template: str) -> str:
        url, warnings = self.vars.url(template)
        self.warn(warnings)
        return url

    def value(self, value: JsonValue) -> JsonValue:
        out, warnings = self.vars.value(value)
        self.warn(warnings)
        return out

    # timers and prompts

    def start_timer(self, seconds: float) -> str:
        timer_id = self.new_id("timer")
        self.emit(a.StartTimer(timer_id, seconds))
        return timer_id

    def cancel_timer(self, timer_id: str | None) -> None:
        if timer_id is not None:
            self.emit(a.CancelTimer(timer_id))

    def play(self, prompt: Prompt, *, bargein: bool) -> Playing:
        text = self.text(prompt.text) if prompt.text is not None else None
        playing = Playing(self.new_id("play"), self.new_id("timer"))
        voice = prompt.voice or self.flow.voice
        self.emit(a.Play(playing.play_id, text, prompt.audio, voice, bargein))
        self.emit(a.StartTimer(playing.guard_id, PROMPT_GUARD_S))
        return playing

    def played(self, playing: Playing) -> None:
        """The prompt finished or failed: drop its guard."""
        self.emit(a.CancelTimer(playing.guard_id))

    def stop(self, playing: Playing) -> None:
        """Stop a prompt (barge-in, interruption); nothing is sent to a line that is down."""
        if self.line_up:
            self.emit(a.StopPlay(playing.play_id))
        self.emit(a.CancelTimer(playing.guard_id))
