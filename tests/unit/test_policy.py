"""What happens to a call after an attempt (SPEC §2): ``policy.after_attempt``, every branch."""

from __future__ import annotations

from typing import TypedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outdial.calls import (
    ANSWERED_CALLEE_TYPES,
    DEFAULT_RETRY_ON,
    CalleeType,
    CallEvent,
    CallStatus,
    check_transition,
)
from outdial.policy import AttemptResult, Decision, after_attempt

NOW = 1_700_000_000.0  # a Unix time, so float rounding is what the dialer sees
WAIT = 300  # seconds between attempts
EXPIRED_REASON = "the call window closes before the next attempt"
NOT_ANSWERED = sorted(set(CalleeType) - ANSWERED_CALLEE_TYPES)


class Circumstances(TypedDict, total=False):
    attempts: int
    max_attempts: int
    end_at: float
    retry_on: frozenset[CalleeType]
    cancel_requested: bool


def answered(callee_type: CalleeType) -> AttemptResult:
    return AttemptResult(True, callee_type, "callee hung up", 200)


def unanswered(callee_type: CalleeType) -> AttemptResult:
    return AttemptResult(False, callee_type, "486 Busy Here", 486)


def decide(
    result: AttemptResult,
    *,
    attempts: int = 1,
    max_attempts: int = 3,
    reattempt_wait: int | None = WAIT,
    end_at: float | None = None,
    retry_on: frozenset[CalleeType] = DEFAULT_RETRY_ON,
    cancel_requested: bool = False,
    now: float = NOW,
) -> Decision:
    return after_attempt(
        result,
        attempts=attempts,
        max_attempts=max_attempts,
        reattempt_wait=reattempt_wait,
        end_at=end_at,
        retry_on=retry_on,
        cancel_requested=cancel_requested,
        now=now,
    )


def retry_at(at: float) -> Decision:
    return Decision(CallStatus.QUEUED, CalleeType.BUSY, at, (CallEvent.RETRY_SCHEDULED,), None)


# answered -------------------------------------------------------------------------------------


@pytest.mark.parametrize("callee_type", sorted(ANSWERED_CALLEE_TYPES))
def test_an_answered_attempt_completes_the_call_with_its_callee_type(
    callee_type: CalleeType,
) -> None:
    assert decide(answered(callee_type)) == Decision(
        CallStatus.COMPLETED, callee_type, None, (), None
    )


@pytest.mark.parametrize("callee_type", NOT_ANSWERED)
def test_an_answered_attempt_of_an_unanswered_type_completes_as_unknown(
    callee_type: CalleeType,
) -> None:
    # A SIT after answer, or a carrier reporting "busy" on a 200 OK: answered all the same.
    assert decide(answered(callee_type)) == Decision(
        CallStatus.COMPLETED, CalleeType.UNKNOWN, None, (), None
    )


@pytest.mark.parametrize(
    "circumstances",
    [
        {"cancel_requested": True},
        {"attempts": 3, "max_attempts": 3},
        {"end_at": NOW - 1.0},
        {"retry_on": frozenset()},
    ],
    ids=["cancel requested", "last attempt", "window closed", "nothing retried"],
)
def test_an_answered_attempt_completes_whatever_else_holds(circumstances: Circumstances) -> None:
    decision = decide(answered(CalleeType.VOICE), **circumstances)
    assert decision == Decision(CallStatus.COMPLETED, CalleeType.VOICE, None, (), None)


# retried ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("callee_type", sorted(DEFAULT_RETRY_ON))
def test_a_failed_attempt_in_the_default_retry_set_is_queued_again(
    callee_type: CalleeType,
) -> None:
    assert decide(unanswered(callee_type)) == Decision(
        CallStatus.QUEUED, callee_type, NOW + WAIT, (CallEvent.RETRY_SCHEDULED,), None
    )


def test_the_default_retry_set_is_the_spec_s() -> None:
    spec = {CalleeType.BUSY, CalleeType.NOANSWER, CalleeType.LINEFAILURE, CalleeType.UNKNOWN}
    assert spec == DEFAULT_RETRY_ON


