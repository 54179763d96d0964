"""Dialing throughput: one in-process ``Dialer`` against plain ``sqlite3`` doing the same writes.

    .venv/bin/python benchmarks/dispatch.py --calls 20000

Queues N calls on a fresh SQLite file, on a simulated trunk whose callee answers at once and
hangs up at once (ring and talk time 0) and whose lines and rate never hold the dialer back.
One ``Dialer`` runs in this process until every call is final; the time is from starting it to
the commit of the last call's result. Every call must then be completed after one attempt, with
the events queued, dialing, ringing, connected, disconnected.

The baseline, in the same run: plain ``sqlite3`` on a fresh file with outdial's pragmas (WAL,
``synchronous=NORMAL``) and outdial's ``calls``, ``attempts`` and ``call_events`` tables and
indexes, moving the same N calls through the same four transitions, each its own committed
transaction: claim (queued -> dialing, attempt opened, dialing event), ringing event, answer
(connected, attempt answered, connected event), end (completed, attempt closed, disconnected
event).

Prints the figures, then as its last line one JSON object:
``{"calls": N, "outdial_calls_per_s": ..., "baseline_calls_per_s": ..., "ratio": outdial /
baseline}``. ``--profile FILE`` also profiles outdial's run (the event loop and every worker
thread) with cProfile and prints where the time went.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import resource
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from outdial.dispatch.dialer import Dialer, DialerSettings
from outdial.options import Schedule
from outdial.policy import Decision
from outdial.store.progress import FinishOp, Outcome, ProgressOp
from outdial.store.store import Claim, NewCall, Store, new_call_ids
from outdial.store.tables import attempts, call_events, calls
from outdial.trunks import TrunkKind

EMAIL = "bench@example.com"
FIRST_NUMBER = 2_000_000  # calls go to +1617 2000000, +1617 2000001, ...
LINES = 500  # trunk lines and deployment max_lines: far more than the dialer keeps busy
CPS = 1e6  # trunk and deployment rate: never the limit
SIM_CONFIG = {"seed": 1, "rules": [{"match": ".", "outcome": "voice", "ring_s": 0, "talk_s": 0}]}
POLL = 0.05  # seconds: the dialer's fallback poll (the integration tests use the same)
WAIT_STEP = 0.01  # seconds between looks at the count of final calls (no database query)
RUN_TIMEOUT = 1800.0  # seconds before a run that does not finish is abandoned
# Rows in call_events, in order; the API shows "queued" (from queued_at) before them.
EVENTS = ["dialing", "ringing", "connected", "disconnected"]
WORKER = "bench-baseline"
LEASE = 30.0  # seconds, as the dialer's default
PROFILE_LINES = 30  # functions printed from a profile


@dataclass(frozen=True, slots=True)
class Figures:
    calls: int
    load: float  # 1-minute load average just before the outdial run
    outdial_s: float
    outdial_cpu_s: float  # this process, user + system, during the outdial run
    claim_passes: int  # claim transactions
    claim_hits: int  # claim transactions that claimed calls
    due_looks: int  # next_due_at queries
    progress_commits: int  # transactions recording calls' progress (group commits)
    baseline_s: float
    baseline_cpu_s: float

    @property
    def outdial_rate(self) -> float:
        return self.calls / self.outdial_s

    @property
    def baseline_rate(self) -> float:
        return self.calls / self.baseline_s


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def phone_numbers(count: int) -> list[str]:
    return [f"+1617{FIRST_NUMBER + index:07d}" for index in range(count)]


# -- outdial --------------------------------------------------------------------------------


class TimedStore(Store):
    """A Store that notes when each call's result is committed (no extra database work)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lock = threading.Lock()
        self.finished = 0
        self.last_finished_at = 0.0
        self.claim_passes = 0  # claim transactions, including those that found nothing
        self.claim_hits = 0  # those that claimed calls
        self.due_looks = 0  # next_due_at queries (the claim loop's way to pick a poll delay)
        self.batches = 0  # progress transactions (group commits)

    def claim(self, *args: object, **kwargs: object) -> list[Claim]:
        claimed = super().claim(*args, **kwargs)  # type: ignore[arg-type]
        with self._lock:
            self.claim_passes += 1
            self.claim_hits += bool(claimed)
        return claimed

    def next_due_at(self) -> float | None:
        with self._lock:
            self.due_looks += 1
        return super().next_due_at()

    def apply_progress(self, ops: Sequence[ProgressOp]) -> list[Outcome]:
        outcomes = super().apply_progress(ops)
        committed = time.perf_counter()
        ended = sum(
            isinstance(op, FinishOp) and isinstance(outcome, Decision)
            for op, outcome in zip(ops, outcomes, strict=True)
        )
        with self._lock:
            self.batches += 1
            if ended:
                self.finished += ended
                self.last_finished_at = max(self.last_finished_at, committed)
        return outcomes


