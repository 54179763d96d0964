"""Result callbacks: the outbox of deliveries, claimed by senders, and each try's outcome.

``CallStore._enqueue_result`` writes one delivery per final call with a ``result_url``, in
the transaction that makes the call final. Senders claim due deliveries here and record every
try. The claim is the delivery's ``next_attempt_at`` moved a lease ahead: other senders skip it
until then, and that value doubles as the claim's fencing token, so a sender whose lease ran out
cannot reschedule a delivery another sender holds now.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, insert, select, update

from outdial.accounts import Account
from outdial.options import redact_url
from outdial.store.base import StoreBase
from outdial.store.callrows import owned_call
from outdial.store.tables import accounts, calls, webhook_attempts, webhook_deliveries

MAX_ERROR_CHARS = 1000  # of an attempt's error message kept in the database


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for its next try (or being tried)
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # every try failed until the give-up horizon


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery a sender has claimed: what to POST, where, and how to sign it."""

    id: int
    call_id: str
    url: str
    body: str  # the exact JSON to send (and sign)
    attempts: int  # tries made before this one
    secret: str  # the account's webhook secret
    created_at: float  # Unix seconds; the give-up horizon counts from here
    claimed_until: float  # the claim's lease; pass it back to ``record_attempt``


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One try: when it started, the receiver's status code or why there was none."""

    at: float
    status_code: int | None
    error: str | None
    duration_ms: float

    def details(self) -> dict[str, Any]:
        return {
            "timestamp": int(self.at),
            "status_code": self.status_code,
            "error": self.error,
            "duration_ms": round(self.duration_ms),
        }


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """A delivery and its tries, as the API shows them."""

    id: int
    call_id: str
    url: str
    state: DeliveryState
    attempts: int
    next_attempt_at: float | None  # None once delivered or failed
    last_status_code: int | None
    last_error: str | None
    created_at: float
    delivered_at: float | None
    attempt_list: tuple[DeliveryAttempt, ...] = ()

    def details(self) -> dict[str, Any]:
        """The delivery as JSON (timestamps in Unix seconds, like ``call_details``)."""
        return {
            "delivery_id": self.id,
            "call_id": self.call_id,
            "url": redact_url(self.url),
            "state": self.state.value,
            "attempts": self.attempts,
            "next_attempt_timestamp": _seconds(self.next_attempt_at),
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
            "created_timestamp": _seconds(self.created_at),
            "delivered_timestamp": _seconds(self.delivered_at),
            "history": [attempt.details() for attempt in self.attempt_list],
        }


