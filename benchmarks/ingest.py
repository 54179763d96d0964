"""Bulk CSV upload: a real ``outdial serve`` against plain ``sqlite3`` inserting the same rows.

    .venv/bin/python benchmarks/ingest.py --rows 100000

Sets up an account, application and deployment with the CLI on a fresh SQLite file, starts the
server on loopback, uploads a CSV of N distinct valid US numbers to ``bulk_queue`` and times the
request from start to full response. The baseline is one ``executemany`` of the same N rows, as
outdial would store them, into a table with the columns of outdial's ``calls`` table (primary key
only) in a fresh SQLite file with the same pragmas, plus the commit.

Prints the figures, then as its last line one JSON object:
``{"rows": N, "outdial_s": ..., "raw_s": ..., "ratio": raw_s / outdial_s}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import phonenumbers
from sqlalchemy.dialects import sqlite

from outdial.store.tables import calls

SEED = 20240601
HOST = "127.0.0.1"  # loopback only
REGION = "US"
EMAIL = "bench@example.com"
AREA_CODES = (617, 212, 415, 312, 646, 213, 310, 718, 305, 206)
FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken")
HEADER = ("destination", "first_name", "account_ref")

CLI_TIMEOUT = 60.0  # seconds for one `outdial account/app/deployment create`
HEALTH_TIMEOUT = 30.0  # seconds for the server to answer /healthz
HEALTH_POLL = 0.1  # seconds between /healthz tries
UPLOAD_TIMEOUT = 600.0  # seconds for one bulk_queue request, response included
STOP_TIMEOUT = 20.0  # seconds for the server to exit after SIGTERM
KILL_TIMEOUT = 5.0  # seconds to reap it after SIGKILL
SQLITE_TIMEOUT = 30.0  # seconds the count query waits for a lock
# Enough rows for both ingest workers to get a chunk (outdial.ingest.pipeline: 2,000 rows are
# validated in-process, then chunks of 5,000 go to the pool), so the timed upload finds them up.
WARMUP_ROWS = 12_000


@dataclass(frozen=True, slots=True)
class Target:
    email: str
    key: str
    application_id: int
    deployment_id: int
    warmup_deployment_id: int


@dataclass(frozen=True, slots=True)
class Figures:
    rows: int
    warmup_rows: int
    csv_bytes: int
    response_bytes: int
    outdial_s: float
    server_cpu_s: float | None  # the server and its ingest workers, during the upload
    load: float  # 1-minute load average just before the upload
    raw_s: float
    raw_indexed_s: float


# -- data -----------------------------------------------------------------------------------


def make_numbers(count: int, seed: int = SEED) -> list[tuple[str, str]]:
    """``count`` distinct (10 national digits, E.164) US numbers, checked with libphonenumber.

    Exchanges are 200-999 without N11 and 555. Raises if libphonenumber refuses any number.
    """
    exchanges = [e for e in range(200, 1000) if e % 100 != 11 and e != 555]
    space = len(AREA_CODES) * len(exchanges) * 10_000
    if count > space:
        raise SystemExit(f"at most {space} distinct numbers can be made, not {count}")
    rng = random.Random(seed)
    numbers: list[tuple[str, str]] = []
    for index in rng.sample(range(space), count):
        prefix, line = divmod(index, 10_000)
        area, exchange = divmod(prefix, len(exchanges))
        national = f"{AREA_CODES[area]}{exchanges[exchange]}{line:04d}"
        parsed = phonenumbers.parse(national, REGION)
        if not phonenumbers.is_valid_number(parsed):
            raise SystemExit(f"generator bug: {national} is not a valid {REGION} number")
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        numbers.append((national, e164))
    return numbers


def extra_columns(index: int) -> tuple[str, str]:
    """first_name and account_ref of row ``index`` (0-based)."""
    return FIRST_NAMES[index % len(FIRST_NAMES)], f"ACC-{index:07d}"


def make_csv(numbers: Sequence[tuple[str, str]]) -> bytes:
    lines = [",".join(HEADER)]
    for index, (national, _e164) in enumerate(numbers):
        lines.append(",".join((national, *extra_columns(index))))
    return ("\r\n".join(lines) + "\r\n").encode()


# -- outdial --------------------------------------------------------------------------------


def outdial_command() -> list[str]:
    entry = Path(sys.executable).parent / "outdial"
    return [str(entry)] if entry.exists() else [sys.executable, "-m", "outdial"]


def clean_env() -> dict[str, str]:
    """The environment without OUTDIAL_* variables, so only our flags configure outdial."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OUTDIAL_")}


