"""A call's progress as the dialer reports it: ringing, answered, attempt over.

Progress arrives as operations (``RingingOp``, ``AnswerOp``, ``FinishOp``) that
``ProgressStore.apply_progress`` applies in one transaction, however many calls they belong to:
that is what lets ``GroupCommit`` (``store/groupcommit.py``) commit the progress of hundreds of
calls at once. Each operation is guarded as before: it names the worker that must hold the
call's lease and the statuses the call must be in, so a worker that lost its lease, or a call
cancelled meanwhile, changes nothing. Each operation carries the time the dialer saw the event,
so a busy database does not make events look later than they were.

Detection's verdicts (``DetectedOp``) keep the latest on the attempt's columns and, in its
``detection_history``, the first verdict and every revision: a verdict whose callee type
differs from the one before (a beep found later, with the same callee type, is no revision).

The statements are the same shape whatever the batch holds (``executemany`` with bound
parameters), so SQLAlchemy compiles each once and reuses it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, insert, select, update

from outdial.calls import (
    CalleeType,
    CallEvent,
    CallStatus,
    check_transition,
    sources_of,
)
from outdial.policy import AttemptResult, Decision, after_attempt
from outdial.store.callstore import CallStore
from outdial.store.tables import attempts, call_events, calls, deployments

ACTIVE = (CallStatus.DIALING.value, CallStatus.CONNECTED.value)  # a worker holds the call
MAY_CONNECT = frozenset(s.value for s in sources_of(CallStatus.CONNECTED))
CAUSE_LENGTH = 200  # characters of a cause or detail kept
DETECT_CAUSE_LENGTH = 100  # characters of a detection rule's name kept
SELECT_CHUNK = 500  # call ids per IN (...) list


class AttemptKey(Protocol):
    """Anything naming an attempt of a call: a ``Claim``, a ``ClaimRef``."""

    @property
    def call_pk(self) -> int: ...

    @property
    def attempt(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ClaimRef:
    """Which attempt of which call an operation is about (the parts of a ``Claim`` it needs)."""

    call_pk: int
    attempt: int


@dataclass(frozen=True, slots=True)
class RingingOp:
    """The callee's phone rings. Result: None (nothing is recorded if the call is not held)."""

    claim: ClaimRef
    worker: str
    at: float


@dataclass(frozen=True, slots=True)
class AnswerOp:
    """dialing -> connected. Result: False if ``worker`` no longer holds the call."""

    claim: ClaimRef
    worker: str
    at: float


@dataclass(frozen=True, slots=True)
class FinishOp:
    """The attempt ended: close it, move the call on. Result: the Decision, None if not held."""

    claim: ClaimRef
    worker: str
    result: AttemptResult
    at: float


@dataclass(frozen=True, slots=True)
class DetectedOp:
    """Detection decided who answered (or found the beep): recorded on the attempt, and as
    the call's callee type while it is connected. Result: False if the call is not held."""

    claim: ClaimRef
    worker: str
    callee_type: CalleeType
    cause: str
    decided_ms: int
    beep_end_ms: int | None
    at: float


ProgressOp = RingingOp | AnswerOp | DetectedOp | FinishOp
# One per operation: its result (None, a bool, a Decision) or the exception it raised alone.
Outcome = Any


@dataclass(slots=True)
class _CallState:
    """A call row as read at the start of the batch, updated as the batch's operations apply."""

    row: Any
    status: str
    lease_owner: str | None
    answered_at: float | None  # of the attempt the row's ``attempts`` counter names
    history_json: str | None  # that attempt's detection_history as read
    history: list[dict[str, Any]] | None = None  # parsed when a verdict comes, then kept

    def verdicts(self) -> list[dict[str, Any]]:
        """The attempt's first verdict and revisions so far (this batch's included)."""
        if self.history is None:
            self.history = json.loads(self.history_json) if self.history_json else []
        return self.history


