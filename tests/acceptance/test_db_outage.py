"""PostgreSQL connections of dialing ``outdial worker``s dropped mid-run, then available again.

A worker's connections are ended (``pg_terminate_backend``, as a failover or a cut network
would) while it has calls up: twice at random moments, and once while its statements are
certainly in flight. The worker must keep going: every call ends final, none is dialed twice at
once, the line limit holds, and the worker never loses its own calls to a lease takeover.
Last, one of two workers is cut off for longer than its lease while its calls ring: the other
takes them over, and no call may then be dialed twice at once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dialing_support import (
    FINAL,
    TAKEOVER_CAUSE,
    Fleet,
    assert_dialed_once_at_a_time,
    assert_one_attempt_per_dial,
    create_campaign,
    describe_calls,
    drop_connections_mid_statement,
    fleet,
    numbers,
    peak,
    pending_in_store,
    progress,
    queue_in_store,
    read_dials,
    spans_of,
    stored_calls,
    terminate_backends,
    wait_until,
)
from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from outdial.calls import Call
from outdial.options import Schedule

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LINES = 6
LEASE = "3"  # seconds
FINISH_TIMEOUT = 60.0  # seconds
RULES: list[dict[str, object]] = [
    {"match": "[0-5]$", "outcome": "voice", "ring_s": 0.2, "talk_s": 0.5},
    {"match": "[67]$", "outcome": "busy", "ring_s": 0.3},
    {"match": "8$", "outcome": "noanswer", "ring_s": 0.4},
    {"match": "9$", "outcome": "linefailure"},
]


def assert_kept_its_calls(calls: dict[str, Call]) -> None:
    """No attempt was taken over: the worker, alive all along, never lost a lease."""
    lost = {
        i: c for i, c in calls.items() if any(a.cause == TAKEOVER_CAUSE for a in c.attempt_list)
    }
    assert not lost, "the live worker lost calls to its own lease reaper:\n" + describe_calls(lost)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Fleet]:
    with fleet(tmp_path) as running:
        yield running


def test_worker_rides_out_dropped_database_connections(
    postgres_database: str, tmp_path: Path, processes: Fleet
) -> None:
    campaign = create_campaign(
        postgres_database,
        tmp_path,
        RULES,
        trunk_lines=LINES,
        trunk_cps=50.0,
        deployments=[(LINES, 20.0)],
    )
    [dep] = campaign.deployments
    log = tmp_path / "dial.jsonl"
    worker = processes.worker(postgres_database, "--lease", LEASE, "--sim-dial-log", str(log))
    queued = queue_in_store(
        campaign,
        dep,
        numbers(1000, 60),
        Schedule(max_attempts=2, reattempt_wait=1, start_at=time.time()),
    )

    dropped = []
    for ended_before in (8, 24):

        def dialing(enough: int = ended_before) -> bool:
            processes.require_alive(worker)
            ended, open_now = progress([log])
            return ended >= enough and open_now[log] >= 2

        wait_until(dialing, 30, f"{ended_before} dials have ended and calls are up")
        dropped.append(terminate_backends(postgres_database))
    assert all(n >= 1 for n in dropped), f"no connection of the worker was ended: {dropped}"

    wait_until(
        lambda: processes.require_alive(worker) and not pending_in_store(campaign, queued),
        FINISH_TIMEOUT,
        "every call is final",
        lambda: describe_calls(pending_in_store(campaign, queued)) + "\n" + worker.output(),
    )
    assert worker.alive
    processes.close()

    calls = stored_calls(campaign, queued)
    assert {c.status.value for c in calls.values()} <= FINAL
    dials = read_dials([log])
    assert all(d.ended_at is not None for d in dials)
    spans = spans_of(dials, calls)
    assert_dialed_once_at_a_time(dials, spans)
    assert peak(spans.values()) <= LINES
    assert_one_attempt_per_dial(dials, calls)
    assert_kept_its_calls(calls)


def test_worker_recovers_when_its_connection_drops_mid_statement(
    postgres_database: str, tmp_path: Path, processes: Fleet
) -> None:
    """Its heartbeat and attempt results are waiting in the database when the connections end.

    The test locks the calls being dialed, so the worker's writes about them queue up, and ends
    the connections then: the writes fail mid-statement and have to be made again.
    """
    campaign = create_campaign(
        postgres_database,
        tmp_path,
        RULES,
        trunk_lines=LINES,
        trunk_cps=50.0,
        deployments=[(LINES, 20.0)],
    )
    [dep] = campaign.deployments
    log = tmp_path / "dial.jsonl"
    worker = processes.worker(postgres_database, "--lease", LEASE, "--sim-dial-log", str(log))
    queued = queue_in_store(
        campaign,
        dep,
        numbers(1000, 30),
        Schedule(max_attempts=2, reattempt_wait=1, start_at=time.time()),
    )

    def dialing() -> bool:
        processes.require_alive(worker)
        ended, open_now = progress([log])
        return ended >= 6 and open_now[log] >= 3

    wait_until(dialing, 30, "some dials have ended and calls are up")
    assert drop_connections_mid_statement(postgres_database, waiting=2, timeout=10) >= 2

    wait_until(
        lambda: processes.require_alive(worker) and not pending_in_store(campaign, queued),
        FINISH_TIMEOUT,
        "every call is final",
        lambda: describe_calls(pending_in_store(campaign, queued)) + "\n" + worker.output(),
    )
    processes.close()

    calls = stored_calls(campaign, queued)
    assert {c.status.value for c in calls.values()} <= FINAL
    dials = read_dials([log])
    assert all(d.ended_at is not None for d in dials)
    spans = spans_of(dials, calls)
    assert_dialed_once_at_a_time(dials, spans)
    assert peak(spans.values()) <= LINES
    assert_one_attempt_per_dial(dials, calls)
    assert_kept_its_calls(calls)


@pytest.fixture
def second_login(postgres_database: str) -> Iterator[str]:
    """The test database's URL under a login role of its own, which the test can cut off."""
    role = f"outdial_cut_{secrets.token_hex(4)}"
    admin = create_engine(postgres_database, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN SUPERUSER'))
        yield make_url(postgres_database).set(username=role).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            cut_off(conn, role)
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def cut_off(conn: Connection, role: str) -> int:
    """Refuse the role new connections and end the ones it has: a network partition."""
    conn.execute(text(f'ALTER ROLE "{role}" NOLOGIN'))
    ended: int = conn.execute(
        text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = :r"),
        {"r": role},
    ).scalar_one()
    return ended


def test_a_worker_cut_off_from_the_database_never_has_its_calls_dialed_twice(
    postgres_database: str, second_login: str, tmp_path: Path, processes: Fleet
) -> None:
    """One of two workers loses the database for longer than its lease while its calls are up.

    The other worker takes those calls over, as it must when a worker looks dead, and dials
    them again. The cut-off worker is alive, though, and its calls are still up: unless it hangs
    them up once it can no longer renew its leases, each is dialed a second time while the first
    dial goes on, and the trunk carries more calls than it has lines.
    """
    # Long rings: the calls are still ringing (not yet answered) when the worker is cut off.
    long_ring: list[dict[str, object]] = [
        {"match": ".", "outcome": "voice", "ring_s": 8.0, "talk_s": 0.5}
    ]
    campaign = create_campaign(
        postgres_database,
        tmp_path,
        long_ring,
        trunk_lines=LINES,
        trunk_cps=50.0,
        deployments=[(LINES, 20.0)],
    )
    [dep] = campaign.deployments
    lease = 2.0  # seconds
    cut_log, healthy_log = tmp_path / "dial-cut.jsonl", tmp_path / "dial-healthy.jsonl"
    cut = processes.worker(second_login, "--lease", str(lease), "--sim-dial-log", str(cut_log))
    queued = queue_in_store(
        campaign,
        dep,
        numbers(1000, LINES),
        Schedule(max_attempts=2, reattempt_wait=1, start_at=time.time()),
    )

    def all_up() -> bool:
        processes.require_alive(cut)
        return progress([cut_log])[1][cut_log] == LINES

    wait_until(all_up, 30, "the worker to be cut off has every call up")
    healthy = processes.worker(
        postgres_database, "--lease", str(lease), "--sim-dial-log", str(healthy_log)
    )
    wait_until(
        lambda: processes.require_alive(healthy) and "dialing" in healthy.output(),
        30,
        "the second worker is running",
    )
    role = make_url(second_login).username
    assert role is not None
    admin = create_engine(postgres_database, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert cut_off(conn, role) >= 1
            time.sleep(2.5 * lease)  # its leases expire, and the healthy worker sees it
            conn.execute(text(f'ALTER ROLE "{role}" LOGIN'))
    finally:
        admin.dispose()

    wait_until(
        lambda: processes.require_alive(healthy, cut) and not pending_in_store(campaign, queued),
        FINISH_TIMEOUT,
        "every call is final",
        lambda: describe_calls(pending_in_store(campaign, queued)),
    )
    processes.close()

    calls = stored_calls(campaign, queued)
    assert {c.status.value for c in calls.values()} <= FINAL
    dials = read_dials([cut_log, healthy_log])
    spans = spans_of(dials, calls)
    assert_dialed_once_at_a_time(dials, spans)
    assert peak(spans.values()) <= LINES