class WebhookStore(StoreBase):
    def claim_due_deliveries(self, worker: str, limit: int, lease: float) -> list[Delivery]:
        """Take up to ``limit`` due pending deliveries for ``lease`` seconds, oldest due first.

        One ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING`` (on
        SQLite, ``BEGIN IMMEDIATE`` serializes claimers instead), so two senders never hold one
        delivery at once. A sender that dies loses its claims when the lease runs out. There is
        no owner column: ``worker`` is for callers' logs, the lease itself is the claim.
        """
        if limit <= 0:
            return []
        now = self.clock()
        until = now + lease
        pending = DeliveryState.PENDING.value
        wd = webhook_deliveries
        due = (
            select(wd.c.id)
            .where(wd.c.state == pending, wd.c.next_attempt_at <= now)
            .order_by(wd.c.next_attempt_at, wd.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._write() as conn:
            ids = list(
                conn.execute(
                    update(wd)
                    .where(wd.c.id.in_(due), wd.c.state == pending, wd.c.next_attempt_at <= now)
                    .values(next_attempt_at=until)
                    .returning(wd.c.id)
                ).scalars()
            )
            if not ids:
                return []
            rows = conn.execute(
                select(
                    wd.c.id,
                    wd.c.url,
                    wd.c.body,
                    wd.c.attempts,
                    wd.c.created_at,
                    calls.c.call_id,
                    accounts.c.webhook_secret,
                )
                .join(calls, calls.c.id == wd.c.call_pk)
                .join(accounts, accounts.c.id == wd.c.account_id)
                .where(wd.c.id.in_(ids))
                .order_by(wd.c.id)
            ).all()
        return [
            Delivery(
                id=r.id,
                call_id=r.call_id,
                url=r.url,
                body=r.body,
                attempts=r.attempts,
                secret=self._unseal(r.webhook_secret),
                created_at=r.created_at,
                claimed_until=until,
            )
            for r in rows
        ]

    def record_attempt(
        self,
        delivery_id: int,
        status_code: int | None,
        error: str | None,
        duration_ms: float,
        next_attempt_at: float | None,
        gave_up: bool,
        *,
        claimed_until: float,
    ) -> DeliveryState | None:
        """Record one try and move the delivery on; returns its new state.

        A 2xx marks it delivered (whoever held the claim: it did arrive). Otherwise it fails
        for good when ``gave_up``, or waits until ``next_attempt_at`` — but only if the claim
        ``claimed_until`` (from ``Delivery``) is still the delivery's: a sender whose lease ran
        out records its try and changes nothing else (returns None). The try's time is when
        it started: now less its duration.
        """
        now = self.clock()
        error = error[:MAX_ERROR_CHARS] if error else None
        wd = webhook_deliveries
        pending = wd.c.state == DeliveryState.PENDING.value
        ours = wd.c.next_attempt_at == claimed_until
        with self._write() as conn:
            conn.execute(
                insert(webhook_attempts).values(
                    delivery_id=delivery_id,
                    at=now - duration_ms / 1000,
                    status_code=status_code,
                    error=error,
                    duration_ms=duration_ms,
                )
            )
            conn.execute(
                update(wd)
                .where(wd.c.id == delivery_id)
                .values(attempts=wd.c.attempts + 1, last_status_code=status_code, last_error=error)
            )
            if status_code is not None and 200 <= status_code < 300:
                state, where, values = DeliveryState.DELIVERED, pending, {"delivered_at": now}
            elif gave_up:
                state, where, values = DeliveryState.FAILED, pending & ours, {}
            elif next_attempt_at is not None:
                state, where = DeliveryState.PENDING, pending & ours
                values = {"next_attempt_at": next_attempt_at}
            else:
                raise ValueError("a failed try needs next_attempt_at, or gave_up")
            changed = conn.execute(
                update(wd).where(wd.c.id == delivery_id, where).values(state=state.value, **values)
            ).rowcount
        return state if changed else None

    def deliveries_for_call(self, account: Account, call_id: str) -> list[DeliveryView]:
        """The result callbacks of one call (none before it is final) with all their tries."""
        wd = webhook_deliveries
        with self._read() as conn:
            call = owned_call(
                conn.execute(
                    select(calls.c.id, calls.c.account_id).where(calls.c.call_id == call_id)
                ).first(),
                account,
                call_id,
            )
            rows = conn.execute(select(wd).where(wd.c.call_pk == call.id).order_by(wd.c.id)).all()
            tries: dict[int, list[DeliveryAttempt]] = {r.id: [] for r in rows}
            if tries:
                for a in conn.execute(
                    select(webhook_attempts)
                    .where(webhook_attempts.c.delivery_id.in_(list(tries)))
                    .order_by(webhook_attempts.c.id)
                ):
                    tries[a.delivery_id].append(
                        DeliveryAttempt(a.at, a.status_code, a.error, a.duration_ms)
                    )
        return [_view(r, call_id, tuple(tries[r.id])) for r in rows]

    def webhook_backlog(self) -> int:
        """How many deliveries are still pending (for metrics)."""
        with self._read() as conn:
            count: int = conn.execute(
                select(func.count())
                .select_from(webhook_deliveries)
                .where(webhook_deliveries.c.state == DeliveryState.PENDING.value)
            ).scalar_one()
        return count


def _view(row: Row[Any], call_id: str, tries: tuple[DeliveryAttempt, ...]) -> DeliveryView:
    state = DeliveryState(row.state)
    return DeliveryView(
        id=row.id,
        call_id=call_id,
        url=row.url,
        state=state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if state is DeliveryState.PENDING else None,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        attempt_list=tries,
    )


def _seconds(value: float | None) -> int | None:
    return None if value is None else int(value)


__all__ = ["Delivery", "DeliveryAttempt", "DeliveryState", "DeliveryView", "WebhookStore"]