def set_up(store: Store, count: int) -> int:
    """Trunk, account, application, deployment and ``count`` queued calls; the deployment id."""
    trunk = store.create_trunk(
        "bench", TrunkKind.SIMULATED, lines=LINES, cps=CPS, config=json.dumps(SIM_CONFIG)
    )
    account, _ = store.create_account(EMAIL)
    app = store.create_application(account.email, "bench")
    # Detection off: calls of zero seconds have no audio (detection: benchmarks/detect.py).
    dep = store.create_deployment(
        app.id, max_lines=LINES, cps=CPS, trunk_id=trunk.id, detection=False
    )
    ids = new_call_ids(count)
    rows = [
        NewCall(i, n, None, None, None, "{}", None)
        for i, n in zip(ids, phone_numbers(count), strict=True)
    ]
    store.queue_calls(dep, Schedule(start_at=time.time()), rows)
    return dep.id


class ThreadProfiles:
    """cProfile in the event loop's thread and in every worker thread ``to_thread`` uses."""

    def __init__(self) -> None:
        self.main = cProfile.Profile()
        self.workers: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def start_worker(self) -> None:
        profile = cProfile.Profile()
        with self._lock:
            self.workers.append(profile)
        profile.enable()

    def executor(self) -> ThreadPoolExecutor:
        # The same size as asyncio's default executor, with a profiler in each thread.
        workers = min(32, (os.cpu_count() or 1) + 4)
        return ThreadPoolExecutor(workers, "asyncio", initializer=self.start_worker)

    def stats(self) -> pstats.Stats:
        # The main profile first: create_stats() disables profiling in the calling thread.
        merged = pstats.Stats(self.main)
        for profile in self.workers:
            merged.add(profile)
        return merged


async def dial_all(store: TimedStore, count: int, profiles: ThreadProfiles | None) -> float:
    """Run one Dialer until ``count`` calls are final; seconds from start to the last result."""
    if profiles is not None:
        asyncio.get_running_loop().set_default_executor(profiles.executor())
        profiles.main.enable()
    dialer = Dialer(store, DialerSettings(poll=POLL), worker_id="bench")
    started = time.perf_counter()
    task = asyncio.create_task(dialer.run(), name="dialer")
    try:
        while store.finished < count:
            if task.done():
                raise RuntimeError(f"the dialer stopped after {store.finished} of {count} calls")
            if time.perf_counter() - started > RUN_TIMEOUT:
                raise RuntimeError(
                    f"only {store.finished} of {count} calls final after the timeout"
                )
            await asyncio.sleep(WAIT_STEP)
        elapsed = store.last_finished_at - started
    finally:
        dialer.stop()
        await task
        if profiles is not None:
            profiles.main.disable()
    return elapsed