# Statements with bound parameters for executemany; names must not clash with column names.
_CONNECT = (
    update(calls)
    .where(calls.c.id == bindparam("b_pk"))
    .values(status=CallStatus.CONNECTED.value, updated_at=bindparam("b_at"))
)
_ANSWER_ATTEMPT = (
    update(attempts)
    .where(attempts.c.call_pk == bindparam("b_pk"), attempts.c.number == bindparam("b_number"))
    .values(answered_at=bindparam("b_at"))
)
_DETECTED_ATTEMPT = (
    update(attempts)
    .where(attempts.c.call_pk == bindparam("b_pk"), attempts.c.number == bindparam("b_number"))
    .values(
        callee_type=bindparam("b_callee_type"),
        detect_cause=bindparam("b_cause"),
        decided_ms=bindparam("b_decided_ms"),
        beep_end_ms=bindparam("b_beep_end_ms"),
        detection_history=bindparam("b_history"),
    )
)
_DETECTED_CALL = (
    update(calls)
    .where(calls.c.id == bindparam("b_pk"))
    .values(callee_type=bindparam("b_callee_type"), updated_at=bindparam("b_at"))
)
_CLOSE_ATTEMPT = (
    update(attempts)
    .where(attempts.c.call_pk == bindparam("b_pk"), attempts.c.number == bindparam("b_number"))
    .values(
        ended_at=bindparam("b_at"),
        sip_code=bindparam("b_sip_code"),
        cause=bindparam("b_cause"),
        callee_type=bindparam("b_callee_type"),
        duration=bindparam("b_duration"),
    )
)
_CLOSE_CALL = (
    update(calls)
    .where(calls.c.id == bindparam("b_pk"))
    .values(
        status=bindparam("b_status"),
        callee_type=bindparam("b_callee_type"),
        next_attempt_at=bindparam("b_next_attempt_at"),
        duration=bindparam("b_duration"),
        end_reason=bindparam("b_end_reason"),
        lease_owner=None,
        lease_expires_at=None,
        updated_at=bindparam("b_at"),
    )
)


class ProgressStore(CallStore):
    def apply_progress(self, ops: Sequence[ProgressOp]) -> list[Outcome]:
        """Apply ``ops`` in order in one transaction; one outcome per operation.

        An operation that cannot apply (its call is no longer held by its worker) has a
        negative result; one that breaks a rule (an illegal transition) gets its exception as
        its outcome and changes nothing. A database error fails the whole batch.
        """
        with self._write() as conn:
            return self._apply(conn, ops)

    def _apply(self, conn: Connection, ops: Sequence[ProgressOp]) -> list[Outcome]:
        states = _read_calls(conn, {op.claim.call_pk for op in ops})
        batch = _Batch()
        outcomes: list[Outcome] = []
        for op in ops:
            state = states.get(op.claim.call_pk)
            try:
                outcomes.append(batch.add(op, state))
            except Exception as error:  # this operation alone; the others go on
                outcomes.append(error)
        batch.execute(conn)
        for pk, at in batch.final:
            self._enqueue_result(conn, pk, at)
        return outcomes

    def record_answer(self, claim: AttemptKey, worker: str) -> bool:
        """dialing -> connected; False if this worker no longer holds the call."""
        held: bool = self._one(
            AnswerOp(ClaimRef(claim.call_pk, claim.attempt), worker, self.clock())
        )
        return held

    def finish_attempt(
        self, claim: AttemptKey, worker: str, result: AttemptResult
    ) -> Decision | None:
        """Close the attempt and move the call on (retry or final); None if no longer held."""
        ref = ClaimRef(claim.call_pk, claim.attempt)
        decision: Decision | None = self._one(FinishOp(ref, worker, result, self.clock()))
        return decision

    def _one(self, op: ProgressOp) -> Outcome:
        (outcome,) = self.apply_progress([op])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _close_taken_over(self, conn: Connection, rows: Iterable[Any], now: float) -> None:
        """Close the open attempts of calls whose worker died (rows read and locked by the
        caller): a ringing call counts as a line failure, a connected one completes."""
        ops: list[ProgressOp] = []
        for row in rows:
            connected = row.status == CallStatus.CONNECTED.value
            result = AttemptResult(
                answered=connected,
                callee_type=CalleeType.UNKNOWN if connected else CalleeType.LINEFAILURE,
                cause="worker lost: its lease expired",
            )
            ops.append(FinishOp(ClaimRef(row.id, row.attempts), row.lease_owner, result, now))
        for outcome in self._apply(conn, ops):
            if isinstance(outcome, Exception):
                raise outcome


def _read_calls(conn: Connection, pks: set[int]) -> dict[int, _CallState]:
    """The calls named, locked for the batch, with their open attempt's answer time."""
    states: dict[int, _CallState] = {}
    ordered = sorted(pks)  # one lock order for every batch (PostgreSQL)
    for start in range(0, len(ordered), SELECT_CHUNK):
        rows = conn.execute(
            select(
                calls,
                deployments.c.retry_on,
                attempts.c.answered_at.label("answered_at"),
                attempts.c.detection_history.label("detection_history"),
            )
            .join(deployments, deployments.c.id == calls.c.deployment_id)
            .outerjoin(
                attempts,
                (attempts.c.call_pk == calls.c.id) & (attempts.c.number == calls.c.attempts),
            )
            .where(calls.c.id.in_(ordered[start : start + SELECT_CHUNK]))
            .order_by(calls.c.id)
            .with_for_update(of=calls)
        ).all()
        for row in rows:
            states[row.id] = _CallState(
                row, row.status, row.lease_owner, row.answered_at, row.detection_history
            )
    return states


