"""The call model: the state machine, cancellation outcomes and ``call_details`` (SPEC §2, §4)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from outdial.calls import (
    ANSWERED_CALLEE_TYPES,
    FINAL_STATUSES,
    PENDING_STATUSES,
    TRANSITIONS,
    UNANSWERED_CALLEE_TYPES,
    Attempt,
    Call,
    CalleeType,
    CallStatus,
    Event,
    IllegalTransition,
    Recording,
    cancel_outcome,
    check_transition,
    sources_of,
)

Q, D, C = CallStatus.QUEUED, CallStatus.DIALING, CallStatus.CONNECTED
COMPLETED, FAILED, UNCALLED = CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.UNCALLED

# The edges of SPEC §2, written out independently of outdial.calls.TRANSITIONS.
ALLOWED = {
    (Q, D),  # a line was free; an attempt starts
    (Q, UNCALLED),  # window closed or cancelled before any attempt
    (Q, FAILED),  # window closed or cancelled after failed attempts
    (D, C),  # answered
    (D, Q),  # attempt failed, retry scheduled
    (D, FAILED),  # attempt failed, nothing left, or cancelled
    (C, COMPLETED),  # hung up
}
FORBIDDEN = sorted(set(itertools.product(CallStatus, CallStatus)) - ALLOWED)

# call_details as SPEC §4 lists it, in that order, with the flow's recordings (FLOWS.md).
DETAIL_KEYS = [
    "call_id",
    "phone_number",
    "status",
    "callee_type",
    "attempts",
    "max_attempts",
    "queued_timestamp",
    "start_timestamp",
    "end_timestamp",
    "reattempt_wait",
    "last_attempt_timestamp",
    "duration",
    "message_reference",
    "call_parameters",
    "results",
    "recordings",
    "events",
    "attempt_details",
]


def make_call(**overrides: Any) -> Call:
    values: dict[str, Any] = {
        "call_id": "9b2f4c1e-0000-4000-8000-000000000001",
        "account_id": 1,
        "application_id": 2,
        "deployment_id": 3,
        "phone_number": "+16175551234",
        "ani": None,
        "postd": None,
        "status": CallStatus.QUEUED,
        "callee_type": None,
        "attempts": 0,
        "max_attempts": 1,
        "reattempt_wait": None,
        "queued_at": 1_800_000_000.75,
        "start_at": 1_800_000_000.75,
        "end_at": None,
        "last_attempt_at": None,
        "duration": None,
        "message_reference": None,
        "call_parameters": {},
        "result_url": None,
        "results": None,
        "end_reason": None,
    }
    values.update(overrides)
    return Call(**values)


# --- the state machine --------------------------------------------------------------------------


def test_the_table_has_exactly_the_edges_of_the_spec() -> None:
    edges = {(old, new) for old, targets in TRANSITIONS.items() for new in targets}
    assert edges == ALLOWED
    assert set(TRANSITIONS) == set(CallStatus)


@pytest.mark.parametrize(("old", "new"), sorted(ALLOWED), ids=lambda s: s.value)
def test_allowed_transitions_pass(old: CallStatus, new: CallStatus) -> None:
    check_transition(old, new)  # does not raise


@pytest.mark.parametrize(("old", "new"), FORBIDDEN, ids=lambda s: s.value)
def test_forbidden_transitions_raise(old: CallStatus, new: CallStatus) -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_transition(old, new)
    assert str(caught.value) == f"a {old.value} call cannot become {new.value}"


@pytest.mark.parametrize("final", sorted(FINAL_STATUSES))
def test_a_final_call_never_moves_again(final: CallStatus) -> None:
    assert TRANSITIONS[final] == frozenset()
    for new in CallStatus:
        with pytest.raises(IllegalTransition):
            check_transition(final, new)


def test_an_answered_call_is_never_dialed_again() -> None:
    with pytest.raises(IllegalTransition, match="a connected call cannot become dialing"):
        check_transition(C, D)
    with pytest.raises(IllegalTransition, match="a connected call cannot become queued"):
        check_transition(C, Q)


def test_sources_of_each_status() -> None:
    assert sources_of(Q) == {D}
    assert sources_of(D) == {Q}
    assert sources_of(C) == {D}
    assert sources_of(COMPLETED) == {C}
    assert sources_of(FAILED) == {Q, D}
    assert sources_of(UNCALLED) == {Q}


def test_statuses_are_pending_or_final() -> None:
    assert {Q, D, C} == PENDING_STATUSES
    assert {COMPLETED, FAILED, UNCALLED} == FINAL_STATUSES
    assert PENDING_STATUSES.isdisjoint(FINAL_STATUSES)
    assert set(CallStatus) == PENDING_STATUSES | FINAL_STATUSES


def test_callee_types_of_the_spec_table() -> None:
    assert {t.value for t in ANSWERED_CALLEE_TYPES} == {
        "voice",
        "answeringmachine",
        "fax",
        "unknown",
    }
    assert {t.value for t in UNANSWERED_CALLEE_TYPES} == {
        "busy",
        "noanswer",
        "informationtone",
        "linefailure",
        "unknown",
    }
    assert CalleeType.NOATTEMPT.value == "noattempt"


# --- cancelling -------------------------------------------------------------------------------


def test_cancelling_a_call_never_attempted_leaves_it_uncalled() -> None:
    assert cancel_outcome(0, None) == (UNCALLED, CalleeType.NOATTEMPT)


@pytest.mark.parametrize("last", [CalleeType.BUSY, CalleeType.NOANSWER, CalleeType.LINEFAILURE])
def test_cancelling_after_failed_attempts_fails_with_the_last_callee_type(
    last: CalleeType,
) -> None:
    assert cancel_outcome(2, last) == (FAILED, last)


def test_cancelling_after_attempts_of_unknown_outcome_fails_as_unknown() -> None:
    assert cancel_outcome(1, None) == (FAILED, CalleeType.UNKNOWN)


@pytest.mark.parametrize(("attempts", "last"), [(0, None), (1, None), (3, CalleeType.BUSY)])
def test_the_outcome_of_cancelling_is_reachable_from_queued(
    attempts: int, last: CalleeType | None
) -> None:
    status, _ = cancel_outcome(attempts, last)
    check_transition(Q, status)


# --- call_details -----------------------------------------------------------------------------


def test_details_have_exactly_the_keys_of_the_spec() -> None:
    assert list(make_call().details()) == DETAIL_KEYS


def test_details_without_events() -> None:
    assert list(make_call().details(with_events=False)) == DETAIL_KEYS[:-2]


def test_details_of_a_queued_call() -> None:
    call = make_call(
        events=(Event("queued", 1_800_000_000.75),),
        message_reference="order-17",
        call_parameters={"name": "Ada", "balance": 12.5},
        max_attempts=3,
        reattempt_wait=600,
        end_at=1_800_086_400.0,
    )
    assert call.details() == {
        "call_id": "9b2f4c1e-0000-4000-8000-000000000001",
        "phone_number": "+16175551234",
        "status": "queued",
        "callee_type": None,
        "attempts": 0,
        "max_attempts": 3,
        "queued_timestamp": 1_800_000_000,
        "start_timestamp": 1_800_000_000,
        "end_timestamp": 1_800_086_400,
        "reattempt_wait": 600,
        "last_attempt_timestamp": None,
        "duration": None,
        "message_reference": "order-17",
        "call_parameters": {"name": "Ada", "balance": 12.5},
        "results": {},
        "recordings": [],
        "events": [{"event": "queued", "timestamp": 1_800_000_000}],
        "attempt_details": [],
    }


def test_details_of_a_completed_call() -> None:
    attempt = Attempt(1, 1_800_000_100.0, 1_800_000_105.0, 1_800_000_147.6, 200, None, None, 42.6)
    call = make_call(
        status=COMPLETED,
        callee_type=CalleeType.VOICE,
        attempts=1,
        last_attempt_at=1_800_000_100.9,
        duration=42.6,
        results={"confirmed": True},
        attempt_list=(attempt,),
    )
    details = call.details()
    assert details["status"] == "completed"
    assert details["callee_type"] == "voice"
    assert details["attempts"] == 1
    assert details["last_attempt_timestamp"] == 1_800_000_100
    assert details["duration"] == 43  # whole seconds connected
    assert details["results"] == {"confirmed": True}
    assert details["attempt_details"] == [
        {
            "attempt": 1,
            "start_timestamp": 1_800_000_100,
            "answer_timestamp": 1_800_000_105,
            "end_timestamp": 1_800_000_147,
            "sip_code": 200,
            "cause": None,
            "callee_type": None,
            "duration": 43,
            "detection": None,
            "flow": None,
        }
    ]


def test_events_are_listed_in_order_with_whole_second_timestamps() -> None:
    events = (
        Event("queued", 1_800_000_000.2),
        Event("dialing", 1_800_000_010.9),
        Event("canceled", 1_800_000_011.0, "canceled"),
    )
    assert make_call(events=events).details()["events"] == [
        {"event": "queued", "timestamp": 1_800_000_000},
        {"event": "dialing", "timestamp": 1_800_000_010},
        {"event": "canceled", "timestamp": 1_800_000_011},
    ]
    for event in make_call(events=events).details()["events"]:
        assert list(event) == ["event", "timestamp"]
        assert isinstance(event["timestamp"], int)


def test_an_attempt_that_ran_a_flow_shows_its_version_and_trace() -> None:
    trace = ({"step": "greet", "type": "say", "start_ms": 0, "end_ms": 2400, "outcome": "done"},)
    attempt = Attempt(
        1, 1.0, 2.0, 9.0, 200, None, CalleeType.VOICE, 7.0, flow_version=3, flow_trace=trace
    )
    assert attempt.details()["flow"] == {"version": 3, "trace": list(trace)}


def test_recordings_are_listed_with_the_url_that_serves_them() -> None:
    recording = Recording("r-1", "c-1", 2, "comment", 12.345, 5.0)
    details = make_call(recordings=(recording,)).details()
    assert details["recordings"] == [
        {
            "recording_id": "r-1",
            "attempt": 2,
            "step": "comment",
            "duration_s": 12.35,
            "url": "/api/outbound/c-1/recordings/r-1",
        }
    ]