def cli(database_url: str, *args: str) -> dict[str, Any]:
    """Run one `outdial ...` command and return the JSON object it prints last."""
    done = subprocess.run(
        [*outdial_command(), *args, "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        env=clean_env(),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"outdial {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def set_up(database_url: str) -> Target:
    account = cli(database_url, "account", "create", "--email", EMAIL)
    app_id = cli(database_url, "app", "create", "--account", EMAIL, "--name", "bench")[
        "application_id"
    ]

    def deployment(name: str) -> int:
        created = cli(database_url, "deployment", "create", "--app", str(app_id), "--name", name)
        return int(created["deployment_id"])

    return Target(
        account["email"],
        account["developer_key"],
        app_id,
        deployment("bench"),
        deployment("warmup"),
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def server(database_url: str, port: int, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``outdial serve`` on loopback; stopped with SIGTERM (SIGKILL if it hangs) on exit."""
    command = [
        *outdial_command(),
        "serve",
        *("--host", HOST, "--port", str(port), "--database-url", database_url),
        *("--log-level", "WARNING"),
    ]
    with log_path.open("wb") as log:
        # Its own session, so its ingest workers can be killed with it if it will not stop.
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=clean_env(), start_new_session=True
        )
        try:
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            print(f"the server did not stop in {STOP_TIMEOUT} s: killing it", file=sys.stderr)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the group we created: server and its workers
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(KILL_TIMEOUT)


def wait_healthy(client: httpx.Client, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log_path.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if client.get("/healthz", timeout=2.0).status_code == 200:
                return
        time.sleep(HEALTH_POLL)
    log = log_path.read_text()
    raise RuntimeError(f"/healthz did not answer 200 in {HEALTH_TIMEOUT} s:\n{log}")


def upload(
    client: httpx.Client, target: Target, deployment_id: int, body: bytes
) -> tuple[float, httpx.Response]:
    """POST the CSV to bulk_queue; seconds from request start to the full response."""
    url = f"/api/apps/{target.application_id}/{deployment_id}/bulk_queue"
    started = time.perf_counter()
    response = client.post(
        url,
        files={"csv": ("numbers.csv", body, "text/csv")},
        auth=(target.email, target.key),
        timeout=UPLOAD_TIMEOUT,
    )
    return time.perf_counter() - started, response


def check_report(response: httpx.Response, rows: int) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"bulk_queue answered {response.status_code}: {response.text[:2000]}")
    report = response.json()
    if report["accepted"] != rows or report["rejected"] != 0:
        raise RuntimeError(
            f"expected {rows} accepted and 0 rejected, got {report['accepted']} and "
            f"{report['rejected']}; first errors: {report['errors'][:5]}"
        )


def stored_calls(db_path: Path, deployment_id: int) -> int:
    with contextlib.closing(sqlite3.connect(db_path, timeout=SQLITE_TIMEOUT)) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM calls WHERE deployment_id = ?", (deployment_id,)
        ).fetchone()
    return int(count)


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) of ``pid`` and its live descendants; None without /proc.

    The host may be shared: CPU time says what the upload cost even when wall time is noisy.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    try:
        while pending:
            current = pending.pop()
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                stat = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(stat[11]) + int(stat[12])) / tick  # utime, stime: proc(5)
                for task in Path(f"/proc/{current}/task").iterdir():
                    pending += [int(child) for child in (task / "children").read_text().split()]
    except OSError:
        return None
    return total


# -- baseline -------------------------------------------------------------------------------


def baseline_rows(
    numbers: Sequence[tuple[str, str]], now: float
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names (all but the primary key) and one tuple per call, as outdial stores it."""
    shared: dict[str, Any] = {
        "account_id": 1,
        "deployment_id": 1,
        "batch_pk": 1,
        "ani": None,
        "postd": None,
        "status": "queued",
        "callee_type": None,
        "attempts": 0,
        "max_attempts": 1,
        "reattempt_wait": None,
        "queued_at": now,
        "start_at": now,
        "end_at": None,
        "next_attempt_at": now,
        "last_attempt_at": None,
        "duration": None,
        "message_reference": None,
        "result_url": None,
        "results": None,
        "end_reason": None,
        "cancel_requested": 0,
        "updated_at": now,
    }
    per_row = ("call_id", "batch_row", "phone_number", "call_parameters")
    columns = [c.name for c in calls.columns if not c.primary_key]
    for column in calls.columns:
        if column.primary_key or column.name in per_row or column.name in shared:
            continue
        if not column.nullable:
            raise SystemExit(f"calls.{column.name} is new and NOT NULL: give it a value here")
        shared[column.name] = None
    rows: list[tuple[Any, ...]] = []
    for index, (_national, e164) in enumerate(numbers):
        first_name, account_ref = extra_columns(index)
        values = {
            **shared,
            "call_id": str(uuid.uuid4()),
            "batch_row": index + 2,  # the header is row 1
            "phone_number": e164,
            "call_parameters": json.dumps(
                {"first_name": first_name, "account_ref": account_ref}, separators=(",", ":")
            ),
        }
        rows.append(tuple(values[name] for name in columns))
    return columns, rows


def baseline_table_sql() -> str:
    """CREATE TABLE with the columns, types and NOT NULLs of outdial's calls table."""
    dialect = sqlite.dialect()
    parts = []
    for column in calls.columns:
        if column.primary_key:
            parts.append(f'"{column.name}" INTEGER PRIMARY KEY')
        else:
            null = "" if column.nullable else " NOT NULL"
            parts.append(f'"{column.name}" {column.type.compile(dialect=dialect)}{null}')
    return f"CREATE TABLE calls ({', '.join(parts)})"


def time_raw(
    path: Path, columns: list[str], rows: list[tuple[Any, ...]], indexes: bool = False
) -> float:
    """Seconds for one executemany of ``rows`` plus the commit, in a fresh WAL database.

    ``indexes`` adds outdial's secondary indexes (unique call_id; deployment, status, id).
    """
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(baseline_table_sql())
        if indexes:
            conn.execute("CREATE UNIQUE INDEX ix_calls_call_id ON calls (call_id)")
            conn.execute("CREATE INDEX ix_calls_dep_status ON calls (deployment_id, status, id)")
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO calls ({names}) VALUES ({marks})"
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        (count,) = conn.execute("SELECT count(*) FROM calls").fetchone()
        if count != len(rows):
            raise RuntimeError(f"the baseline stored {count} rows, not {len(rows)}")
        return elapsed
    finally:
        conn.close()


# -- run ------------------------------------------------------------------------------------


def run(rows: int, port: int, warmup_rows: int, tmp: Path) -> Figures:
    db_path = tmp / "outdial.db"
    database_url = f"sqlite:///{db_path}"
    numbers = make_numbers(rows + warmup_rows)
    measured, warmup = numbers[:rows], numbers[rows:]
    body = make_csv(measured)
    target = set_up(database_url)
    port = port or free_port()
    log_path = tmp / "server.log"
    with (
        server(database_url, port, log_path) as process,
        httpx.Client(base_url=f"http://{HOST}:{port}", trust_env=False) as client,
    ):
        wait_healthy(client, process, log_path)
        if warmup:
            # Starts the ingest workers and warms the database, in another deployment.
            _, response = upload(client, target, target.warmup_deployment_id, make_csv(warmup))
            check_report(response, len(warmup))
        load = os.getloadavg()[0]
        cpu_before = tree_cpu_seconds(process.pid)
        outdial_s, response = upload(client, target, target.deployment_id, body)
        cpu_after = tree_cpu_seconds(process.pid)
        check_report(response, rows)
    stored = stored_calls(db_path, target.deployment_id)
    if stored != rows:
        raise RuntimeError(f"{stored} calls in the calls table, not {rows}")

    columns, raw_rows = baseline_rows(measured, time.time())
    return Figures(
        rows=rows,
        warmup_rows=len(warmup),
        csv_bytes=len(body),
        response_bytes=len(response.content),
        outdial_s=outdial_s,
        server_cpu_s=(
            cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
        ),
        load=load,
        raw_s=time_raw(tmp / "raw.db", columns, raw_rows),
        raw_indexed_s=time_raw(tmp / "raw-indexed.db", columns, raw_rows, indexes=True),
    )


def show(f: Figures) -> None:
    def rate(seconds: float) -> str:
        return f"{seconds:7.3f} s  {f.rows / seconds:>9,.0f} rows/s"

    cpu = "n/a" if f.server_cpu_s is None else f"{f.server_cpu_s:.3f} s"
    print(f"rows                     {f.rows:,} ({f.warmup_rows:,} warm-up rows uploaded first)")
    print(f"CSV / response           {f.csv_bytes / 1e6:.2f} MB / {f.response_bytes / 1e6:.2f} MB")
    print(f"1-min load before        {f.load:.2f} on {os.cpu_count()} CPUs")
    print(f"outdial bulk_queue       {rate(f.outdial_s)}")
    print(f"  server + workers CPU   {cpu}")
    print(f"sqlite3 executemany      {rate(f.raw_s)}")
    print(f"  + outdial's 2 indexes  {rate(f.raw_indexed_s)}")
    print(f"raw / outdial            {f.raw_s / f.outdial_s:.3f}")


def significant(value: float) -> float:
    return float(f"{value:.4g}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the CSV")
    parser.add_argument("--port", type=int, default=0, help="server port on 127.0.0.1; 0 picks")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--warmup-rows",
        type=int,
        default=WARMUP_ROWS,
        help="rows uploaded to another deployment before the timed upload; 0 for none",
    )
    args = parser.parse_args(argv)
    if args.rows < 1 or args.warmup_rows < 0:
        parser.error("--rows must be at least 1 and --warmup-rows at least 0")
    tmp = Path(tempfile.mkdtemp(prefix="outdial-bench-"))
    try:
        figures = run(args.rows, args.port, args.warmup_rows, tmp)
    finally:
        if args.keep:
            print(f"kept {tmp} (server log: {tmp / 'server.log'})", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    show(figures)
    result = {
        "rows": figures.rows,
        "outdial_s": significant(figures.outdial_s),
        "raw_s": significant(figures.raw_s),
        "ratio": significant(figures.raw_s / figures.outdial_s),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
