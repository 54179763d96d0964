"""Real dialing processes for the crash and scale-out tests, and what their dial logs prove.

A campaign is set up with ``outdial`` commands (account, simulated trunk, application,
deployments), served by ``outdial serve`` and dialed by ``outdial serve`` or ``outdial worker``
processes, each started in its own session so a test can always end it (and anything it
spawned) by its process group. Every wait has a deadline.

The dial logs (``--sim-dial-log``) hold one line when a dial starts and one when it ends. A
dial's *span* here runs from its logged start to the later of its logged end (when the leg
ended) and the end of its attempt as the database recorded it (when its line was given back).
That span covers the whole dial, and no other claim can count the line free before the stored
end is committed. So two spans of one call that overlap are a double dial, and more spans up at
once than a limit allows is a broken limit, whatever the order in which processes wrote their
logs. A dial left open by a killed process ends when another process took its attempt over. An
attempt taken over from a process that was still alive (cut off from the database, say) may
have kept its leg up after the takeover: its logged end then counts.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
from acceptance_support import OUTDIAL, clean_environment, free_port, run_json
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from outdial.calls import Call
from outdial.options import Schedule
from outdial.store import db
from outdial.store.store import NewCall, Store, new_call_ids

FINAL = frozenset({"completed", "failed", "uncalled"})
TAKEOVER_CAUSE = "worker lost: its lease expired"
START_TIMEOUT = 60.0  # seconds until a server answers /healthz
STOP_TIMEOUT = 15.0  # seconds between SIGTERM and SIGKILL
POLL = 0.1  # seconds between looks at a log or the API
CALLER_ID = "+18005550100"


# --- processes ----------------------------------------------------------------------------------


def fleet_environment(workdir: Path) -> dict[str, str]:
    """Every process of a test, and the commands that set its campaign up, share one key file
    (PostgreSQL has no default: the file must be given)."""
    return clean_environment(OUTDIAL_SECRET_KEY_FILE=str(workdir / "secret.key"))


class OutdialProcess:
    """One ``outdial`` subprocess in a session of its own; its output goes to a file."""

    def __init__(self, name: str, workdir: Path, args: Sequence[str]) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(OUTDIAL), *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=fleet_environment(workdir),
            cwd=workdir,
            start_new_session=True,  # its own process group: ended with it, always
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self, tail: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]

    def kill(self) -> float:
        """``kill -9`` it now; returns a time by which it was certainly dead."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT)
        return time.time()

    def stop(self) -> int | None:
        """SIGTERM (a graceful drain), SIGKILL if it takes too long; its group goes too."""
        try:
            if self.alive:
                self.process.terminate()
                try:
                    self.process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(STOP_TIMEOUT)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)  # anything it left behind
        finally:
            self._log.close()
        return self.process.returncode


class Server(OutdialProcess):
    def __init__(self, name: str, workdir: Path, database_url: str, port: int, *extra: str):
        self.url = f"http://127.0.0.1:{port}"
        args = ["serve", "--database-url", database_url, "--host", "127.0.0.1"]
        args += ["--port", str(port), "--ingest-workers", "0", *extra]
        super().__init__(name, workdir, args)

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.alive:
                raise AssertionError(f"{self.name} exited early:\n{self.output()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(POLL)
        raise AssertionError(f"{self.name} did not become healthy:\n{self.output()}")


class Fleet:
    """The processes of one test; ``close()`` ends every one still running."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[OutdialProcess] = []

    def serve(self, database_url: str, *extra: str, port: int | None = None) -> Server:
        port = port or free_port()
        server = Server(f"serve-{len(self.processes)}", self.workdir, database_url, port, *extra)
        self.processes.append(server)
        server.wait_until_healthy()
        return server

    def worker(self, database_url: str, *extra: str) -> OutdialProcess:
        args = ["worker", "--database-url", database_url, *extra]
        worker = OutdialProcess(f"worker-{len(self.processes)}", self.workdir, args)
        self.processes.append(worker)
        return worker

    def require_alive(self, *processes: OutdialProcess) -> bool:
        """True, or an AssertionError with the output of the first that died."""
        for process in processes:
            if not process.alive:
                raise AssertionError(
                    f"{process.name} died (exit {process.process.returncode}):\n" + process.output()
                )
        return True

    def close(self) -> None:
        for process in self.processes:
            process.stop()


@contextlib.contextmanager
def fleet(workdir: Path) -> Iterator[Fleet]:
    running = Fleet(workdir)
    try:
        yield running
    finally:
        running.close()


def wait_until(
    done: Callable[[], bool], timeout: float, what: str, explain: Callable[[], str] = str
) -> None:
    """Poll ``done()`` until it holds; fail after ``timeout`` seconds, saying ``what``."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting until {what}\n{explain()}")
        time.sleep(POLL)


