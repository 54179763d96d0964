"""Three ``outdial worker`` processes on one PostgreSQL database, one of them killed mid-run.

``outdial serve --no-dialer`` serves the API; three workers dial two deployments sharing one
six-line simulated trunk, each logging its dials to its own file. The merged logs, with the
stored attempts, must show no (call, attempt) dialed twice and no call dialed twice at the same
time, the trunk's six lines and each deployment's max_lines held across all workers, every call
final, and the calls of the worker killed with ``kill -9`` taken over and finished by the others.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dialing_support import (
    FINAL,
    TAKEOVER_CAUSE,
    Fleet,
    assert_dialed_once_at_a_time,
    assert_one_attempt_per_dial,
    create_campaign,
    describe_calls,
    fleet,
    listed_calls,
    numbers,
    peak,
    pending,
    pending_in_store,
    progress,
    queue_by_api,
    queue_in_store,
    read_dials,
    spans_of,
    stored_calls,
    wait_until,
)

from outdial.calls import CalleeType
from outdial.options import Schedule

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TRUNK_LINES = 6
DEP_LINES = 4  # each deployment's max_lines: two of them want more than the trunk has
LEASE = "3"  # seconds
FINISH_TIMEOUT = 90.0  # seconds
RULES: list[dict[str, object]] = [
    {"match": "[0-4]$", "outcome": "voice", "ring_s": 0.1, "talk_s": 0.4},
    {"match": "[56]$", "outcome": "answeringmachine", "ring_s": 0.1, "talk_s": 0.6},
    {"match": "7$", "outcome": "busy", "ring_s": 0.2},
    {"match": "8$", "outcome": "noanswer", "ring_s": 0.3},
    {"match": "9$", "outcome": "linefailure"},
]


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Fleet]:
    with fleet(tmp_path) as running:
        yield running


def test_three_workers_keep_the_limits_and_take_over_a_killed_ones_calls(
    postgres_database: str, tmp_path: Path, processes: Fleet
) -> None:
    campaign = create_campaign(
        postgres_database,
        tmp_path,
        RULES,
        trunk_lines=TRUNK_LINES,
        trunk_cps=50.0,
        deployments=[(DEP_LINES, 20.0), (DEP_LINES, 20.0)],
    )
    api = processes.serve(postgres_database, "--no-dialer")
    logs = [tmp_path / f"dial-{n}.jsonl" for n in range(3)]
    workers = [
        processes.worker(postgres_database, "--lease", LEASE, "--sim-dial-log", str(log))
        for log in logs
    ]
    queued: dict[int, list[str]] = {}
    with httpx.Client(base_url=api.url, timeout=30) as http:
        for first, dep in zip((1000, 3000), campaign.deployments, strict=True):
            once = queue_by_api(http, campaign, dep, numbers(first, 50), max_attempts=1)
            # Retries after 1 s (below the API's minimum): a killed worker's calls are redialed.
            retried = queue_in_store(
                campaign,
                dep,
                numbers(first + 1000, 25),
                Schedule(max_attempts=2, reattempt_wait=1, start_at=time.time()),
            )
            queued[dep] = once + retried
    everything = [i for ids in queued.values() for i in ids]

    def mid_run() -> bool:
        processes.require_alive(api, *workers)
        ended, open_now = progress(logs)
        return ended >= 40 and max(open_now.values()) >= 2

    wait_until(mid_run, 60, "some calls have ended and a worker has calls up")
    _, open_now = progress(logs)
    victim_log = max(logs, key=lambda log: open_now[log])
    victim = workers[logs.index(victim_log)]
    survivors = [w for w in workers if w is not victim]
    killed_at = victim.kill()

    with httpx.Client(base_url=api.url, timeout=30) as http:
        wait_until(
            lambda: (
                processes.require_alive(api, *survivors)
                and all(pending(http, campaign, dep) == 0 for dep in queued)
            ),
            FINISH_TIMEOUT,
            "the API lists no pending call",
            lambda: describe_calls(pending_in_store(campaign, everything)),
        )
        listed = {dep: listed_calls(http, campaign, dep) for dep in queued}
    processes.close()

    for dep, ids in queued.items():
        assert set(listed[dep]) == set(ids)
        assert {c["status"] for c in listed[dep].values()} <= FINAL
    calls = stored_calls(campaign, everything)
    assert {c.status.value for c in calls.values()} <= FINAL

    dials = read_dials(logs)
    spans = spans_of(dials, calls)
    assert_dialed_once_at_a_time(dials, spans)
    assert peak(spans.values()) <= TRUNK_LINES
    for ids in queued.values():
        members = set(ids)
        assert peak(s for (call_id, _), s in spans.items() if call_id in members) <= DEP_LINES
    assert all(any(d.log == log.name for d in dials) for log in logs), "a worker never dialed"

    # One stored attempt per dial (bar any the victim had claimed but not dialed at the kill).
    assert_one_attempt_per_dial(dials, calls, killed_at)

    # The victim's dials in progress were taken over by the survivors...
    cut_short = [d for d in dials if d.ended_at is None]
    assert cut_short, "the kill caught no call in progress"
    assert {d.log for d in cut_short} == {victim_log.name}
    taken_over = {
        (call_id, a.number): a
        for call_id, call in calls.items()
        for a in call.attempt_list
        if a.cause == TAKEOVER_CAUSE
    }
    for dial in cut_short:
        attempt = calls[dial.call_id].attempt_list[dial.attempt - 1]
        if (dial.call_id, dial.attempt) not in taken_over:
            assert (attempt.ended_at or 0) <= killed_at, (dial, attempt)  # ended just before
    assert any((d.call_id, d.attempt) in taken_over for d in cut_short)
    for key, attempt in taken_over.items():
        assert attempt.started_at < killed_at <= (attempt.ended_at or 0), key
    # ... and those with an attempt left were dialed again, by a survivor, after the takeover.
    survivor_logs = {log.name for log in logs if log != victim_log}
    for (call_id, number), attempt in taken_over.items():
        call = calls[call_id]
        if attempt.callee_type is CalleeType.LINEFAILURE and number < call.max_attempts:
            [again] = [d for d in dials if (d.call_id, d.attempt) == (call_id, number + 1)]
            assert again.log in survivor_logs
            assert again.started_at > (attempt.ended_at or 0)
    assert not [d for d in dials if d.log == victim_log.name and d.started_at > killed_at]
