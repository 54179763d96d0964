"""What the interpreter asks the driver to do. Ids (``play_id``, ``timer_id``, …) are made by
the interpreter and come back in the events that answer them; an answer to an id the
interpreter no longer waits for is ignored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from outdial.flow.steps import Scalar


@dataclass(frozen=True, slots=True)
class Play:
    """Play text to speech (``text``, in ``voice``) or an application's ``audio`` file. Answered
    by PromptFinished or PlayFailed. ``bargein``: keys stop it (the interpreter sends StopPlay)."""

    play_id: str
    text: str | None
    audio: str | None
    voice: str
    bargein: bool


@dataclass(frozen=True, slots=True)
class StopPlay:
    play_id: str


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Send TimerFired(timer_id) after ``seconds`` unless cancelled."""

    timer_id: str
    seconds: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    timer_id: str


@dataclass(frozen=True, slots=True)
class SendDtmf:
    """Send keys to the callee (``,`` is a half-second pause)."""

    digits: str


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """Make the request and answer with HttpReply. ``body`` is already encoded, and
    ``headers`` then hold its Content-Type."""

    request_id: str
    method: str
    url: str
    headers: Mapping[str, str]
    body: str | None
    timeout_s: float


@dataclass(frozen=True, slots=True)
class Transfer:
    """Connect the callee to ``to``; answer with TransferEnded when it is over."""

    to: str
    caller_id: str | None
    timeout_s: float
    mode: str


@dataclass(frozen=True, slots=True)
class Record:
    """Record the callee; answer with RecordingEnded. ``finish_on_key``: keys that end it."""

    record_id: str
    beep: bool
    max_s: float
    final_silence_s: float
    finish_on_key: str


@dataclass(frozen=True, slots=True)
class StopRecord:
    record_id: str


@dataclass(frozen=True, slots=True)
class Listen:
    """Listen for the callee's spoken answer (a menu with ``speech``): answer each utterance
    with SpeechStarted when it starts and Speech (recognised against ``phrases``, phrase → key)
    when it is over, both carrying ``listen_id``, until StopListen."""

    listen_id: str
    phrases: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class StopListen:
    listen_id: str


@dataclass(frozen=True, slots=True)
class SetResult:
    """A result step ran: store ``fields`` in ``call_details.results`` now (merged into what
    earlier result steps stored)."""

    fields: Mapping[str, Scalar]


@dataclass(frozen=True, slots=True)
class FetchFlow:
    """Fetch a flow from ``url`` (the goto step); answer with FlowFetched."""

    request_id: str
    url: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """Hang up the call."""

    reason: str


@dataclass(frozen=True, slots=True)
class Warn:
    """Something the driver should log with the call (an unknown variable at run time)."""

    step: str
    message: str


@dataclass(frozen=True, slots=True)
class Ended:
    """The flow is over; nothing more will be asked. ``error`` when it ended on a failure.
    A flow that ends while the callee is still there is preceded by :class:`Hangup`."""

    reason: str
    error: bool = False
    results: Mapping[str, Scalar] = field(default_factory=dict)


Action: TypeAlias = (
    Play
    | StopPlay
    | StartTimer
    | CancelTimer
    | SendDtmf
    | HttpRequest
    | Transfer
    | Record
    | StopRecord
    | Listen
    | StopListen
    | SetResult
    | FetchFlow
    | Hangup
    | Warn
    | Ended
)