@pytest.mark.parametrize("callee_type", NOT_ANSWERED)
def test_any_callee_type_in_the_deployment_s_retry_set_is_retried(
    callee_type: CalleeType,
) -> None:
    decision = decide(unanswered(callee_type), retry_on=frozenset({callee_type}))
    assert (decision.status, decision.callee_type) == (CallStatus.QUEUED, callee_type)


@pytest.mark.parametrize("callee_type", NOT_ANSWERED)
def test_a_callee_type_outside_the_retry_set_fails_the_call_with_attempts_left(
    callee_type: CalleeType,
) -> None:
    others = frozenset(NOT_ANSWERED) - {callee_type}
    decision = decide(unanswered(callee_type), attempts=1, max_attempts=10, retry_on=others)
    assert decision == Decision(
        CallStatus.FAILED,
        callee_type,
        None,
        (CallEvent.FAILED,),
        f"{callee_type.value} is not retried",
    )


def test_informationtone_is_not_retried_by_default() -> None:
    decision = decide(unanswered(CalleeType.INFORMATIONTONE))
    assert decision == Decision(
        CallStatus.FAILED,
        CalleeType.INFORMATIONTONE,
        None,
        (CallEvent.FAILED,),
        "informationtone is not retried",
    )


def test_an_empty_retry_set_retries_nothing() -> None:
    decision = decide(unanswered(CalleeType.BUSY), retry_on=frozenset())
    assert (decision.status, decision.end_reason) == (CallStatus.FAILED, "busy is not retried")


@pytest.mark.parametrize("wait", [60, 301, 86_400])
def test_the_retry_is_due_reattempt_wait_seconds_after_the_attempt_ended(wait: int) -> None:
    decision = decide(unanswered(CalleeType.BUSY), reattempt_wait=wait, now=NOW + 12.5)
    assert decision.next_attempt_at == NOW + 12.5 + wait


def test_without_a_reattempt_wait_the_retry_is_due_at_once() -> None:
    assert decide(unanswered(CalleeType.BUSY), reattempt_wait=None) == retry_at(NOW)


def test_the_callee_type_of_a_retried_attempt_is_kept_for_the_call() -> None:
    decision = decide(unanswered(CalleeType.LINEFAILURE), max_attempts=2)
    assert decision.callee_type is CalleeType.LINEFAILURE


# attempts exhausted -------------------------------------------------------------------------------


def test_the_attempt_before_the_last_is_retried() -> None:
    assert decide(unanswered(CalleeType.BUSY), attempts=2, max_attempts=3) == retry_at(NOW + WAIT)


@pytest.mark.parametrize(("attempts", "max_attempts"), [(1, 1), (3, 3), (10, 10), (4, 3)])
def test_the_last_allowed_attempt_fails_the_call_as_attempts_exhausted(
    attempts: int, max_attempts: int
) -> None:
    decision = decide(unanswered(CalleeType.NOANSWER), attempts=attempts, max_attempts=max_attempts)
    assert decision == Decision(
        CallStatus.FAILED, CalleeType.NOANSWER, None, (CallEvent.FAILED,), "attempts exhausted"
    )


def test_attempts_exhausted_is_said_even_when_the_window_has_closed_too() -> None:
    decision = decide(unanswered(CalleeType.BUSY), attempts=3, max_attempts=3, end_at=NOW)
    assert (decision.events, decision.end_reason) == ((CallEvent.FAILED,), "attempts exhausted")


def test_a_type_that_is_not_retried_says_so_rather_than_attempts_exhausted() -> None:
    decision = decide(unanswered(CalleeType.INFORMATIONTONE), attempts=3, max_attempts=3)
    assert decision.end_reason == "informationtone is not retried"


# the window closes ------------------------------------------------------------------------------


def expired(callee_type: CalleeType = CalleeType.BUSY) -> Decision:
    return Decision(CallStatus.FAILED, callee_type, None, (CallEvent.EXPIRED,), EXPIRED_REASON)


def test_a_retry_due_exactly_when_the_window_ends_is_not_made() -> None:
    # The claim query dials only while ``end_at > now``: a retry due at end_at never runs.
    assert decide(unanswered(CalleeType.BUSY), end_at=NOW + WAIT) == expired()


def test_a_retry_due_after_the_window_ends_is_not_made() -> None:
    assert decide(unanswered(CalleeType.BUSY), end_at=NOW + WAIT - 0.001) == expired()


