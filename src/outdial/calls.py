"""The call model: statuses, callee types, events and the state machine (SPEC §2).

Everything that decides which status a call may move to lives here, so the
store, the API and (later) the dialer all follow one written-out table.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class CallStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for its start time, window and a free line
    DIALING = "dialing"  # an attempt is in progress
    CONNECTED = "connected"  # answered; the flow runs
    COMPLETED = "completed"  # final: the last attempt was answered
    FAILED = "failed"  # final: attempts were made, none answered
    UNCALLED = "uncalled"  # final: never dialed


class CalleeType(enum.StrEnum):
    # answered
    VOICE = "voice"
    ANSWERINGMACHINE = "answeringmachine"
    FAX = "fax"
    # not answered
    BUSY = "busy"
    NOANSWER = "noanswer"
    INFORMATIONTONE = "informationtone"
    LINEFAILURE = "linefailure"
    # either
    UNKNOWN = "unknown"
    # never dialed
    NOATTEMPT = "noattempt"


class CallEvent(enum.StrEnum):
    QUEUED = "queued"
    DIALING = "dialing"
    RINGING = "ringing"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RETRY_SCHEDULED = "retry_scheduled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    FAILED = "failed"
    FLOW_FAILED = "flow_failed"  # the call flow could not be fetched, or ended on an error


PENDING_STATUSES: frozenset[CallStatus] = frozenset(
    {CallStatus.QUEUED, CallStatus.DIALING, CallStatus.CONNECTED}
)
FINAL_STATUSES: frozenset[CallStatus] = frozenset(
    {CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.UNCALLED}
)

ANSWERED_CALLEE_TYPES: frozenset[CalleeType] = frozenset(
    {CalleeType.VOICE, CalleeType.ANSWERINGMACHINE, CalleeType.FAX, CalleeType.UNKNOWN}
)
UNANSWERED_CALLEE_TYPES: frozenset[CalleeType] = frozenset(
    {
        CalleeType.BUSY,
        CalleeType.NOANSWER,
        CalleeType.INFORMATIONTONE,
        CalleeType.LINEFAILURE,
        CalleeType.UNKNOWN,
    }
)
DEFAULT_RETRY_ON: frozenset[CalleeType] = frozenset(
    {CalleeType.BUSY, CalleeType.NOANSWER, CalleeType.LINEFAILURE, CalleeType.UNKNOWN}
)

# The state machine, written out. A call moves only along these edges:
#   queued    -> dialing     (a line was free; an attempt starts)
#   queued    -> uncalled    (window closed or cancelled before any attempt)
#   queued    -> failed      (window closed or cancelled after failed attempts)
#   dialing   -> connected   (answered)
#   dialing   -> queued      (attempt failed; retry scheduled)
#   dialing   -> failed      (attempt failed; no attempts or window left, or cancelled)
#   connected -> completed   (hung up)
TRANSITIONS: Mapping[CallStatus, frozenset[CallStatus]] = {
    CallStatus.QUEUED: frozenset({CallStatus.DIALING, CallStatus.UNCALLED, CallStatus.FAILED}),
    CallStatus.DIALING: frozenset({CallStatus.CONNECTED, CallStatus.QUEUED, CallStatus.FAILED}),
    CallStatus.CONNECTED: frozenset({CallStatus.COMPLETED}),
    CallStatus.COMPLETED: frozenset(),
    CallStatus.FAILED: frozenset(),
    CallStatus.UNCALLED: frozenset(),
}


class IllegalTransition(ValueError):
    """A status change the state machine does not allow."""


def check_transition(old: CallStatus, new: CallStatus) -> None:
    """Raise IllegalTransition unless ``old -> new`` is an edge of TRANSITIONS."""
    if new not in TRANSITIONS[old]:
        raise IllegalTransition(f"a {old.value} call cannot become {new.value}")


def sources_of(new: CallStatus) -> frozenset[CallStatus]:
    """The statuses from which a call may move to ``new`` (used by guarded UPDATEs)."""
    return frozenset(old for old, targets in TRANSITIONS.items() if new in targets)


def cancel_outcome(
    attempts: int, last_callee_type: CalleeType | None
) -> tuple[CallStatus, CalleeType]:
    """Final status and callee type of a queued call that is cancelled or whose window closed."""
    if attempts == 0:
        return CallStatus.UNCALLED, CalleeType.NOATTEMPT
    return CallStatus.FAILED, last_callee_type or CalleeType.UNKNOWN


@dataclass(frozen=True, slots=True)
class Event:
    event: str
    at: float
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class DetectedVerdict:
    """One of an answered attempt's verdicts: its first, or a revision of the one before (a
    verdict with another callee type: a "person" who turns out to be a voicemail)."""

    callee_type: CalleeType
    cause: str  # the detection rule that decided
    decided_ms: int  # ms of the callee's audio from answer when it was decided
    at: float | None  # Unix seconds it was recorded; None for attempts older than revisions

    def details(self) -> dict[str, Any]:
        return {
            "callee_type": self.callee_type.value,
            "cause": self.cause,
            "decided_ms": self.decided_ms,
            "timestamp": _seconds(self.at),
        }


@dataclass(frozen=True, slots=True)
class Attempt:
    number: int
    started_at: float
    answered_at: float | None
    ended_at: float | None
    sip_code: int | None
    cause: str | None
    callee_type: CalleeType | None
    duration: float | None
    detect_cause: str | None = None  # the detection rule that decided an answered attempt
    decided_ms: int | None = None  # ms of the callee's audio heard when detection decided
    beep_end_ms: int | None = None  # ms from answer where the voicemail beep ended
    # The first verdict and each revision, oldest first (empty: none kept, or none made).
    # ``detect_cause``, ``decided_ms`` and ``callee_type`` are the latest verdict's.
    verdicts: tuple[DetectedVerdict, ...] = ()
    flow_version: int | None = None  # the stored flow version the attempt ran
    # The flow's steps as they ran: {step, type, start_ms, end_ms, outcome}; None: no flow ran
    flow_trace: tuple[dict[str, Any], ...] | None = None

    def details(self) -> dict[str, Any]:
        """One attempt as the API shows it (timestamps in Unix seconds)."""
        return {
            "attempt": self.number,
            "start_timestamp": _seconds(self.started_at),
            "answer_timestamp": _seconds(self.answered_at),
            "end_timestamp": _seconds(self.ended_at),
            "sip_code": self.sip_code,
            "cause": self.cause,
            "callee_type": self.callee_type.value if self.callee_type else None,
            "duration": None if self.duration is None else round(self.duration),
            "detection": self._detection(),
            "flow": None
            if self.flow_trace is None
            else {"version": self.flow_version, "trace": list(self.flow_trace)},
        }

    @property
    def first_verdict(self) -> DetectedVerdict | None:
        """Detection's first verdict. For an attempt recorded before revisions were kept,
        the only one there is (its time unknown)."""
        if self.verdicts:
            return self.verdicts[0]
        if self.detect_cause is None or self.decided_ms is None or self.callee_type is None:
            return None
        return DetectedVerdict(self.callee_type, self.detect_cause, self.decided_ms, None)

    @property
    def revisions(self) -> tuple[DetectedVerdict, ...]:
        """The verdicts that changed the callee type, in order; the last is the attempt's."""
        return self.verdicts[1:]

    def _detection(self) -> dict[str, Any] | None:
        if self.detect_cause is None:
            return None
        first = self.first_verdict
        return {
            "cause": self.detect_cause,
            "decided_ms": self.decided_ms,
            "beep_end_ms": self.beep_end_ms,
            "first": None if first is None else first.details(),
            "revisions": [revision.details() for revision in self.revisions],
        }


