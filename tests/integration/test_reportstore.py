"""The UI's figures, on SQLite and PostgreSQL: queue counts, outcomes, calls per hour, export."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from outdial.accounts import Deployment
from outdial.store.newcalls import CallQuery
from outdial.store.reportstore import HOUR
from outdial.store.store import Store
from outdial.store.tables import calls

MakeCalls = Callable[..., list[str]]
MakeDeployment = Callable[..., Deployment]


def force(store: Store, call_id: str, **values: Any) -> None:
    """Set columns of a call directly, standing in for the dialer."""
    with store.engine.begin() as conn:
        conn.execute(update(calls).where(calls.c.call_id == call_id).values(**values))


def test_queue_counts_per_deployment_and_status(
    store: Store, make_deployment: MakeDeployment, make_calls: MakeCalls
) -> None:
    busy, idle = make_deployment(), make_deployment()
    ids = make_calls(busy, ["+16175550101", "+16175550102", "+16175550103", "+16175550104"])
    force(store, ids[0], status="dialing", attempts=1)
    force(store, ids[1], status="completed", attempts=1, callee_type="voice")
    force(store, ids[2], status="failed", attempts=1, callee_type="busy")
    counts = store.queue_counts([busy.id, idle.id])
    assert counts[busy.id].queued == 1
    assert counts[busy.id].in_progress == 1
    assert counts[busy.id].pending == 2
    assert counts[busy.id].final == 2
    assert counts[busy.id].answer_rate == 0.5
    assert counts[idle.id].by_status == {}
    assert counts[idle.id].answer_rate is None
    assert store.queue_counts([]) == {}


def test_outcomes_by_callee_type_count_final_calls_only(
    store: Store, make_deployment: MakeDeployment, make_calls: MakeCalls
) -> None:
    deployment = make_deployment()
    ids = make_calls(deployment, [f"+1617555010{n}" for n in range(5)])
    force(store, ids[0], status="completed", attempts=1, callee_type="voice")
    force(store, ids[1], status="completed", attempts=1, callee_type="voice")
    force(store, ids[2], status="failed", attempts=1, callee_type="noanswer")
    force(store, ids[3], status="dialing", attempts=1)
    assert store.outcomes_by_callee_type(deployment) == {"voice": 2, "noanswer": 1}


def test_calls_per_hour_buckets_by_the_last_attempt(
    store: Store, make_deployment: MakeDeployment, make_calls: MakeCalls
) -> None:
    deployment = make_deployment()
    start = 1_800_000_000 // HOUR * HOUR  # the start of an hour
    ids = make_calls(deployment, [f"+1617555010{n}" for n in range(5)])
    # 59:59 into the first hour must not round into the second (PostgreSQL's CAST rounds)
    force(store, ids[0], status="completed", attempts=1, last_attempt_at=start + HOUR - 0.5)
    force(store, ids[1], status="failed", attempts=1, last_attempt_at=start + 10)
    force(store, ids[2], status="completed", attempts=1, last_attempt_at=start + HOUR + 1)
    force(store, ids[3], status="completed", attempts=1, last_attempt_at=start - 1)  # before
    force(store, ids[4], status="dialing", attempts=1, last_attempt_at=start + 20)  # not final
    hours = store.calls_per_hour(deployment, start, start + 2 * HOUR - 1)
    assert [(h.hour, h.answered, h.unanswered) for h in hours] == [
        (start, 1, 1),
        (start + HOUR, 1, 0),
    ]


def test_iter_calls_reads_every_page(
    store: Store, make_deployment: MakeDeployment, make_calls: MakeCalls
) -> None:
    deployment = make_deployment()
    numbers = [f"+1617555{n:04d}" for n in range(2500)]  # more than one export page
    ids = make_calls(deployment, numbers)
    exported = list(store.iter_calls(deployment, CallQuery(page=3, per_page=5)))
    assert [c.call_id for c in exported] == ids