# --- the campaign -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Campaign:
    """What the ``outdial`` commands set up: one account and application, its deployments."""

    database_url: str
    email: str
    key: str
    app_id: int
    deployments: tuple[int, ...]

    @property
    def auth(self) -> tuple[str, str]:
        return (self.email, self.key)

    def base(self, dep_id: int) -> str:
        return f"/api/apps/{self.app_id}/{dep_id}"


def create_campaign(
    database_url: str,
    workdir: Path,
    rules: Sequence[Mapping[str, object]],
    *,
    trunk_lines: int,
    trunk_cps: float,
    deployments: Sequence[tuple[int, float]],
) -> Campaign:
    """A simulated trunk with ``rules`` and deployments of (max_lines, cps) dialing through it."""
    url = ("--database-url", database_url)
    env = fleet_environment(workdir)
    email = "crash@example.com"
    config = workdir / "sim-config.json"
    config.write_text(json.dumps({"seed": 1, "rules": list(rules)}))
    account = run_json("account", "create", *url, "--email", email, env=env)
    trunk = run_json(
        *("trunk", "create", *url, "--name", "sim", "--kind", "simulated"),
        *("--lines", str(trunk_lines), "--cps", str(trunk_cps), "--sim-config", str(config)),
        env=env,
    )
    assert (trunk["lines"], trunk["kind"]) == (trunk_lines, "simulated")
    app = run_json("app", "create", *url, "--account", email, "--name", "Crash test", env=env)
    dep_ids = []
    for max_lines, cps in deployments:
        dep = run_json(
            *("deployment", "create", *url, "--app", str(app["application_id"])),
            *("--trunk", "sim", "--max-lines", str(max_lines), "--cps", str(cps)),
            *("--caller-id", CALLER_ID),
            # Calls of a fraction of a second: too short for detection, which is tested with
            # realistic calls in tests/integration/test_detection_calls.py.
            "--no-detection",
            env=env,
        )
        assert (dep["trunk"], dep["max_lines"]) == ("sim", max_lines)
        dep_ids.append(dep["deployment_id"])
    return Campaign(
        database_url, email, account["developer_key"], app["application_id"], tuple(dep_ids)
    )


def numbers(first: int, count: int) -> list[str]:
    return [f"+1617555{n:04d}" for n in range(first, first + count)]


def queue_by_api(
    http: httpx.Client, campaign: Campaign, dep_id: int, phones: Sequence[str], **options: Any
) -> list[str]:
    """Queue calls with one bulk request, as a client would; returns their call_ids."""
    body = {"calls": [{"phone_number": p} for p in phones], **options}
    response = http.post(campaign.base(dep_id) + "/bulk_queue", json=body, auth=campaign.auth)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["accepted"], report["rejected"]) == (len(phones), 0), report
    ids: list[str] = report["call_ids"]
    return ids


def queue_in_store(
    campaign: Campaign, dep_id: int, phones: Sequence[str], schedule: Schedule
) -> list[str]:
    """Queue calls through the Store: it allows the short ``reattempt_wait`` the API refuses."""
    with open_store(campaign.database_url) as store:
        account = store.account_by_email(campaign.email)
        assert account is not None
        deployment = store.deployment_for(account, campaign.app_id, dep_id)
        ids = new_call_ids(len(phones))
        rows = [
            NewCall(i, p, None, None, None, "{}", None) for i, p in zip(ids, phones, strict=True)
        ]
        store.queue_calls(deployment, schedule, rows)
    return ids


@contextlib.contextmanager
def open_store(database_url: str) -> Iterator[Store]:
    store = Store(db.make_engine(database_url))
    try:
        yield store
    finally:
        store.close()


def stored_calls(campaign: Campaign, call_ids: Iterable[str]) -> dict[str, Call]:
    """Each call as stored, with its attempts (their causes are not in the API's details)."""
    with open_store(campaign.database_url) as store:
        account = store.account_by_email(campaign.email)
        assert account is not None
        return {call_id: store.get_call(account, call_id) for call_id in call_ids}


def pending(http: httpx.Client, campaign: Campaign, dep_id: int) -> int:
    response = http.get(
        campaign.base(dep_id) + "/calls",
        params={"group": "pending", "per_page": 1},
        auth=campaign.auth,
    )
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


