"""The dialer on the simulated carrier, on SQLite and PostgreSQL, with real time.

Each test runs real ``Dialer`` loops against a fresh database and asserts what a user would
see in the API: statuses, callee types, events, attempts; and, from the dial log, that no call
was dialed twice at the same time and every limit held.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest
import simdial_support
from simdial_support import FINAL, all_final, make_trunk, queue, run_dialers
from sqlalchemy import update

from outdial.accounts import Account, Deployment
from outdial.calls import CalleeType, CallStatus, IllegalTransition
from outdial.dispatch.dialer import Dialer, DialerSettings
from outdial.options import Schedule
from outdial.policy import AttemptResult
from outdial.store import db
from outdial.store.store import Store
from outdial.store.tables import deployments, webhook_deliveries


def make_dep(store: Store, account: Account, trunk_id: int, **options: Any) -> Deployment:
    # These tests follow the lifecycle with the simulated carrier's stated outcomes and calls
    # of a few milliseconds; detection, which needs seconds of audio, has its own tests
    # (test_detection_calls.py).
    options.setdefault("detection", False)
    return simdial_support.make_dep(store, account, trunk_id, **options)


@pytest.fixture
def tenant(live: Store) -> Account:
    account, _ = live.create_account("dialer@example.com")
    return account


def dial_spans(log: Path) -> dict[tuple[str, int], tuple[float, float | None]]:
    spans: dict[tuple[str, int], tuple[float, float | None]] = {}
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        key = (entry["call_id"], entry["attempt"])
        spans[key] = (entry["started_at"], entry["ended_at"])
    return spans


def max_concurrent(spans: list[tuple[float, float]]) -> int:
    points = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    level = peak = 0
    for _, step in points:
        level += step
        peak = max(peak, level)
    return peak


RULES: list[dict[str, Any]] = [
    {"match": "1$", "outcome": "voice", "ring_s": 0.0, "talk_s": 0.05},
    {"match": "2$", "outcome": "busy", "ring_s": 0.0},
    {"match": "3$", "outcome": "noanswer", "ring_s": 0.05},
    {"match": "4$", "outcome": "linefailure"},
    {"match": "5$", "outcome": "answeringmachine", "ring_s": 0.0, "talk_s": 0.05},
    {"match": "6$", "outcome": "informationtone", "ring_s": 0.0},
]


def test_calls_go_through_the_whole_lifecycle(live: Store, tenant: Account) -> None:
    dep = make_dep(live, tenant, make_trunk(live, "sim", RULES))
    numbers = [f"+1617555010{d}" for d in "123456"]
    ids = queue(live, dep, numbers)
    run_dialers(live, all_final(live, tenant, ids))
    results = {n: live.get_call(tenant, i) for n, i in zip(numbers, ids, strict=True)}
    expected = {
        "1": (CallStatus.COMPLETED, CalleeType.VOICE),
        "2": (CallStatus.FAILED, CalleeType.BUSY),
        "3": (CallStatus.FAILED, CalleeType.NOANSWER),
        "4": (CallStatus.FAILED, CalleeType.LINEFAILURE),
        "5": (CallStatus.COMPLETED, CalleeType.ANSWERINGMACHINE),
        "6": (CallStatus.FAILED, CalleeType.INFORMATIONTONE),
    }
    for number, call in results.items():
        assert (call.status, call.callee_type) == expected[number[-1]], number
        assert call.attempts == 1
        [attempt] = call.attempt_list
        assert attempt.ended_at is not None
        assert attempt.callee_type == expected[number[-1]][1]
    person = results["+16175550101"]
    assert [e.event for e in person.events] == [
        "queued",
        "dialing",
        "ringing",
        "connected",
        "disconnected",
    ]
    assert person.duration is not None
    assert person.attempt_list[0].duration is not None
    busy = results["+16175550102"]
    assert busy.attempt_list[0].sip_code == 486
    assert busy.attempt_list[0].duration is None  # never answered: no talk time
    assert busy.duration is None
    assert [e.event for e in busy.events][-2:] == ["disconnected", "failed"]


def test_failed_attempts_are_retried_after_the_wait(live: Store, tenant: Account) -> None:
    dep = make_dep(live, tenant, make_trunk(live, "sim", RULES))
    schedule = Schedule(max_attempts=3, reattempt_wait=1, start_at=time.time())
    [busy, person] = queue(live, dep, ["+16175550102", "+16175550101"], schedule)
    run_dialers(live, all_final(live, tenant, [busy, person]), timeout=20)
    retried = live.get_call(tenant, busy)
    assert retried.status is CallStatus.FAILED
    assert retried.callee_type is CalleeType.BUSY
    assert retried.attempts == 3
    assert [e.event for e in retried.events].count("retry_scheduled") == 2
    starts = [a.started_at for a in retried.attempt_list]
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(starts))
    answered = live.get_call(tenant, person)
    assert (answered.status, answered.attempts) == (CallStatus.COMPLETED, 1)


def test_callee_types_outside_the_retry_set_are_not_retried(live: Store, tenant: Account) -> None:
    dep = make_dep(
        live, tenant, make_trunk(live, "sim", RULES), retry_on=frozenset({CalleeType.NOANSWER})
    )
    schedule = Schedule(max_attempts=3, reattempt_wait=1, start_at=time.time())
    [busy] = queue(live, dep, ["+16175550102"], schedule)
    run_dialers(live, all_final(live, tenant, [busy]))
    call = live.get_call(tenant, busy)
    assert (call.status, call.callee_type, call.attempts) == (
        CallStatus.FAILED,
        CalleeType.BUSY,
        1,
    )
    assert call.end_reason == "busy is not retried"


def test_lines_and_fair_sharing_hold_on_a_shared_trunk(
    live: Store, tenant: Account, tmp_path: Path
) -> None:
    talk = [{"match": ".", "outcome": "voice", "ring_s": 0.0, "talk_s": 0.15}]
    trunk = make_trunk(live, "shared", talk, lines=4)
    big = make_dep(live, tenant, trunk, max_lines=4, app_name="big")
    small = make_dep(live, tenant, trunk, max_lines=4, app_name="small")
    big_ids = queue(live, big, [f"+1617555{n:04d}" for n in range(1000, 1040)])
    small_ids = queue(live, small, [f"+1212555{n:04d}" for n in range(1000, 1006)])
    log = tmp_path / "dial.jsonl"
    run_dialers(live, all_final(live, tenant, big_ids + small_ids), log=log, timeout=60)
    spans = dial_spans(log)
    assert len(spans) == 46  # every call dialed exactly once
    closed = [(s, e) for s, e in spans.values() if e is not None]
    assert len(closed) == 46
    assert max_concurrent(closed) <= 4
    # the small campaign, queued after the big one, is not starved: it finishes first
    small_end = max(spans[(i, 1)][1] or 0 for i in small_ids)
    big_end = max(spans[(i, 1)][1] or 0 for i in big_ids)
    assert small_end < big_end


def test_calls_start_within_the_rate(live: Store, tenant: Account, tmp_path: Path) -> None:
    quick = [{"match": ".", "outcome": "busy", "ring_s": 0.0}]
    dep = make_dep(live, tenant, make_trunk(live, "paced", quick), cps=10.0, max_lines=50)
    ids = queue(live, dep, [f"+1617555{n:04d}" for n in range(2000, 2030)])
    log = tmp_path / "dial.jsonl"
    run_dialers(live, all_final(live, tenant, ids), log=log, timeout=30)
    starts = sorted(s for s, _ in dial_spans(log).values())
    assert len(starts) == 30
    # at 10 calls/s with 0.1 s of catch-up: never more than 10 * (1 + 0.1) + 1 in a second
    for first in starts:
        assert sum(1 for s in starts if first <= s < first + 1.0) <= 12
    assert starts[-1] - starts[0] >= 2.5  # 30 calls took about 3 s, not an instant


def test_two_dialers_never_dial_a_call_twice(live: Store, tenant: Account, tmp_path: Path) -> None:
    mixed = [
        {"match": "[02468]$", "outcome": "busy", "ring_s": 0.01},
        {"match": ".", "outcome": "voice", "ring_s": 0.01, "talk_s": 0.05},
    ]
    dep = make_dep(live, tenant, make_trunk(live, "sim", mixed, lines=6), max_lines=6)
    schedule = Schedule(max_attempts=2, reattempt_wait=1, start_at=time.time())
    ids = queue(live, dep, [f"+1617555{n:04d}" for n in range(3000, 3060)], schedule)
    log = tmp_path / "dial.jsonl"
    run_dialers(live, all_final(live, tenant, ids), count=2, log=log, timeout=60)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    starts = [(e["call_id"], e["attempt"]) for e in entries if e["ended_at"] is None]
    assert len(starts) == len(set(starts))  # no (call, attempt) started twice
    spans = dial_spans(log)
    by_call: dict[str, list[tuple[float, float]]] = {}
    for (call_id, _), (start, end) in spans.items():
        assert end is not None
        by_call.setdefault(call_id, []).append((start, end))
    for call_spans in by_call.values():
        assert max_concurrent(call_spans) == 1  # never two attempts of one call at once
    assert max_concurrent([s for v in by_call.values() for s in v]) <= 6
    for call_id in ids:
        call = live.get_call(tenant, call_id)
        assert call.status in FINAL
        assert call.attempts == len(by_call[call_id])


def test_cancelling_a_ringing_call_hangs_it_up(live: Store, tenant: Account) -> None:
    forever = [{"match": ".", "outcome": "noanswer"}]
    dep = make_dep(live, tenant, make_trunk(live, "sim", forever))
    [call_id] = queue(live, dep, ["+16175550199"])

    def cancel_once_dialing() -> bool:
        call = live.get_call(tenant, call_id)
        if call.status is CallStatus.DIALING and call.end_reason is None:
            live.cancel_call(tenant, call_id)
        return call.status in FINAL

    run_dialers(live, cancel_once_dialing, lease=0.6, timeout=20)
    call = live.get_call(tenant, call_id)
    assert call.status is CallStatus.FAILED
    assert call.end_reason == "canceled"
    assert "canceled" in [e.event for e in call.events]


def test_ring_timeout_makes_noanswer(live: Store, tenant: Account) -> None:
    forever = [{"match": ".", "outcome": "noanswer"}]
    dep = make_dep(live, tenant, make_trunk(live, "sim", forever))
    with live.engine.begin() as conn:  # below the 15 s minimum, so the test stays short
        conn.execute(update(deployments).where(deployments.c.id == dep.id).values(ring_timeout=0.3))
    [call_id] = queue(live, dep, ["+16175550199"])
    run_dialers(live, all_final(live, tenant, [call_id]))
    call = live.get_call(tenant, call_id)
    assert (call.status, call.callee_type) == (CallStatus.FAILED, CalleeType.NOANSWER)
    assert call.attempt_list[0].cause == "no answer before the ring timeout"


def test_a_dead_workers_calls_are_taken_over(live: Store, tenant: Account) -> None:
    dep = make_dep(live, tenant, make_trunk(live, "sim", RULES))
    schedule = Schedule(max_attempts=2, reattempt_wait=1, start_at=time.time())
    [call_id] = queue(live, dep, ["+16175550101"], schedule)
    # a worker claims the call and dies: no heartbeat, no result
    [claim] = live.claim("dead-worker", lease=0.5, limit=10, hours=lambda *_: ([], {}))
    assert claim.call_id == call_id
    run_dialers(live, all_final(live, tenant, [call_id]), lease=0.6, timeout=20)
    call = live.get_call(tenant, call_id)
    assert call.status is CallStatus.COMPLETED  # the second attempt reached the person
    assert call.attempts == 2
    first, second = call.attempt_list
    assert first.callee_type is CalleeType.LINEFAILURE
    assert first.cause == "worker lost: its lease expired"
    assert second.callee_type is CalleeType.VOICE


def test_a_closed_window_makes_waiting_calls_final(live: Store, tenant: Account) -> None:
    busy_rule = [{"match": ".", "outcome": "busy", "ring_s": 0.0}]
    dep = make_dep(live, tenant, make_trunk(live, "sim", busy_rule))
    now = time.time()
    schedule = Schedule(max_attempts=3, reattempt_wait=60, start_at=now, end_at=now + 1.5)
    later = Schedule(start_at=now + 3600, end_at=now + 1.0)
    [tried] = queue(live, dep, ["+16175550102"], schedule)
    [never] = queue(live, dep, ["+16175550103"], later)
    run_dialers(live, all_final(live, tenant, [tried, never]), timeout=20)
    tried_call = live.get_call(tenant, tried)
    assert (tried_call.status, tried_call.callee_type, tried_call.attempts) == (
        CallStatus.FAILED,
        CalleeType.BUSY,
        1,
    )
    never_call = live.get_call(tenant, never)
    assert (never_call.status, never_call.callee_type) == (
        CallStatus.UNCALLED,
        CalleeType.NOATTEMPT,
    )
    assert "expired" in [e.event for e in never_call.events]


def test_final_calls_with_a_result_url_queue_one_callback(live: Store, tenant: Account) -> None:
    dep = make_dep(live, tenant, make_trunk(live, "sim", RULES))
    schedule = Schedule(start_at=time.time(), result_url="http://127.0.0.1:9/hook")
    ids = queue(live, dep, ["+16175550101", "+16175550102"], schedule)
    run_dialers(live, all_final(live, tenant, ids))
    with live.engine.connect() as conn:
        rows = conn.execute(webhook_deliveries.select()).all()
    assert len(rows) == 2
    bodies = {json.loads(r.body)["call_id"]: json.loads(r.body) for r in rows}
    assert set(bodies) == set(ids)
    assert bodies[ids[0]]["status"] == "completed"
    assert bodies[ids[1]]["callee_type"] == "busy"
    assert all(r.state == "pending" for r in rows)


def test_deployments_without_a_trunk_keep_their_calls_queued(live: Store, tenant: Account) -> None:
    make_trunk(live, "sim", RULES)
    app = live.create_application(tenant.email, "no trunk")
    dep = live.create_deployment(app.id)
    [call_id] = queue(live, dep, ["+16175550101"])
    run_dialers(live, lambda: False, timeout=1.0)
    assert live.get_call(tenant, call_id).status is CallStatus.QUEUED


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_calls_queued_by_another_process_wake_the_dialer(
    database_url: str, live: Store, tenant: Account
) -> None:
    dep = make_dep(live, tenant, make_trunk(live, "sim", RULES))
    other = Store(db.make_engine(database_url))  # as the API process would queue them
    queued: list[str] = []

    async def main() -> None:
        dialer = Dialer(live, DialerSettings(poll=60.0), worker_id="listener")
        task = asyncio.create_task(dialer.run())
        await asyncio.sleep(1.0)  # the dialer found nothing and sleeps for its 60 s poll
        queued.extend(await asyncio.to_thread(queue, other, dep, ["+16175550101"]))
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            call = await asyncio.to_thread(live.get_call, tenant, queued[0])
            if call.status in FINAL:
                break
            await asyncio.sleep(0.05)
        dialer.stop()
        await task

    try:
        asyncio.run(main())
    finally:
        other.close()
    # dialed long before the 60 s poll: NOTIFY woke it
    assert live.get_call(tenant, queued[0]).status is CallStatus.COMPLETED


def test_an_answer_never_recorded_cannot_complete_a_call(live: Store, tenant: Account) -> None:
    # The store follows calls.TRANSITIONS: dialing -> completed skips connected, so it is refused
    # and the call is left as it was (its lease then expires and the reaper closes it).
    dep = make_dep(live, tenant, make_trunk(live, "sim", RULES))
    [call_id] = queue(live, dep, ["+16175550101"])
    [claim] = live.claim("w", lease=30.0, limit=1, hours=lambda *_: ([], {}))
    with pytest.raises(IllegalTransition):
        live.finish_attempt(claim, "w", AttemptResult(True, CalleeType.VOICE, "hung up"))
    assert live.get_call(tenant, call_id).status is CallStatus.DIALING