class _Batch:
    """The rows a batch of operations writes, gathered so each statement runs once."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.connects: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []
        self.detected_attempts: list[dict[str, Any]] = []
        self.detected_calls: list[dict[str, Any]] = []
        self.attempt_closes: list[dict[str, Any]] = []
        self.call_closes: list[dict[str, Any]] = []
        self.final: list[tuple[int, float]] = []  # calls made final: their result callbacks

    def add(self, op: ProgressOp, state: _CallState | None) -> Outcome:
        pk = op.claim.call_pk
        if state is None or state.lease_owner != op.worker:
            return False if isinstance(op, AnswerOp) else None
        if isinstance(op, RingingOp):
            if state.status == CallStatus.DIALING.value:
                self._event(pk, CallEvent.RINGING, op.at, None)
            return None
        if isinstance(op, AnswerOp):
            if state.status not in MAY_CONNECT:
                return False
            state.status = CallStatus.CONNECTED.value
            state.answered_at = op.at
            self.connects.append({"b_pk": pk, "b_at": op.at})
            self.answers.append({"b_pk": pk, "b_number": op.claim.attempt, "b_at": op.at})
            self._event(pk, CallEvent.CONNECTED, op.at, None)
            return True
        if isinstance(op, DetectedOp):
            if state.status != CallStatus.CONNECTED.value:
                return False
            cause = op.cause[:DETECT_CAUSE_LENGTH]
            history = state.verdicts()
            if not history or history[-1]["callee_type"] != op.callee_type.value:
                history.append(
                    {
                        "callee_type": op.callee_type.value,
                        "cause": cause,
                        "decided_ms": op.decided_ms,
                        "at": op.at,
                    }
                )
            self.detected_attempts.append(
                {
                    "b_pk": pk,
                    "b_number": op.claim.attempt,
                    "b_callee_type": op.callee_type.value,
                    "b_cause": cause,
                    "b_decided_ms": op.decided_ms,
                    "b_beep_end_ms": op.beep_end_ms,
                    "b_history": json.dumps(history),
                }
            )
            self.detected_calls.append(
                {"b_pk": pk, "b_callee_type": op.callee_type.value, "b_at": op.at}
            )
            return True
        if state.status not in ACTIVE:
            return None
        return self._finish(op, state)

    def _finish(self, op: FinishOp, state: _CallState) -> Decision:
        row, result, now = state.row, op.result, op.at
        decision = after_attempt(
            result,
            attempts=row.attempts,
            max_attempts=row.max_attempts,
            reattempt_wait=row.reattempt_wait,
            end_at=row.end_at,
            retry_on=frozenset(CalleeType(t) for t in row.retry_on.split(",") if t),
            cancel_requested=row.cancel_requested,
            now=now,
        )
        check_transition(CallStatus(state.status), decision.status)
        talk = _talk_time(state.answered_at, now)
        cause = result.cause[:CAUSE_LENGTH]
        pk = row.id
        self.attempt_closes.append(
            {
                "b_pk": pk,
                "b_number": op.claim.attempt,
                "b_at": now,
                "b_sip_code": result.sip_code,
                "b_cause": cause,
                "b_callee_type": decision.callee_type.value,
                "b_duration": talk,
            }
        )
        self.call_closes.append(
            {
                "b_pk": pk,
                "b_status": decision.status.value,
                "b_callee_type": decision.callee_type.value,
                "b_next_attempt_at": decision.next_attempt_at or row.next_attempt_at,
                "b_duration": talk if result.answered else row.duration,
                "b_end_reason": decision.end_reason or row.end_reason,
                "b_at": now,
            }
        )
        self._event(pk, CallEvent.DISCONNECTED, now, cause)
        for event in decision.events:
            self._event(pk, event, now, decision.end_reason)
        state.status = decision.status.value
        state.lease_owner = None
        if decision.status is not CallStatus.QUEUED and row.result_url:
            self.final.append((pk, now))
        return decision

    def _event(self, pk: int, event: CallEvent, at: float, detail: str | None) -> None:
        self.events.append({"call_pk": pk, "event": event.value, "at": at, "detail": detail})

    def execute(self, conn: Connection) -> None:
        for statement, rows in (
            (_CONNECT, self.connects),
            (_ANSWER_ATTEMPT, self.answers),
            (_DETECTED_ATTEMPT, self.detected_attempts),
            (_DETECTED_CALL, self.detected_calls),
            (_CLOSE_ATTEMPT, self.attempt_closes),
            (_CLOSE_CALL, self.call_closes),
            (insert(call_events), self.events),  # in operation order: each call's in order
        ):
            if rows:
                conn.execute(statement, rows)


def _talk_time(answered_at: float | None, now: float) -> float | None:
    """Seconds connected; None if never answered, 0 if another host's clock ran ahead."""
    if answered_at is None:
        return None
    return max(0.0, now - answered_at)


__all__ = [
    "AnswerOp",
    "AttemptKey",
    "ClaimRef",
    "DetectedOp",
    "FinishOp",
    "Outcome",
    "ProgressOp",
    "ProgressStore",
    "RingingOp",
]
