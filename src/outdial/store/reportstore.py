"""Figures for the web UI: queue counts, lines in use, outcomes, calls per hour.

Read-only summaries of the calls table, per deployment. Each is one grouped query.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import Integer, and_, cast, func, select

from outdial.accounts import Deployment
from outdial.calls import FINAL_STATUSES, PENDING_STATUSES, Call, CallStatus
from outdial.store.callstore import CallStore
from outdial.store.newcalls import CallQuery
from outdial.store.tables import calls

HOUR = 3600  # seconds
IN_PROGRESS = (CallStatus.DIALING.value, CallStatus.CONNECTED.value)  # holding a line
EXPORT_PAGE = 2000  # calls read per query while exporting


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """How many calls of a deployment are in each status."""

    by_status: dict[str, int] = field(default_factory=dict)

    def of(self, *statuses: CallStatus) -> int:
        return sum(self.by_status.get(s.value, 0) for s in statuses)

    def count(self, status: str) -> int:
        return self.by_status.get(status, 0)

    @property
    def queued(self) -> int:
        return self.of(CallStatus.QUEUED)

    @property
    def in_progress(self) -> int:
        """Calls holding a line: dialing or connected."""
        return self.of(CallStatus.DIALING, CallStatus.CONNECTED)

    @property
    def pending(self) -> int:
        return self.of(*PENDING_STATUSES)

    @property
    def final(self) -> int:
        return self.of(*FINAL_STATUSES)

    @property
    def answer_rate(self) -> float | None:
        """Answered calls over calls that were attempted and are final (None before any)."""
        attempted = self.of(CallStatus.COMPLETED, CallStatus.FAILED)
        return self.of(CallStatus.COMPLETED) / attempted if attempted else None


@dataclass(frozen=True, slots=True)
class HourCount:
    hour: float  # Unix seconds at the start of the hour (UTC)
    answered: int
    unanswered: int


class ReportStore(CallStore):
    def queue_counts(self, deployment_ids: Sequence[int]) -> dict[int, QueueCounts]:
        """Calls per status for each deployment (every id given has an entry)."""
        found: dict[int, dict[str, int]] = {d: {} for d in deployment_ids}
        if not deployment_ids:
            return {}
        with self._read() as conn:
            rows = conn.execute(
                select(calls.c.deployment_id, calls.c.status, func.count())
                .where(calls.c.deployment_id.in_(list(deployment_ids)))
                .group_by(calls.c.deployment_id, calls.c.status)
            ).all()
        for deployment_id, status, count in rows:
            found[deployment_id][status] = count
        return {d: QueueCounts(by_status) for d, by_status in found.items()}

    def outcomes_by_callee_type(self, deployment: Deployment) -> dict[str, int]:
        """Final calls per callee type of their last attempt, most frequent first."""
        with self._read() as conn:
            rows = conn.execute(
                select(calls.c.callee_type, func.count())
                .where(
                    calls.c.deployment_id == deployment.id,
                    calls.c.status.in_([s.value for s in FINAL_STATUSES]),
                )
                .group_by(calls.c.callee_type)
            ).all()
        counted = {(callee_type or "unknown"): count for callee_type, count in rows}
        return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0])))

    def calls_per_hour(self, deployment: Deployment, since: float, until: float) -> list[HourCount]:
        """Final attempted calls per hour of their last attempt, answered or not, oldest first.

        Every hour from ``since`` to ``until`` has an entry, zero when nothing ended in it.
        """
        first = int(since // HOUR)
        last = int(until // HOUR)
        with self._read() as conn:
            # Unix seconds are positive, so truncating (SQLite's CAST) is flooring; PostgreSQL's
            # CAST of a float rounds, so floor() first there.
            seconds = calls.c.last_attempt_at / HOUR
            if conn.dialect.name == "postgresql":
                seconds = func.floor(seconds)
            bucket = cast(seconds, Integer).label("bucket")
            rows = conn.execute(
                select(bucket, calls.c.status, func.count())
                .where(
                    calls.c.deployment_id == deployment.id,
                    calls.c.status.in_([CallStatus.COMPLETED.value, CallStatus.FAILED.value]),
                    and_(
                        calls.c.last_attempt_at >= first * HOUR,
                        calls.c.last_attempt_at < (last + 1) * HOUR,
                    ),
                )
                .group_by(bucket, calls.c.status)
            ).all()
        answered = dict.fromkeys(range(first, last + 1), 0)
        unanswered = dict.fromkeys(range(first, last + 1), 0)
        for hour, status, count in rows:
            target = answered if status == CallStatus.COMPLETED.value else unanswered
            if int(hour) in target:
                target[int(hour)] += count
        return [HourCount(h * HOUR, answered[h], unanswered[h]) for h in answered]

    def iter_calls(self, deployment: Deployment, query: CallQuery) -> Iterator[Call]:
        """Every call matching ``query`` (its paging ignored), read a page at a time."""
        page = 1
        while True:
            found, _ = self.list_calls(deployment, replace(query, page=page, per_page=EXPORT_PAGE))
            yield from found
            if len(found) < EXPORT_PAGE:
                return
            page += 1


__all__ = ["HourCount", "QueueCounts", "ReportStore"]
