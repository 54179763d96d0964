"""``kill -9`` of ``outdial serve`` in the middle of a campaign, on SQLite and PostgreSQL.

The server dials a simulated trunk and logs every dial; the test kills it while calls are up,
restarts it with the same flags, and waits until the API lists no pending call. The dial log
and the stored attempts then have to show: no call dialed twice at the same time, no
(call, attempt) dialed twice, the line limit held, every queued call final, one stored attempt
per dial, and the dials the kill cut short closed by the restarted server's lease takeover.
"""

from __future__ import annotations

import shutil
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

pytestmark = pytest.mark.slow

LINES = 5  # the deployment's max_lines
LEASE = "2"  # seconds; short, so the restarted server takes over soon
FINISH_TIMEOUT = 90.0  # seconds for the whole campaign, restart included
# Talk 0.5 to 1 s; busy, no answer and line failures end sooner and are retried.
RULES: list[dict[str, object]] = [
    {"match": "[0-3]$", "outcome": "voice", "ring_s": 0.3, "talk_s": 0.5},
    {"match": "[45]$", "outcome": "voice", "ring_s": 0.2, "talk_s": 1.0},
    {"match": "6$", "outcome": "answeringmachine", "ring_s": 0.3, "talk_s": 0.8},
    {"match": "7$", "outcome": "busy", "ring_s": 0.4},
    {"match": "8$", "outcome": "noanswer", "ring_s": 0.6},
    {"match": "9$", "outcome": "linefailure"},
]


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new database at head on each backend (the session's template, as in tests/conftest)."""
    if request.param == "sqlite":
        path = tmp_path / "outdial.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    clones = request.getfixturevalue("postgres_clones")
    name = clones.take()
    try:
        yield clones.server.url_of(name)
    finally:
        clones.drop(name)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Fleet]:
    with fleet(tmp_path) as running:
        yield running


def test_kill_9_mid_campaign_then_restart_dials_each_call_once_and_finishes_all(
    fresh_database: str, tmp_path: Path, processes: Fleet
) -> None:
    campaign = create_campaign(
        fresh_database,
        tmp_path,
        RULES,
        trunk_lines=10,
        trunk_cps=20.0,
        deployments=[(LINES, 10.0)],
    )
    [dep] = campaign.deployments
    log = tmp_path / "dial.jsonl"
    flags = ("--lease", LEASE, "--sim-dial-log", str(log))
    first = processes.serve(fresh_database, *flags)
    port = int(first.url.rsplit(":", 1)[1])
    with httpx.Client(base_url=first.url, timeout=30) as http:
        once = queue_by_api(http, campaign, dep, numbers(1000, 40), max_attempts=1)
    # Retries after 1 s: below the API's 60 s minimum, so queued through the Store.
    retried = queue_in_store(
        campaign,
        dep,
        numbers(2000, 20),
        Schedule(max_attempts=3, reattempt_wait=1, start_at=time.time()),
    )
    queued = once + retried

    def mid_campaign() -> bool:
        processes.require_alive(first)
        ended, open_now = progress([log])
        return ended >= 12 and open_now[log] >= 3

    wait_until(mid_campaign, 60, "some calls have ended and some are up")
    killed_at = first.kill()
    processes.serve(fresh_database, *flags, port=port)  # the same flags, the same port

    with httpx.Client(base_url=first.url, timeout=30) as http:
        wait_until(
            lambda: pending(http, campaign, dep) == 0,
            FINISH_TIMEOUT,
            "the API lists no pending call",
            lambda: describe_calls(pending_in_store(campaign, queued)),
        )
        listed = listed_calls(http, campaign, dep)
    processes.close()  # a graceful stop: every dial of the second server has its end line

    # Nothing accepted was lost, and everything reached a final status.
    assert set(listed) == set(queued)
    assert {c["status"] for c in listed.values()} <= FINAL
    calls = stored_calls(campaign, queued)
    assert {c.status.value for c in calls.values()} <= FINAL

    dials = read_dials([log])
    spans = spans_of(dials, calls)
    assert_dialed_once_at_a_time(dials, spans)
    assert peak(spans.values()) <= LINES

    # Only the killed server left dials open: those it had up at the kill.
    cut_short = [d for d in dials if d.ended_at is None]
    assert cut_short, "the kill caught no call in progress; the test proved nothing"
    assert all(d.started_at < killed_at for d in cut_short)

    # One stored attempt per dial (bar any the server had claimed but not dialed at the kill).
    assert_one_attempt_per_dial(dials, calls, killed_at)

    # The dials cut short were closed by the restarted server's lease takeover, after the kill;
    # and nothing else was taken over (the restarted server never lost its own leases).
    taken_over = {
        (call_id, a.number): a
        for call_id, call in calls.items()
        for a in call.attempt_list
        if a.cause == TAKEOVER_CAUSE
    }
    assert taken_over, "no attempt was taken over after the kill"
    for key, attempt in taken_over.items():
        assert attempt.started_at < killed_at <= (attempt.ended_at or 0), key
        assert attempt.callee_type in (CalleeType.LINEFAILURE, CalleeType.UNKNOWN), key
    for dial in cut_short:
        attempt = calls[dial.call_id].attempt_list[dial.attempt - 1]
        if attempt.cause != TAKEOVER_CAUSE:
            # the server stored this attempt's end just before the kill, not its log line
            assert (attempt.ended_at or 0) <= killed_at, (dial, attempt)
    assert sum(1 for d in cut_short if (d.call_id, d.attempt) in taken_over) >= 1

    # A taken-over call with attempts left was dialed again, after the takeover.
    for (call_id, number), attempt in taken_over.items():
        call = calls[call_id]
        if attempt.callee_type is CalleeType.LINEFAILURE and number < call.max_attempts:
            assert call.attempts > number, describe_calls({call_id: call})
            later = spans[(call_id, number + 1)]
            assert later[0] > (attempt.ended_at or 0)
