"""Rows of the calls table as ``Call`` values, and the row-level rules every call query shares."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, select

from outdial.accounts import Account
from outdial.calls import (
    Attempt,
    Call,
    CalleeType,
    CallStatus,
    DetectedVerdict,
    Event,
    Recording,
    sources_of,
)
from outdial.errors import NotFound
from outdial.store.tables import batches, calls, deployments, recordings


def owned_call(row: Any, account: Account, call_id: str) -> Any:
    """The row of call ``call_id`` if ``account`` owns it; 404 if there is none or another
    account owns it (the same answer, so that a stranger learns nothing)."""
    if row is None or row.account_id != account.id:
        raise NotFound(f"call {call_id!r} not found")
    return row


def may_become(status: CallStatus) -> Any:
    """SQL: the status is one that calls.TRANSITIONS lets become ``status``."""
    return calls.c.status.in_(sorted(s.value for s in sources_of(status)))


def lock_calls_in_order(conn: Connection, where: Any) -> None:
    """PostgreSQL: lock the calls matching ``where`` in id order before a multi-row UPDATE.

    Every transaction that locks several calls (this, the dialer's group commit, heartbeats)
    takes them in id order, so two of them can never wait for each other in a cycle (a
    deadlock). SQLite needs nothing: ``BEGIN IMMEDIATE`` lets one writer in at a time.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(calls.c.id).where(where).order_by(calls.c.id).with_for_update())


def call_select() -> Any:
    return (
        select(
            calls,
            deployments.c.application_id,
            batches.c.batch_id.label("batch_uuid"),
        )
        .join(deployments, deployments.c.id == calls.c.deployment_id)
        .outerjoin(batches, batches.c.id == calls.c.batch_pk)
    )


def call_from_row(
    row: Row[Any],
    events: tuple[Event, ...] = (),
    attempt_list: tuple[Attempt, ...] = (),
    recordings: tuple[Recording, ...] = (),
) -> Call:
    return Call(
        call_id=row.call_id,
        account_id=row.account_id,
        application_id=row.application_id,
        deployment_id=row.deployment_id,
        phone_number=row.phone_number,
        ani=row.ani,
        postd=row.postd,
        status=CallStatus(row.status),
        callee_type=CalleeType(row.callee_type) if row.callee_type else None,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        reattempt_wait=row.reattempt_wait,
        queued_at=row.queued_at,
        start_at=row.start_at,
        end_at=row.end_at,
        last_attempt_at=row.last_attempt_at,
        duration=row.duration,
        message_reference=row.message_reference,
        call_parameters=json.loads(row.call_parameters),
        result_url=row.result_url,
        results=json.loads(row.results) if row.results else None,
        end_reason=row.end_reason,
        batch_id=row.batch_uuid,
        batch_row=row.batch_row,
        events=events,
        attempt_list=attempt_list,
        recordings=recordings,
    )


def attempt_from_row(row: Row[Any]) -> Attempt:
    return Attempt(
        number=row.number,
        started_at=row.started_at,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        sip_code=row.sip_code,
        cause=row.cause,
        callee_type=CalleeType(row.callee_type) if row.callee_type else None,
        duration=row.duration,
        detect_cause=row.detect_cause,
        decided_ms=row.decided_ms,
        beep_end_ms=row.beep_end_ms,
        verdicts=verdicts_from_json(row.detection_history),
        flow_version=row.flow_version,
        flow_trace=tuple(json.loads(row.flow_trace)) if row.flow_trace else None,
    )


def verdicts_from_json(text: str | None) -> tuple[DetectedVerdict, ...]:
    """An attempt's ``detection_history`` column as values."""
    if not text:
        return ()
    return tuple(
        DetectedVerdict(
            CalleeType(entry["callee_type"]), entry["cause"], entry["decided_ms"], entry["at"]
        )
        for entry in json.loads(text)
    )


def recording_from_row(row: Any, call_id: str) -> Recording:
    return Recording(
        recording_id=row.recording_id,
        call_id=call_id,
        attempt=row.attempt,
        step=row.step,
        duration_s=row.duration_s,
        created_at=row.created_at,
    )


def recordings_of(conn: Connection, call_pk: int, call_id: str) -> tuple[Recording, ...]:
    """A call's recordings, oldest first, without their audio."""
    rows = conn.execute(
        select(
            recordings.c.recording_id,
            recordings.c.attempt,
            recordings.c.step,
            recordings.c.duration_s,
            recordings.c.created_at,
        )
        .where(recordings.c.call_pk == call_pk)
        .order_by(recordings.c.id)
    ).all()
    return tuple(recording_from_row(r, call_id) for r in rows)
