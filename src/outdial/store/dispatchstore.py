"""The dialer's side of the store: trunks, claims, call progress, leases, expiry, webhooks.

Every change a dialer makes is a guarded statement: it names the status (and the lease owner)
it expects, so a worker that lost its lease, or a call cancelled at the same moment, changes
nothing. The partial unique index ``ux_attempts_one_open_per_call`` makes a second open attempt
of one call impossible, not just unlikely.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from outdial.calls import (
    FINAL_STATUSES,
    CalleeType,
    CallEvent,
    CallStatus,
    cancel_outcome,
)
from outdial.errors import Conflict, InvalidField
from outdial.pacing import advance, allowance, share
from outdial.store.callrows import lock_calls_in_order, may_become
from outdial.store.progress import ACTIVE, ProgressStore
from outdial.store.tables import (
    attempts,
    calls,
    deployments,
    trunks,
)
from outdial.trunks import Trunk, TrunkKind

REAP_GRACE = 1.0  # seconds past a lease's expiry before it is taken over (clock skew)
CANDIDATE_FACTOR = 4  # candidates read per free line, so calling hours can skip some


@dataclass(frozen=True, slots=True)
class Claim:
    """A call this worker now holds the lease on, with what it needs to dial it."""

    call_pk: int
    call_id: str
    deployment_id: int
    trunk_id: int
    attempt: int
    phone_number: str
    caller_id: str | None
    postd: str | None
    ring_timeout: float
    detection: bool = True  # run callee-type detection when answered
    detection_params: str | None = None  # the deployment's JSON of DetectionParams overrides
    application_id: int = 0  # whose flow runs on answer (its newest version)
    flow_url: str | None = None  # the deployment's flow service, asked while the phone rings
    call_parameters: str = "{}"  # JSON object: the flow's variables


# Decides, per (call_pk, phone_number), whether calling hours allow dialing now; returns the
# pks that may be dialed and, for the others, when to look again (None: never in range).
HoursFilter = Callable[[str, Sequence[tuple[int, str]], float], tuple[list[int], dict[int, float]]]


@dataclass(frozen=True, slots=True)
class Stats:
    calls_by_status: dict[tuple[int, str], int]  # (deployment_id, status) -> calls
    lines_in_use: dict[str, int]  # trunk name -> calls dialing or connected
    outcomes: dict[tuple[str, str], int]  # (final status, callee type) -> calls


@dataclass(frozen=True, slots=True)
class Held:
    """A call a worker holds: its state, for the heartbeat."""

    call_pk: int
    cancel_requested: bool


class DispatchStore(ProgressStore):
    # -- trunks -----------------------------------------------------------------------------

    def create_trunk(
        self, name: str, kind: TrunkKind, *, lines: int, cps: float, config: str
    ) -> Trunk:
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidField("name", "must be 1 to 100 characters")
        if lines < 1:
            raise InvalidField("lines", f"{lines} must be at least 1")
        if not cps > 0:
            raise InvalidField("cps", f"{cps} must be more than 0")
        try:
            with self._write() as conn:
                trunk_id = conn.execute(
                    insert(trunks)
                    .values(
                        name=name,
                        kind=kind.value,
                        lines=lines,
                        cps=cps,
                        config=self._seal(config),  # a SIP trunk's holds its password
                        next_dial_at=0.0,
                        created_at=self.clock(),
                    )
                    .returning(trunks.c.id)
                ).scalar_one()
        except IntegrityError:
            raise Conflict(f"a trunk named {name!r} already exists") from None
        return Trunk(trunk_id, name, kind, lines, cps, config)

    def trunk_by_name(self, name: str) -> Trunk | None:
        with self._read() as conn:
            row = conn.execute(select(trunks).where(trunks.c.name == name.strip())).first()
        return self._trunk(row) if row else None

    def all_trunks(self) -> list[Trunk]:
        with self._read() as conn:
            rows = conn.execute(select(trunks).order_by(trunks.c.id)).all()
        return [self._trunk(row) for row in rows]

    def _trunk(self, row: Any) -> Trunk:
        config = self._unseal(row.config)
        return Trunk(row.id, row.name, TrunkKind(row.kind), row.lines, row.cps, config)

    # -- claiming ---------------------------------------------------------------------------

    def claim(
        self,
        worker: str,
        *,
        lease: float,
        limit: int,
        hours: HoursFilter,
        trunk_ids: Sequence[int] | None = None,
    ) -> list[Claim]:
        """Claim due calls this worker may dial now, within every line and rate limit.

        One transaction: it locks the trunks and deployments it decides for (PostgreSQL
        ``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` holds the whole database), counts the lines
        in use, applies pacing and the fair share between deployments of a trunk, then moves
        the oldest due calls of each deployment to ``dialing`` and opens their attempts.
        """
        now = self.clock()
        claimed: list[Claim] = []
        with self._write() as conn:
            trunk_query = select(trunks).order_by(trunks.c.id).with_for_update()
            if trunk_ids is not None:
                trunk_query = trunk_query.where(trunks.c.id.in_(trunk_ids))
            trunk_rows = conn.execute(trunk_query).all()
            if not trunk_rows:
                return []
            due = (
                select(calls.c.id)
                .where(
                    calls.c.deployment_id == deployments.c.id,
                    calls.c.status == CallStatus.QUEUED.value,
                    calls.c.next_attempt_at <= now,
                )
                .exists()
            )
            dep_rows = conn.execute(
                select(deployments)
                .where(
                    deployments.c.trunk_id.in_([t.id for t in trunk_rows]),
                    deployments.c.deleted_at.is_(None),
                    due,
                )
                .order_by(deployments.c.next_dial_at, deployments.c.id)
                .with_for_update()
            ).all()
            if not dep_rows:
                return []
            in_use: dict[int, int] = dict(
                conn.execute(
                    select(calls.c.deployment_id, func.count())
                    .where(calls.c.status.in_(ACTIVE))
                    .group_by(calls.c.deployment_id)
                ).all()
            )
            by_trunk: dict[int, list[Any]] = {}
            for dep in dep_rows:
                by_trunk.setdefault(dep.trunk_id, []).append(dep)
            trunk_in_use: dict[int, int] = dict(
                conn.execute(
                    select(deployments.c.trunk_id, func.count())
                    .select_from(calls.join(deployments, deployments.c.id == calls.c.deployment_id))
                    .where(calls.c.status.in_(ACTIVE))
                    .group_by(deployments.c.trunk_id)
                ).all()
            )
            for trunk in trunk_rows:
                deps = by_trunk.get(trunk.id, [])
                if not deps:
                    continue
                trunk_free = min(
                    trunk.lines - trunk_in_use.get(trunk.id, 0),
                    allowance(trunk.next_dial_at, trunk.cps, now),
                    limit - len(claimed),
                )
                if trunk_free <= 0:
                    continue
                wants = [
                    (
                        dep.id,
                        min(
                            dep.max_lines - in_use.get(dep.id, 0),
                            allowance(dep.next_dial_at, dep.cps, now),
                        ),
                    )
                    for dep in deps
                ]
                grants = share(trunk_free, wants)
                started_on_trunk = 0
                for dep in deps:
                    grant = grants.get(dep.id, 0)
                    if grant <= 0:
                        continue
                    got = self._claim_for(conn, dep, trunk.id, grant, worker, lease, now, hours)
                    claimed.extend(got)
                    started_on_trunk += len(got)
                    if got:
                        conn.execute(
                            update(deployments)
                            .where(deployments.c.id == dep.id)
                            .values(next_dial_at=advance(dep.next_dial_at, dep.cps, now, len(got)))
                        )
                if started_on_trunk:
                    conn.execute(
                        update(trunks)
                        .where(trunks.c.id == trunk.id)
                        .values(
                            next_dial_at=advance(
                                trunk.next_dial_at, trunk.cps, now, started_on_trunk
                            )
                        )
                    )
        return claimed

    def _claim_for(
        self,
        conn: Connection,
        dep: Any,
        trunk_id: int,
        grant: int,
        worker: str,
        lease: float,
        now: float,
        hours: HoursFilter,
    ) -> list[Claim]:
        candidates = conn.execute(
            select(calls.c.id, calls.c.phone_number)
            .where(
                calls.c.deployment_id == dep.id,
                calls.c.status == CallStatus.QUEUED.value,
                calls.c.next_attempt_at <= now,
                calls.c.cancel_requested.is_(False),
                or_(calls.c.end_at.is_(None), calls.c.end_at > now),
            )
            .order_by(calls.c.id)
            .limit(grant * CANDIDATE_FACTOR if dep.calling_hours else grant)
            .with_for_update(skip_locked=True)
        ).all()
        if not candidates:
            return []
        if dep.calling_hours:
            allowed, later = hours(
                dep.calling_hours, [(c.id, c.phone_number) for c in candidates], now
            )
            for pk, at in later.items():
                conn.execute(
                    update(calls)
                    .where(calls.c.id == pk, calls.c.status == CallStatus.QUEUED.value)
                    .values(next_attempt_at=at, updated_at=now)
                )
            ids = allowed[:grant]
        else:
            ids = [c.id for c in candidates]
        if not ids:
            return []
        rows = conn.execute(
            update(calls)
            .where(calls.c.id.in_(ids), may_become(CallStatus.DIALING))
            .values(
                status=CallStatus.DIALING.value,
                attempts=calls.c.attempts + 1,
                last_attempt_at=now,
                lease_owner=worker,
                lease_expires_at=now + lease,
                updated_at=now,
            )
            .returning(
                calls.c.id,
                calls.c.call_id,
                calls.c.attempts,
                calls.c.phone_number,
                calls.c.ani,
                calls.c.postd,
                calls.c.call_parameters,
            )
        ).all()
        rows = sorted(rows, key=lambda r: r.id)
        conn.execute(
            insert(attempts),
            [{"call_pk": r.id, "number": r.attempts, "started_at": now} for r in rows],
        )
        self._add_events(conn, [r.id for r in rows], CallEvent.DIALING, now, None)
        return [
            Claim(
                call_pk=r.id,
                call_id=r.call_id,
                deployment_id=dep.id,
                trunk_id=trunk_id,
                attempt=r.attempts,
                phone_number=r.phone_number,
                caller_id=r.ani or dep.caller_id,
                postd=r.postd,
                ring_timeout=dep.ring_timeout,
                detection=dep.detection,
                detection_params=dep.detection_params,
                application_id=dep.application_id,
                flow_url=dep.flow_url,
                call_parameters=r.call_parameters,
            )
            for r in rows
        ]

    # -- leases -----------------------------------------------------------------------------

    def heartbeat(self, worker: str, lease: float, call_pks: Sequence[int]) -> list[Held]:
        """Extend the leases of the calls this worker is really placing; returns their state.

        Only ``call_pks`` are renewed: a call the worker lost track of (its task failed) must
        be left to expire, so that the reaper closes it instead of it staying dialing forever.
        """
        if not call_pks:
            return []
        now = self.clock()
        ours = and_(
            calls.c.id.in_(call_pks), calls.c.lease_owner == worker, calls.c.status.in_(ACTIVE)
        )
        with self._write() as conn:
            lock_calls_in_order(conn, ours)
            conn.execute(update(calls).where(ours).values(lease_expires_at=now + lease))
            rows = conn.execute(select(calls.c.id, calls.c.cancel_requested).where(ours)).all()
        return [Held(r.id, r.cancel_requested) for r in rows]

    def reap_expired_leases(self) -> int:
        """Close the attempts of calls whose worker stopped renewing its lease (it died).

        A call that was ringing counts as a line failure (and is retried per policy); one that
        was connected had been answered, so it completes. Returns how many were taken over.
        """
        now = self.clock()
        with self._write() as conn:
            rows = conn.execute(
                select(calls, deployments.c.retry_on)
                .join(deployments, deployments.c.id == calls.c.deployment_id)
                .where(calls.c.status.in_(ACTIVE), calls.c.lease_expires_at < now - REAP_GRACE)
                .with_for_update(of=calls, skip_locked=True)
            ).all()
            self._close_taken_over(conn, rows, now)
        return len(rows)

    # -- windows ----------------------------------------------------------------------------

    def expire_windows(self) -> int:
        """Queued calls whose end_timestamp has passed become final (SPEC §2)."""
        now = self.clock()
        with self._write() as conn:
            rows = conn.execute(
                select(calls.c.id, calls.c.attempts, calls.c.callee_type)
                .where(
                    calls.c.status == CallStatus.QUEUED.value,
                    calls.c.end_at.is_not(None),
                    calls.c.end_at <= now,
                )
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                last = CalleeType(row.callee_type) if row.callee_type else None
                status, callee = cancel_outcome(row.attempts, last)
                changed = conn.execute(
                    update(calls)
                    .where(calls.c.id == row.id, may_become(status))
                    .values(
                        status=status.value,
                        callee_type=callee.value,
                        end_reason="the call window closed",
                        updated_at=now,
                    )
                ).rowcount
                if changed:
                    self._add_events(conn, [row.id], CallEvent.EXPIRED, now, None)
                    self._enqueue_result(conn, row.id, now)
        return len(rows)

    def next_due_at(self) -> float | None:
        """When the earliest queued call of a deployment with a trunk becomes due."""
        with self._read() as conn:
            value: float | None = conn.execute(
                select(func.min(calls.c.next_attempt_at))
                .select_from(calls.join(deployments, deployments.c.id == calls.c.deployment_id))
                .where(
                    calls.c.status == CallStatus.QUEUED.value,
                    deployments.c.trunk_id.is_not(None),
                )
            ).scalar()
        return value

    # -- figures ----------------------------------------------------------------------------

    def stats(self) -> Stats:
        """Counts for /metrics: calls by deployment and status, lines in use, outcomes."""
        with self._read() as conn:
            by_status = conn.execute(
                select(calls.c.deployment_id, calls.c.status, func.count()).group_by(
                    calls.c.deployment_id, calls.c.status
                )
            ).all()
            lines = conn.execute(
                select(trunks.c.name, func.count(calls.c.id))
                .select_from(
                    trunks.join(deployments, deployments.c.trunk_id == trunks.c.id).join(
                        calls,
                        and_(calls.c.deployment_id == deployments.c.id, calls.c.status.in_(ACTIVE)),
                    )
                )
                .group_by(trunks.c.name)
            ).all()
            outcomes = conn.execute(
                select(calls.c.status, calls.c.callee_type, func.count())
                .where(calls.c.status.in_([s.value for s in FINAL_STATUSES]))
                .group_by(calls.c.status, calls.c.callee_type)
            ).all()
            trunk_names = conn.execute(select(trunks.c.name)).scalars().all()
        in_use = {name: 0 for name in trunk_names}
        in_use.update({name: count for name, count in lines})
        return Stats(
            calls_by_status={(d, s): n for d, s, n in by_status},
            lines_in_use=in_use,
            outcomes={(s, t or ""): n for s, t, n in outcomes},
        )


__all__ = ["Claim", "DispatchStore", "Held", "HoursFilter", "Stats"]
