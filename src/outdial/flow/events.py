"""What the driver tells the interpreter. Every event carries ``at_ms``: milliseconds since
answer, from the driver's clock (the interpreter has none) — the trace is built from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

from outdial.calls import CalleeType
from outdial.flow.steps import JsonValue

if TYPE_CHECKING:
    from outdial.flow.document import Flow

TransferOutcome: TypeAlias = Literal["completed", "busy", "noanswer", "failed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Event:
    at_ms: int


@dataclass(frozen=True, slots=True)
class Verdict(_Event):
    """Detection decided (or, with ``revised``, changed its mind: a beep after ``voice``)."""

    callee_type: CalleeType
    revised: bool = False
    cause: str = ""


@dataclass(frozen=True, slots=True)
class BeepEnd(_Event):
    """The voicemail greeting is over: its beep ended (``beep``) or it fell silent without one."""

    beep: bool = True


@dataclass(frozen=True, slots=True)
class Digit(_Event):
    """The callee pressed a key (0-9 * # A-D)."""

    key: str


@dataclass(frozen=True, slots=True)
class SpeechStarted(_Event):
    """The callee started to speak while a menu listened (:class:`~outdial.flow.actions.Listen`
    ``listen_id``); its :class:`Speech` follows when the utterance is over and recognised."""

    listen_id: str = ""


@dataclass(frozen=True, slots=True)
class Speech(_Event):
    """The callee said something. ``key`` is the menu key it stands for when the recogniser
    matched one (None: no match); ``listen_id`` the :class:`~outdial.flow.actions.Listen` that
    heard it. Speech from elsewhere (``listen_id`` "", a rehearsal) is taken by any menu with
    ``speech``, and without a ``key`` the menu matches ``text`` against its phrases itself."""

    text: str
    key: str | None = None
    confidence: float = 1.0
    listen_id: str = ""


@dataclass(frozen=True, slots=True)
class PromptFinished(_Event):
    play_id: str


@dataclass(frozen=True, slots=True)
class PlayFailed(_Event):
    """A prompt could not be played (TTS failed, audio file missing)."""

    play_id: str
    error: str


@dataclass(frozen=True, slots=True)
class TimerFired(_Event):
    timer_id: str


@dataclass(frozen=True, slots=True)
class HttpReply(_Event):
    """The reply to an :class:`~outdial.flow.actions.HttpRequest`; ``error`` is set instead of a
    status when there was none (timeout, refused, bad URL)."""

    request_id: str
    status: int | None = None
    json: JsonValue = None
    text: str = ""
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TransferEnded(_Event):
    outcome: TransferOutcome
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class RecordingEnded(_Event):
    """A recording stopped; ``termchar`` is the key that ended it ("" for silence, time, or
    hang-up), ``recording`` where the driver stored it."""

    record_id: str
    termchar: str = ""
    duration_s: float = 0.0
    recording: str = ""


@dataclass(frozen=True, slots=True)
class HangUp(_Event):
    """The callee hung up."""


@dataclass(frozen=True, slots=True)
class FlowFetched(_Event):
    """The reply to :class:`~outdial.flow.actions.FetchFlow`: a validated flow, or ``error``."""

    request_id: str
    flow: Flow | None = None
    error: str | None = None


Event: TypeAlias = (
    Verdict
    | BeepEnd
    | Digit
    | SpeechStarted
    | Speech
    | PromptFinished
    | PlayFailed
    | TimerFired
    | HttpReply
    | TransferEnded
    | RecordingEnded
    | HangUp
    | FlowFetched
)