def test_a_window_that_closed_during_the_attempt_fails_the_call() -> None:
    decision = decide(unanswered(CalleeType.NOANSWER), end_at=NOW - 5.0)
    assert decision == expired(CalleeType.NOANSWER)


def test_a_retry_due_just_before_the_window_ends_is_made() -> None:
    decision = decide(unanswered(CalleeType.BUSY), end_at=NOW + WAIT + 0.001)
    assert decision == retry_at(NOW + WAIT)


def test_without_an_end_the_window_never_closes() -> None:
    decision = decide(unanswered(CalleeType.BUSY), reattempt_wait=86_400, end_at=None)
    assert decision == retry_at(NOW + 86_400)


def test_the_window_is_judged_at_the_retry_time_not_now() -> None:
    # Open now, closed by the time the wait is over.
    assert decide(unanswered(CalleeType.BUSY), reattempt_wait=600, end_at=NOW + 599) == expired()
    assert decide(unanswered(CalleeType.BUSY), reattempt_wait=60, end_at=NOW + 599) == retry_at(
        NOW + 60
    )


# cancelled ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("callee_type", NOT_ANSWERED)
def test_a_cancelled_call_fails_after_its_attempt_instead_of_being_retried(
    callee_type: CalleeType,
) -> None:
    # The "canceled" event was written when the cancel was requested: no second event here.
    decision = decide(
        unanswered(callee_type), cancel_requested=True, retry_on=frozenset(CalleeType)
    )
    assert decision == Decision(CallStatus.FAILED, callee_type, None, (), "canceled")


def test_cancelled_wins_over_attempts_exhausted_and_the_window() -> None:
    busy = unanswered(CalleeType.BUSY)
    for decision in (
        decide(busy, cancel_requested=True, attempts=3, max_attempts=3),
        decide(busy, cancel_requested=True, end_at=NOW),
    ):
        assert (decision.status, decision.events, decision.end_reason) == (
            CallStatus.FAILED,
            (),
            "canceled",
        )


# every decision, whatever the inputs --------------------------------------------------------------


@given(
    answered_=st.booleans(),
    callee_type=st.sampled_from(CalleeType),
    attempts=st.integers(1, 10),
    max_attempts=st.integers(1, 10),
    reattempt_wait=st.none() | st.integers(60, 86_400),
    end_in=st.none() | st.floats(-100_000, 200_000, allow_nan=False),
    retry_on=st.frozensets(st.sampled_from(CalleeType)),
    cancel_requested=st.booleans(),
)
def test_every_decision_is_consistent(
    answered_: bool,
    callee_type: CalleeType,
    attempts: int,
    max_attempts: int,
    reattempt_wait: int | None,
    end_in: float | None,
    retry_on: frozenset[CalleeType],
    cancel_requested: bool,
) -> None:
    end_at = None if end_in is None else NOW + end_in
    decision = decide(
        AttemptResult(answered_, callee_type, "cause"),
        attempts=attempts,
        max_attempts=max_attempts,
        reattempt_wait=reattempt_wait,
        end_at=end_at,
        retry_on=retry_on,
        cancel_requested=cancel_requested,
    )
    # An attempt was made: the call is never "uncalled", and the dialer may store the decision.
    assert decision.status is not CallStatus.UNCALLED
    before = CallStatus.CONNECTED if answered_ else CallStatus.DIALING
    check_transition(before, decision.status)
    assert (decision.status is CallStatus.COMPLETED) == answered_
    assert (decision.status is CallStatus.QUEUED) == (decision.next_attempt_at is not None)
    if decision.status is CallStatus.QUEUED:
        assert not cancel_requested
        assert callee_type in retry_on
        assert attempts < max_attempts
        assert decision.next_attempt_at == NOW + (reattempt_wait or 0)
        assert end_at is None or decision.next_attempt_at < end_at
        assert decision.events == (CallEvent.RETRY_SCHEDULED,)
        assert decision.end_reason is None
    if decision.status is CallStatus.FAILED:
        assert decision.end_reason
        assert decision.callee_type is callee_type  # the last attempt's
        assert decision.events in {(), (CallEvent.FAILED,), (CallEvent.EXPIRED,)}