def check_calls(store: Store, db_path: Path, deployment_id: int, count: int) -> None:
    """Every call completed after one answered attempt, with exactly the expected events."""
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        rows = conn.execute(
            """
            SELECT c.id, c.call_id, c.status, c.attempts,
                   (SELECT count(*) FROM attempts a WHERE a.call_pk = c.id),
                   (SELECT count(*) FROM attempts a WHERE a.call_pk = c.id
                       AND a.answered_at IS NOT NULL AND a.ended_at IS NOT NULL)
            FROM calls c WHERE c.deployment_id = ? ORDER BY c.id
            """,
            (deployment_id,),
        ).fetchall()
        events: dict[int, list[str]] = {}
        for pk, name in conn.execute("SELECT call_pk, event FROM call_events ORDER BY id"):
            events.setdefault(pk, []).append(name)
    if len(rows) != count:
        raise RuntimeError(f"{len(rows)} calls stored, not {count}")
    for pk, call_id, status, tries, attempt_rows, answered in rows:
        got = events.get(pk, [])
        if (status, tries, attempt_rows, answered, got) != ("completed", 1, 1, 1, EVENTS):
            raise RuntimeError(
                f"call {call_id}: status {status}, {tries} attempts ({attempt_rows} rows, "
                f"{answered} answered and ended), events {got}"
            )
    account = store.account_by_email(EMAIL)
    assert account is not None
    for _, call_id, *_ in (rows[0], rows[len(rows) // 2], rows[-1]):  # as the API shows them
        call = store.get_call(account, call_id)
        if [e.event for e in call.events] != ["queued", *EVENTS] or len(call.attempt_list) != 1:
            raise RuntimeError(f"the API shows call {call_id} as {call}")


def run_outdial(
    db_path: Path, count: int, profile: Path | None
) -> tuple[float, float, tuple[int, int, int, int]]:
    """Seconds and CPU seconds for the dialer to finish ``count`` calls, and the store's
    counts: claim transactions, those that claimed calls, next_due_at queries and progress
    transactions."""
    store = TimedStore.open(f"sqlite:///{db_path}")
    assert isinstance(store, TimedStore)
    try:
        deployment_id = set_up(store, count)
        profiles = ThreadProfiles() if profile else None
        cpu_before = cpu_seconds()
        elapsed = asyncio.run(dial_all(store, count, profiles))
        cpu = cpu_seconds() - cpu_before
        check_calls(store, db_path, deployment_id, count)
        if profiles is not None and profile is not None:
            stats = profiles.stats()
            stats.dump_stats(profile)
            show_profile(stats, profile)
        counts = (store.claim_passes, store.claim_hits, store.due_looks, store.batches)
        return elapsed, cpu, counts
    finally:
        store.close()


def show_profile(stats: pstats.Stats, path: Path) -> None:
    print(f"cProfile of the outdial run, all threads (written to {path}):", file=sys.stderr)
    stats.stream = sys.stderr  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(PROFILE_LINES)
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)


# -- baseline -------------------------------------------------------------------------------


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")  # as outdial's writes
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def baseline_schema() -> list[str]:
    """outdial's calls, attempts and call_events: columns, types, keys and indexes."""
    dialect = sqlite.dialect()
    statements = []
    for table in (calls, attempts, call_events):
        statements.append(str(CreateTable(table).compile(dialect=dialect)))
        statements += [str(CreateIndex(i).compile(dialect=dialect)) for i in table.indexes]
    return statements


def queue_baseline(conn: sqlite3.Connection, numbers: Sequence[str], now: float) -> None:
    """The queued calls (not timed), with the values outdial stores for them."""
    rows = [
        (call_id, 1, 1, number, "queued", 0, 1, now, now, now, "{}", 0, now)
        for call_id, number in zip(new_call_ids(len(numbers)), numbers, strict=True)
    ]
    with transaction(conn):
        conn.executemany(
            "INSERT INTO calls (call_id, account_id, deployment_id, phone_number, status,"
            " attempts, max_attempts, queued_at, start_at, next_attempt_at, call_parameters,"
            " cancel_requested, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def event(conn: sqlite3.Connection, pk: int, name: str, now: float, detail: str | None) -> None:
    conn.execute(
        "INSERT INTO call_events (call_pk, event, at, detail) VALUES (?, ?, ?, ?)",
        (pk, name, now, detail),
    )


def one_call(conn: sqlite3.Connection) -> None:
    """Claim the oldest queued call and take it through its life: four transactions."""
    now = time.time()
    with transaction(conn):
        pk, number = conn.execute(
            "UPDATE calls SET status = 'dialing', attempts = attempts + 1, last_attempt_at = ?,"
            " lease_owner = ?, lease_expires_at = ?, updated_at = ?"
            " WHERE id = (SELECT id FROM calls WHERE deployment_id = 1 AND status = 'queued'"
            " AND next_attempt_at <= ? ORDER BY id LIMIT 1) RETURNING id, attempts",
            (now, WORKER, now + LEASE, now, now),
        ).fetchone()
        conn.execute(
            "INSERT INTO attempts (call_pk, number, started_at) VALUES (?, ?, ?)", (pk, number, now)
        )
        event(conn, pk, "dialing", now, None)
    now = time.time()
    with transaction(conn):
        event(conn, pk, "ringing", now, None)
    now = time.time()
    with transaction(conn):
        conn.execute(
            "UPDATE calls SET status = 'connected', updated_at = ? WHERE id = ?"
            " AND status = 'dialing' AND lease_owner = ?",
            (now, pk, WORKER),
        )
        conn.execute(
            "UPDATE attempts SET answered_at = ? WHERE call_pk = ? AND number = ?",
            (now, pk, number),
        )
        event(conn, pk, "connected", now, None)
    now = time.time()
    with transaction(conn):
        conn.execute(
            "UPDATE attempts SET ended_at = ?, cause = 'callee hung up', callee_type = 'voice',"
            " duration = ? - answered_at WHERE call_pk = ? AND number = ?",
            (now, now, pk, number),
        )
        conn.execute(
            "UPDATE calls SET status = 'completed', callee_type = 'voice', duration = 0.0,"
            " lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE id = ?",
            (now, pk),
        )
        event(conn, pk, "disconnected", now, "callee hung up")


def run_baseline(db_path: Path, count: int) -> tuple[float, float]:
    """(seconds, CPU seconds) for plain sqlite3 to take ``count`` calls through their life."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        for statement in baseline_schema():
            conn.execute(statement)
        queue_baseline(conn, phone_numbers(count), time.time())
        cpu_before = cpu_seconds()
        started = time.perf_counter()
        for _ in range(count):
            one_call(conn)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_before
        (done,) = conn.execute(
            "SELECT count(*) FROM calls WHERE status = 'completed' AND attempts = 1"
        ).fetchone()
        (events,) = conn.execute("SELECT count(*) FROM call_events").fetchone()
        if done != count or events != 4 * count:
            raise RuntimeError(f"the baseline completed {done} calls with {events} events")
        return elapsed, cpu
    finally:
        conn.close()


# -- run ------------------------------------------------------------------------------------


def run(count: int, tmp: Path, profile: Path | None) -> Figures:
    load = os.getloadavg()[0]
    outdial_s, outdial_cpu, counts = run_outdial(tmp / "outdial.db", count, profile)
    baseline_s, baseline_cpu = run_baseline(tmp / "baseline.db", count)
    return Figures(count, load, outdial_s, outdial_cpu, *counts, baseline_s, baseline_cpu)


def show(f: Figures) -> None:
    def rate(seconds: float) -> str:
        return f"{seconds:8.3f} s  {f.calls / seconds:>9,.0f} calls/s"

    print(f"calls                     {f.calls:,} (ring 0 s, talk 0 s, {LINES} lines)")
    print(f"1-min load before         {f.load:.2f} on {os.cpu_count()} CPUs")
    print(f"outdial Dialer            {rate(f.outdial_s)}")
    print(f"  CPU (all threads)       {f.outdial_cpu_s:8.3f} s")
    print(f"  CPU per call            {f.outdial_cpu_s / f.calls * 1e3:8.3f} ms")
    print(f"  claim transactions      {f.claim_passes:,} ({f.claim_hits:,} claimed calls)")
    print(f"  next_due_at queries     {f.due_looks:,}")
    print(f"  progress transactions   {f.progress_commits:,} (group commit)")
    print(f"sqlite3, 4 commits/call   {rate(f.baseline_s)}")
    print(f"  CPU                     {f.baseline_cpu_s:8.3f} s")
    print(f"  CPU per call            {f.baseline_cpu_s / f.calls * 1e3:8.3f} ms")
    print(f"outdial / baseline        {f.outdial_rate / f.baseline_rate:.3f}")


def significant(value: float) -> float:
    return float(f"{value:.4g}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls to dial")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--profile", type=Path, help="profile the outdial run into this pstats file"
    )
    args = parser.parse_args(argv)
    if args.calls < 1:
        parser.error("--calls must be at least 1")
    tmp = Path(tempfile.mkdtemp(prefix="outdial-bench-"))
    try:
        figures = run(args.calls, tmp, args.profile)
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    show(figures)
    result = {
        "calls": figures.calls,
        "outdial_calls_per_s": significant(figures.outdial_rate),
        "baseline_calls_per_s": significant(figures.baseline_rate),
        "ratio": significant(figures.outdial_rate / figures.baseline_rate),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
