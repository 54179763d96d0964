"""Calls: queuing, reading, listing, cancelling."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, select, update

from outdial.accounts import Account, Deployment
from outdial.calls import (
    FINAL_STATUSES,
    PENDING_STATUSES,
    Call,
    CalleeType,
    CallEvent,
    CallStatus,
    Event,
    cancel_outcome,
)
from outdial.errors import Conflict, NotFound
from outdial.options import Schedule
from outdial.store.base import StoreBase
from outdial.store.callrows import (
    attempt_from_row,
    call_from_row,
    call_select,
    lock_calls_in_order,
    may_become,
    owned_call,
    recordings_of,
)
from outdial.store.newcalls import (
    INSERT_CHUNK,
    BatchReport,
    BatchSource,
    CallQuery,
    CallRow,
    ListSource,
    Reject,
    insert_calls,
)
from outdial.store.notify import notify_queued
from outdial.store.tables import (
    attempts,
    batch_rejects,
    batches,
    call_events,
    calls,
    webhook_deliveries,
)


class CallStore(StoreBase):
    # -- queuing ----------------------------------------------------------------------------

    def queue_calls(
        self,
        deployment: Deployment,
        schedule: Schedule,
        new_calls: Sequence[CallRow],
        *,
        source: str | None = None,
        filename: str | None = None,
        rejects: Sequence[Reject] = (),
        total_rows: int | None = None,
    ) -> BatchReport | None:
        """Insert calls (and, for a bulk request, its batch and rejected rows) in one transaction.

        Returns the batch report when ``source`` is given (a bulk request), else None.
        """
        if source is not None:
            rows = len(new_calls) + len(rejects) if total_rows is None else total_rows
            batch = ListSource(new_calls, list(rejects), rows)
            return self.queue_batch(deployment, schedule, batch, source=source, filename=filename)
        with self._write() as conn:
            insert_calls(conn, self._shared_values(deployment, schedule, None), new_calls)
            notify_queued(conn)
        return None

    def queue_batch(
        self,
        deployment: Deployment,
        schedule: Schedule,
        batch: BatchSource,
        *,
        source: str,
        filename: str | None = None,
    ) -> BatchReport:
        """Insert a bulk request's calls and its rejected rows, in one transaction.

        ``batch`` is run to its end (reading and validating every row) before the transaction
        starts: on SQLite a write transaction holds the one write lock, and other requests
        should wait for a short insert, not for a whole upload's validation. Either every
        row's outcome is recorded or none is.
        """
        chunks = list(batch.chunks())
        batch_id = str(uuid.uuid4())
        call_ids: list[str] = []
        with self._write() as conn:
            batch_pk = conn.execute(
                insert(batches)
                .values(
                    batch_id=batch_id,
                    account_id=deployment.account_id,
                    deployment_id=deployment.id,
                    source=source,
                    filename=filename,
                    total_rows=0,
                    accepted=0,
                    rejected=0,
                    created_at=self.clock(),
                )
                .returning(batches.c.id, batches.c.created_at)
            ).one()
            shared = self._shared_values(deployment, schedule, batch_pk.id)
            for chunk in chunks:
                insert_calls(conn, shared, chunk)
                call_ids.extend(call[0] for call in chunk)
            for start in range(0, len(batch.rejects), INSERT_CHUNK):
                conn.execute(
                    insert(batch_rejects),
                    [
                        {
                            "batch_pk": batch_pk.id,
                            "row": r.row,
                            "value": r.value,
                            "reason": r.reason,
                        }
                        for r in batch.rejects[start : start + INSERT_CHUNK]
                    ],
                )
            notify_queued(conn)
            conn.execute(
                update(batches)
                .where(batches.c.id == batch_pk.id)
                .values(
                    total_rows=batch.total_rows,
                    accepted=len(call_ids),
                    rejected=len(batch.rejects),
                )
            )
        return BatchReport(
            batch_id=batch_id,
            source=source,
            filename=filename,
            total_rows=batch.total_rows,
            accepted=len(call_ids),
            rejected=len(batch.rejects),
            created_at=batch_pk.created_at,
            call_ids=tuple(call_ids),
            rejects=tuple(batch.rejects),
        )

    def _shared_values(
        self, deployment: Deployment, schedule: Schedule, batch_pk: int | None
    ) -> dict[str, Any]:
        """The columns every call of one request has in common."""
        now = self.clock()
        return {
            "account_id": deployment.account_id,
            "deployment_id": deployment.id,
            "batch_pk": batch_pk,
            "status": CallStatus.QUEUED.value,
            "attempts": 0,
            "max_attempts": schedule.max_attempts,
            "reattempt_wait": schedule.reattempt_wait,
            "queued_at": now,
            "start_at": schedule.start_at,
            "end_at": schedule.end_at,
            "next_attempt_at": schedule.start_at,
            "result_url": schedule.result_url,
            "cancel_requested": False,
            "updated_at": now,
        }

    def batch_report(self, account: Account, batch_id: str) -> BatchReport:
        with self._read() as conn:
            row = conn.execute(select(batches).where(batches.c.batch_id == batch_id)).first()
            if row is None or row.account_id != account.id:  # the same answer for both
                raise NotFound(f"batch {batch_id!r} not found")
            call_ids = conn.execute(
                select(calls.c.call_id).where(calls.c.batch_pk == row.id).order_by(calls.c.id)
            ).scalars()
            rejected = conn.execute(
                select(batch_rejects.c.row, batch_rejects.c.value, batch_rejects.c.reason)
                .where(batch_rejects.c.batch_pk == row.id)
                .order_by(batch_rejects.c.id)
            ).all()
            return BatchReport(
                batch_id=row.batch_id,
                source=row.source,
                filename=row.filename,
                total_rows=row.total_rows,
                accepted=row.accepted,
                rejected=row.rejected,
                created_at=row.created_at,
                call_ids=tuple(call_ids),
                rejects=tuple(Reject(r.row, r.value, r.reason) for r in rejected),
            )

    # -- reading calls ----------------------------------------------------------------------

    def get_call(self, account: Account, call_id: str) -> Call:
        with self._read() as conn:
            row = conn.execute(call_select().where(calls.c.call_id == call_id)).first()
            row = owned_call(row, account, call_id)
            return self._call_with_history(conn, row)

    def _call_with_history(self, conn: Connection, row: Row[Any]) -> Call:
        event_rows = conn.execute(
            select(call_events.c.event, call_events.c.at, call_events.c.detail)
            .where(call_events.c.call_pk == row.id)
            .order_by(call_events.c.id)
        ).all()
        attempt_rows = conn.execute(
            select(attempts).where(attempts.c.call_pk == row.id).order_by(attempts.c.number)
        ).all()
        # The queued event is the call's creation: its time is queued_at, not a second row.
        events = (
            Event(CallEvent.QUEUED.value, row.queued_at),
            *(Event(e.event, e.at, e.detail) for e in event_rows),
        )
        return call_from_row(
            row,
            events,
            tuple(attempt_from_row(a) for a in attempt_rows),
            recordings_of(conn, row.id, row.call_id),
        )

    def list_calls(self, deployment: Deployment, query: CallQuery) -> tuple[list[Call], int]:
        conditions = [calls.c.deployment_id == deployment.id]
        if query.group == "pending":
            conditions.append(calls.c.status.in_([s.value for s in PENDING_STATUSES]))
        elif query.group == "completed":
            conditions.append(calls.c.status.in_([s.value for s in FINAL_STATUSES]))
        if query.statuses:
            conditions.append(calls.c.status.in_([s.value for s in query.statuses]))
        if query.callee_types:
            conditions.append(calls.c.callee_type.in_([t.value for t in query.callee_types]))
        if query.phone_number:
            conditions.append(calls.c.phone_number.contains(query.phone_number, autoescape=True))
        if query.message_reference:
            conditions.append(calls.c.message_reference == query.message_reference)
        if query.since is not None:
            conditions.append(calls.c.queued_at >= query.since)
        if query.until is not None:
            conditions.append(calls.c.queued_at < query.until)
        where = and_(*conditions)
        order = calls.c.id.desc() if query.newest_first else calls.c.id.asc()
        with self._read() as conn:
            total = conn.execute(select(func.count()).select_from(calls).where(where)).scalar_one()
            rows = conn.execute(
                call_select()
                .where(where)
                .order_by(order)
                .limit(query.per_page)
                .offset((query.page - 1) * query.per_page)
            ).all()
        return [call_from_row(row) for row in rows], total

    # -- cancelling -------------------------------------------------------------------------

    def cancel_call(self, account: Account, call_id: str, reason: str = "canceled") -> Call:
        """Cancel one call: a queued call becomes final, one being dialed is marked for hang-up.

        Each change is a guarded UPDATE that reports the rows it changed, so a dialer claiming
        the call at the same moment cannot make the cancel record something that did not happen.
        """
        now = self.clock()
        with self._write() as conn:
            row = owned_call(
                conn.execute(
                    select(calls.c.id, calls.c.account_id).where(calls.c.call_id == call_id)
                ).first(),
                account,
                call_id,
            )
            this_call = calls.c.id == row.id
            cancelled = self._finish_queued(conn, this_call, now, reason) or self._request_hangup(
                conn, this_call, now, reason
            )
            if not cancelled:
                status, requested = conn.execute(
                    select(calls.c.status, calls.c.cancel_requested).where(this_call)
                ).one()
                if status == CallStatus.CONNECTED.value:
                    raise Conflict(
                        f"call {call_id!r} is connected: it ends when its call flow hangs up"
                    )
                if not (status == CallStatus.DIALING.value and requested):
                    raise Conflict(f"call {call_id!r} is already {status}")
                # already being hung up: cancelling again changes nothing and is no error
            full = conn.execute(call_select().where(this_call)).one()
            return self._call_with_history(conn, full)

    def cancel_deployment(self, deployment: Deployment, reason: str = "canceled") -> int:
        """Cancel every pending call of a deployment; returns how many were affected.

        Queued calls become final; calls being dialed are marked for hang-up; connected calls
        go on (hanging up on someone mid-message is worse than letting the flow finish).
        """
        now = self.clock()
        ours = calls.c.deployment_id == deployment.id
        with self._write() as conn:
            finished = self._finish_queued(conn, ours, now, reason)
            hung_up = self._request_hangup(conn, ours, now, reason)
        return finished + hung_up

    def _finish_queued(self, conn: Connection, where: Any, now: float, reason: str) -> int:
        """Queued calls matching ``where`` become uncalled (never attempted) or failed."""
        never, noattempt = cancel_outcome(0, None)
        failed, _ = cancel_outcome(1, None)
        queued = and_(where, calls.c.status == CallStatus.QUEUED.value)
        lock_calls_in_order(conn, queued)
        changed = list(
            conn.execute(
                update(calls)
                .where(queued, calls.c.attempts == 0)
                .values(
                    status=never.value,
                    callee_type=noattempt.value,
                    end_reason=reason,
                    updated_at=now,
                )
                .returning(calls.c.id)
            ).scalars()
        )
        changed += conn.execute(
            update(calls)
            .where(queued, may_become(failed), calls.c.attempts > 0)
            .values(
                status=failed.value,
                callee_type=func.coalesce(calls.c.callee_type, CalleeType.UNKNOWN.value),
                end_reason=reason,
                updated_at=now,
            )
            .returning(calls.c.id)
        ).scalars()
        self._add_events(conn, changed, CallEvent.CANCELED, now, reason)
        for start in range(0, len(changed), INSERT_CHUNK):
            with_callback = (
                conn.execute(
                    select(calls.c.id).where(
                        calls.c.id.in_(changed[start : start + INSERT_CHUNK]),
                        calls.c.result_url.is_not(None),
                    )
                )
                .scalars()
                .all()
            )
            for call_pk in with_callback:
                self._enqueue_result(conn, call_pk, now)
        return len(changed)

    def _request_hangup(self, conn: Connection, where: Any, now: float, reason: str) -> int:
        """Calls being dialed are marked; the dialer hangs them up and makes them final."""
        lock_calls_in_order(
            conn,
            and_(
                where,
                calls.c.status == CallStatus.DIALING.value,
                calls.c.cancel_requested.is_(False),
            ),
        )
        changed = list(
            conn.execute(
                update(calls)
                .where(
                    where,
                    calls.c.status == CallStatus.DIALING.value,
                    calls.c.cancel_requested.is_(False),
                )
                .values(cancel_requested=True, end_reason=reason, updated_at=now)
                .returning(calls.c.id)
            ).scalars()
        )
        self._add_events(conn, changed, CallEvent.CANCELED, now, reason)
        return len(changed)

    # -- result callbacks -------------------------------------------------------------------

    def _enqueue_result(self, conn: Connection, call_pk: int, now: float) -> None:
        """Queue the result callback of a call that just became final, if it has a result_url.

        In the transaction that made it final: the callback is sent once, whatever crashes.
        """
        row = conn.execute(call_select().where(calls.c.id == call_pk)).one()
        if not row.result_url:
            return
        body = json.dumps(self._call_with_history(conn, row).details(), separators=(",", ":"))
        conn.execute(
            insert(webhook_deliveries).values(
                call_pk=call_pk,
                account_id=row.account_id,
                url=row.result_url,
                body=body,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    @staticmethod
    def _add_events(
        conn: Connection, call_pks: Sequence[int], event: CallEvent, now: float, detail: str | None
    ) -> None:
        for start in range(0, len(call_pks), INSERT_CHUNK):
            conn.execute(
                insert(call_events),
                [
                    {"call_pk": pk, "event": event.value, "at": now, "detail": detail}
                    for pk in call_pks[start : start + INSERT_CHUNK]
                ],
            )
