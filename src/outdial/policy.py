"""What happens to a call after an attempt ends (SPEC §2): pure decisions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from outdial.calls import ANSWERED_CALLEE_TYPES, CalleeType, CallEvent, CallStatus


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """How one attempt ended, as the dialer saw it."""

    answered: bool
    callee_type: CalleeType  # for answered calls: voice, answeringmachine, fax or unknown
    cause: str
    sip_code: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    status: CallStatus  # queued (retry) or a final status
    callee_type: CalleeType
    next_attempt_at: float | None  # set when status is queued
    events: tuple[CallEvent, ...]  # after "disconnected"
    end_reason: str | None


def after_attempt(
    result: AttemptResult,
    *,
    attempts: int,
    max_attempts: int,
    reattempt_wait: int | None,
    end_at: float | None,
    retry_on: frozenset[CalleeType],
    cancel_requested: bool,
    now: float,
) -> Decision:
    """The call's next status after an attempt: completed, a retry, or failed."""
    if result.answered:
        callee = (
            result.callee_type
            if result.callee_type in ANSWERED_CALLEE_TYPES
            else CalleeType.UNKNOWN
        )
        return Decision(CallStatus.COMPLETED, callee, None, (), None)
    callee = result.callee_type
    if cancel_requested:
        return Decision(CallStatus.FAILED, callee, None, (), "canceled")
    retry_at = now + (reattempt_wait or 0)
    if callee in retry_on and attempts < max_attempts:
        if end_at is None or retry_at < end_at:
            return Decision(CallStatus.QUEUED, callee, retry_at, (CallEvent.RETRY_SCHEDULED,), None)
        return Decision(
            CallStatus.FAILED,
            callee,
            None,
            (CallEvent.EXPIRED,),
            "the call window closes before the next attempt",
        )
    reason = "attempts exhausted" if callee in retry_on else f"{callee.value} is not retried"
    return Decision(CallStatus.FAILED, callee, None, (CallEvent.FAILED,), reason)