@dataclass(frozen=True, slots=True)
class Recording:
    """Audio a flow's ``record`` step took; served to the call's owner at ``url``."""

    recording_id: str
    call_id: str
    attempt: int
    step: str
    duration_s: float
    created_at: float

    @property
    def url(self) -> str:
        return f"/api/outbound/{self.call_id}/recordings/{self.recording_id}"

    def details(self) -> dict[str, Any]:
        return {
            "recording_id": self.recording_id,
            "attempt": self.attempt,
            "step": self.step,
            "duration_s": round(self.duration_s, 2),
            "url": self.url,
        }


@dataclass(frozen=True, slots=True)
class Call:
    """One queued destination, as stored."""

    call_id: str
    account_id: int
    application_id: int
    deployment_id: int
    phone_number: str
    ani: str | None
    postd: str | None
    status: CallStatus
    callee_type: CalleeType | None
    attempts: int
    max_attempts: int
    reattempt_wait: int | None
    queued_at: float
    start_at: float
    end_at: float | None
    last_attempt_at: float | None
    duration: float | None
    message_reference: str | None
    call_parameters: dict[str, Any]
    result_url: str | None
    results: dict[str, Any] | None
    end_reason: str | None
    batch_id: str | None = None
    batch_row: int | None = None
    events: tuple[Event, ...] = ()
    attempt_list: tuple[Attempt, ...] = ()
    recordings: tuple[Recording, ...] = ()

    def details(self, *, with_events: bool = True) -> dict[str, Any]:
        """``call_details`` exactly as SPEC §4 lists it (timestamps in Unix seconds)."""
        details: dict[str, Any] = {
            "call_id": self.call_id,
            "phone_number": self.phone_number,
            "status": self.status.value,
            "callee_type": self.callee_type.value if self.callee_type else None,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "queued_timestamp": _seconds(self.queued_at),
            "start_timestamp": _seconds(self.start_at),
            "end_timestamp": _seconds(self.end_at),
            "reattempt_wait": self.reattempt_wait,
            "last_attempt_timestamp": _seconds(self.last_attempt_at),
            "duration": None if self.duration is None else round(self.duration),
            "message_reference": self.message_reference,
            "call_parameters": self.call_parameters,
            "results": self.results or {},
            "recordings": [recording.details() for recording in self.recordings],
        }
        if with_events:
            details["events"] = [
                {"event": event.event, "timestamp": _seconds(event.at)} for event in self.events
            ]
            details["attempt_details"] = [attempt.details() for attempt in self.attempt_list]
        return details


def _seconds(value: float | None) -> int | None:
    return None if value is None else int(value)