def listed_calls(http: httpx.Client, campaign: Campaign, dep_id: int) -> dict[str, dict[str, Any]]:
    """Every call of a deployment as the API lists it, by call_id."""
    found: dict[str, dict[str, Any]] = {}
    page = 1
    while True:
        response = http.get(
            campaign.base(dep_id) + "/calls",
            params={"page": page, "per_page": 1000},
            auth=campaign.auth,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        found.update({c["call_id"]: c for c in body["calls"]})
        if len(found) >= body["total"] or not body["calls"]:
            return found
        page += 1


def terminate_backends(database_url: str) -> int:
    """End every other connection to the database, as a failover or a network cut would."""
    killer = create_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with killer.connect() as conn:
            ended: int = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        killer.dispose()
    return ended


def drop_connections_mid_statement(database_url: str, waiting: int, timeout: float) -> int:
    """End the other connections while at least ``waiting`` of them are inside a statement.

    The calls being dialed are locked first, so the dialer's writes about them (heartbeats,
    answers, attempt results) wait in the database; then their connections are ended. That is
    a network cut at the worst moment, made certain instead of left to chance.
    """
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as locker, engine.connect() as killer:
            locker.execute(
                text("SELECT id FROM calls WHERE status IN ('dialing', 'connected') FOR UPDATE")
            )
            locker_pid = locker.execute(text("SELECT pg_backend_pid()")).scalar_one()
            killer.commit()
            others = (
                " FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid NOT IN (pg_backend_pid(), :locker)"
            )
            deadline = time.monotonic() + timeout
            while True:
                stuck = killer.execute(
                    text("SELECT count(*)" + others + " AND wait_event_type = 'Lock'"),
                    {"locker": locker_pid},
                ).scalar_one()
                killer.commit()  # a new snapshot of pg_stat_activity each time
                if stuck >= waiting:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"only {stuck} statements waited on the locked calls")
                time.sleep(0.05)
            ended: int = killer.execute(
                text("SELECT count(pg_terminate_backend(pid))" + others),
                {"locker": locker_pid},
            ).scalar_one()
            killer.commit()
            locker.rollback()
    finally:
        engine.dispose()
    return ended


# --- dial logs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dial:
    """One dial from a log: its start line and, unless the process died first, its end line."""

    call_id: str
    attempt: int
    started_at: float
    ended_at: float | None
    log: str  # the file it came from


def read_entries(path: Path, *, running: bool = False) -> list[dict[str, Any]]:
    """A dial log's lines; with ``running``, a last line still being written is left out."""
    if not path.exists():
        return []
    content = path.read_text()
    lines = content.split("\n")
    if running or not lines[-1]:
        lines = lines[:-1]  # the part after the last newline: empty, or not yet complete
    return [json.loads(line) for line in lines]


def progress(paths: Sequence[Path]) -> tuple[int, dict[Path, int]]:
    """How many dials have ended, and how many are open in each log, right now."""
    ended = 0
    open_by_log: dict[Path, int] = {}
    for path in paths:
        entries = read_entries(path, running=True)
        finished = sum(1 for e in entries if e["ended_at"] is not None)
        ended += finished
        open_by_log[path] = len(entries) - 2 * finished
    return ended, open_by_log


def read_dials(paths: Sequence[Path]) -> list[Dial]:
    """Every dial of the logs; fails on an end line with no start or on duplicate lines."""
    dials: list[Dial] = []
    for path in paths:
        opened: dict[tuple[str, int, float], int] = {}
        for entry in read_entries(path):
            key = (entry["call_id"], entry["attempt"], entry["started_at"])
            if entry["ended_at"] is None:
                assert key not in opened, f"{path.name}: dial {key} logged as started twice"
                opened[key] = len(dials)
                dials.append(Dial(key[0], key[1], key[2], None, path.name))
            else:
                assert key in opened, f"{path.name}: dial {key} ended but never started"
                index = opened.pop(key)
                assert dials[index].ended_at is None, f"{path.name}: dial {key} ended twice"
                dials[index] = Dial(key[0], key[1], key[2], entry["ended_at"], path.name)
    return dials


def peak(spans: Iterable[tuple[float, float]]) -> int:
    """The most spans up at one moment; a span ending when another starts does not overlap."""
    listed = list(spans)
    points = sorted([(start, 1) for start, _ in listed] + [(end, -1) for _, end in listed])
    level = highest = 0
    for _, step in points:
        level += step
        highest = max(highest, level)
    return highest


def spans_of(
    dials: Sequence[Dial], calls: dict[str, Call]
) -> dict[tuple[str, int], tuple[float, float]]:
    """Each dial's span: its logged start to its attempt's end as stored (see the module doc)."""
    spans: dict[tuple[str, int], tuple[float, float]] = {}
    for dial in dials:
        [attempt] = [a for a in calls[dial.call_id].attempt_list if a.number == dial.attempt]
        assert attempt.ended_at is not None, f"attempt {dial.attempt} of {dial.call_id} is open"
        assert attempt.ended_at >= dial.started_at, (dial, attempt)
        # The log's end is when the leg ended; the store's, when its line was given back (just
        # after, or at a takeover). The span covers both: the leg may outlive a takeover from a
        # live process, and the line is held until the store says it is free.
        end = max(attempt.ended_at, dial.ended_at or attempt.ended_at)
        spans[(dial.call_id, dial.attempt)] = (dial.started_at, end)
    return spans


def assert_dialed_once_at_a_time(
    dials: Sequence[Dial], spans: dict[tuple[str, int], tuple[float, float]]
) -> None:
    """No (call, attempt) dialed twice; no call's dials overlap; attempts dialed in order."""
    twice = [key for key, n in Counter((d.call_id, d.attempt) for d in dials).items() if n > 1]
    assert not twice, f"dialed more than once: {sorted(twice)[:5]}"
    log_of = {(d.call_id, d.attempt): d.log for d in dials}
    by_call: dict[str, list[tuple[float, float, int]]] = {}
    for (call_id, attempt), (start, end) in spans.items():
        by_call.setdefault(call_id, []).append((start, end, attempt))
    overlaps = []
    for call_id, attempts in by_call.items():
        attempts.sort()
        assert [a for _, _, a in attempts] == sorted(a for _, _, a in attempts), call_id
        for (start, end, number), (later, _, next_number) in itertools.pairwise(attempts):
            if later <= end:
                overlaps.append(
                    f"{call_id}: attempt {number} ({log_of[call_id, number]}) up from "
                    f"{start:.2f} to {end:.2f}, attempt {next_number} "
                    f"({log_of[call_id, next_number]}) dialed at {later:.2f}"
                )
    assert not overlaps, f"{len(overlaps)} calls dialed twice at once:\n" + "\n".join(overlaps)


def assert_one_attempt_per_dial(
    dials: Sequence[Dial], calls: dict[str, Call], killed_at: float | None = None
) -> None:
    """Each call's stored attempts are numbered 1..attempts, and each is a logged dial.

    The one exception: an attempt a killed process had claimed but not yet dialed (between
    the claim's commit and the dial log's first line, microseconds). It must have started
    before the kill and have been closed by a lease takeover.
    """
    logged = {(d.call_id, d.attempt) for d in dials}
    stored = {(call_id, a.number) for call_id, call in calls.items() for a in call.attempt_list}
    assert logged <= stored, f"dials with no stored attempt: {sorted(logged - stored)[:5]}"
    for call_id, call in calls.items():
        numbers_stored = [a.number for a in call.attempt_list]
        assert numbers_stored == list(range(1, call.attempts + 1)), describe_calls({call_id: call})
        for attempt in call.attempt_list:
            if (call_id, attempt.number) not in logged:
                assert killed_at is not None, "an attempt was never dialed\n" + describe_calls(
                    {call_id: call}
                )
                assert attempt.cause == TAKEOVER_CAUSE, describe_calls({call_id: call})
                assert attempt.started_at < killed_at, describe_calls({call_id: call})


def describe_calls(calls: dict[str, Call]) -> str:
    lines = []
    for call in calls.values():
        tried = ", ".join(
            f"#{a.number} {a.callee_type and a.callee_type.value} ({a.cause})"
            for a in call.attempt_list
        )
        lines.append(f"{call.call_id} {call.phone_number} {call.status.value}: {tried}")
    return "\n".join(lines)


def pending_in_store(campaign: Campaign, call_ids: Iterable[str]) -> dict[str, Call]:
    calls = stored_calls(campaign, call_ids)
    return {i: c for i, c in calls.items() if c.status.value not in FINAL}


__all__ = [
    "FINAL",
    "TAKEOVER_CAUSE",
    "Campaign",
    "Dial",
    "Fleet",
    "OutdialProcess",
    "Server",
    "assert_dialed_once_at_a_time",
    "assert_one_attempt_per_dial",
    "create_campaign",
    "describe_calls",
    "drop_connections_mid_statement",
    "fleet",
    "listed_calls",
    "numbers",
    "open_store",
    "peak",
    "pending",
    "pending_in_store",
    "progress",
    "queue_by_api",
    "queue_in_store",
    "read_dials",
    "read_entries",
    "spans_of",
    "stored_calls",
    "terminate_backends",
    "wait_until",
]
