"""Shared fixtures: a fresh SQLite or PostgreSQL database per test, a fake clock, factories.

PostgreSQL comes from ``OUTDIAL_TEST_DATABASE_URL`` (a server where the test user may
``CREATE DATABASE``) or, when that is unset, from a throwaway cluster this session starts
from the PostgreSQL 15 binaries and removes at the end. Each test gets a database cloned
from a template migrated once per session; SQLite tests get a copy of a migrated file.
When PostgreSQL cannot be had, its tests are skipped, except under ``CI=true``, where
that is a failure: CI must never pass by skipping half the suite.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import URL, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from outdial.accounts import Account, Deployment
from outdial.options import Schedule
from outdial.store import db
from outdial.store.store import NewCall, Store, new_call_id

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGRES_USER = "postgres"
POSTGRES_START_TIMEOUT = 30  # seconds pg_ctl waits for the server to accept connections
START_ATTEMPTS = 3  # the free port we picked may be taken before the server binds it
START_TIME = 1_800_000_000.0  # 2027-01-15T08:00:00Z, the fake clock's first reading

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


# --- the clock ----------------------------------------------------------------------------------


class FakeClock:
    """A clock that moves only when told to: ``clock()`` reads it, ``advance(s)`` moves it."""

    def __init__(self, now: float = START_TIME) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# --- PostgreSQL ---------------------------------------------------------------------------------


class PostgresUnavailable(Exception):
    """PostgreSQL could not be started or reached."""


def _unavailable(reason: str) -> None:
    """Skip the PostgreSQL tests, or fail them in CI, where nothing may be skipped."""
    message = f"PostgreSQL is not available: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A server on which this session may create and drop databases."""

    url: URL  # of a maintenance database, used to create and drop the others
    token: str  # makes this session's database names unique on a shared server
    version: int = 0  # server_version_num, e.g. 150004

    def url_of(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    @contextlib.contextmanager
    def _admin(self) -> Iterator[Any]:
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def create_database(self, name: str, template: str | None = None) -> str:
        statement = f'CREATE DATABASE "{name}"'
        if template is not None:
            statement += f' TEMPLATE "{template}"'
            if self.version >= 150000:
                # Copying the files beats WAL-logging each block of a small template
                # (35 ms against 230 ms on a quiet machine); fsync=off makes the
                # checkpoint it needs cheap.
                statement += " STRATEGY = FILE_COPY"
        with self._admin() as conn:
            conn.execute(text(statement))
        return self.url_of(name)

    def drop_database(self, name: str) -> None:
        # FORCE (PostgreSQL 13+) ends any connection a failed test left open.
        with self._admin() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _run_as_postgres(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    command = list(args)
    if os.geteuid() == 0:  # initdb refuses to run as root
        command = ["runuser", "-u", POSTGRES_USER, "--", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def _start(base: Path, data: Path) -> int:
    """Start the server on a free port (trying another if one is taken meanwhile)."""
    log = base / "server.log"
    error = ""
    for _ in range(START_ATTEMPTS):
        port = _free_port()
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = str(POSTGRES_BIN / "pg_ctl")
        timeout = str(POSTGRES_START_TIMEOUT)
        start = _run_as_postgres(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-t", timeout, "-w", "start"]
        )
        if start.returncode == 0:
            return port
        error = (
            start.stderr.strip() + " " + (log.read_text(errors="replace") if log.exists() else "")
        )
    raise PostgresUnavailable(f"pg_ctl start failed: {error[-2000:]}")


@contextlib.contextmanager
def _throwaway_cluster() -> Iterator[URL]:
    """Start a PostgreSQL cluster in a temporary directory; stop and remove it afterwards."""
    if not (POSTGRES_BIN / "initdb").exists():
        raise PostgresUnavailable(f"no PostgreSQL binaries in {POSTGRES_BIN}")
    base = Path(tempfile.mkdtemp(prefix="outdial-pg-"))
    data = base / "data"
    try:
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam(POSTGRES_USER)
            except KeyError:
                raise PostgresUnavailable(f"no {POSTGRES_USER!r} user to run it as") from None
            os.chown(base, user.pw_uid, user.pw_gid)
        initdb = _run_as_postgres(
            [str(POSTGRES_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        )
        if initdb.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {initdb.stderr.strip()}")
        port = _start(base, data)
        try:
            yield URL.create(
                "postgresql+psycopg",
                username="postgres",
                host="127.0.0.1",
                port=port,
                database="postgres",
            )
        finally:
            _run_as_postgres(
                [str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    token = secrets.token_hex(4)
    given = os.environ.get("OUTDIAL_TEST_DATABASE_URL")
    with contextlib.ExitStack() as stack:
        try:
            url = make_url(given) if given else stack.enter_context(_throwaway_cluster())
            if url.get_driver_name() != "psycopg":  # psycopg 3 is the driver outdial uses
                url = url.set(drivername="postgresql+psycopg")
            server = PostgresServer(url, token)
            with server._admin() as conn:
                server.version = int(conn.execute(text("SHOW server_version_num")).scalar_one())
        except (PostgresUnavailable, OSError, subprocess.SubprocessError) as error:
            _unavailable(str(error))
        except Exception as error:  # a bad URL, refused connection, missing privilege...
            _unavailable(f"{type(error).__name__}: {error}")
        yield server


_database_numbers = itertools.count(1)


class DatabaseClones:
    """Fresh clones of the template, made a few tests ahead and dropped in the background.

    Cloning waits mostly on the server, not on this process: done in a small thread pool
    ahead of need, it leaves the test's setup almost nothing to wait for.
    """

    AHEAD = 4  # clones kept ready: enough to hide a slow CREATE DATABASE on a busy machine
    WORKERS = 4  # cloning waits on the server, so several at once go faster than one by one

    def __init__(self, server: PostgresServer, template: str) -> None:
        self.server = server
        self.template = template
        self._pool = ThreadPoolExecutor(self.WORKERS, thread_name_prefix="pg-clone")
        self._ready: deque[Future[str]] = deque()
        self._drops: list[Future[None]] = []

    def _clone(self) -> str:
        name = f"test_{self.server.token}_{next(_database_numbers)}"
        self.server.create_database(name, self.template)
        return name

    def take(self) -> str:
        """The name of a new database at head; hand it back with ``drop``."""
        while len(self._ready) <= self.AHEAD:
            self._ready.append(self._pool.submit(self._clone))
        return self._ready.popleft().result()

    def drop(self, name: str) -> None:
        self._drops.append(self._pool.submit(self.server.drop_database, name))

    def close(self) -> None:
        for future in self._ready:
            with contextlib.suppress(Exception):  # a failed clone has nothing to drop
                self.drop(future.result())
        self._pool.shutdown(wait=True)
        for drop in self._drops:
            drop.result()  # a drop that failed is worth hearing about


@pytest.fixture(scope="session")
def postgres_clones(postgres_server: PostgresServer) -> Iterator[DatabaseClones]:
    """Clones of a template database migrated once per session."""
    template = f"outdial_template_{postgres_server.token}"
    url = postgres_server.create_database(template)
    try:
        engine = db.make_engine(url)
        try:
            db.migrate(engine)
        finally:
            engine.dispose()  # CREATE DATABASE ... TEMPLATE needs the template unused
        clones = DatabaseClones(postgres_server, template)
        try:
            yield clones
        finally:
            clones.close()
    finally:
        postgres_server.drop_database(template)


# --- SQLite -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        db.migrate(engine)
    finally:
        engine.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


# --- one fresh database per test ----------------------------------------------------------------

BACKENDS = [
    pytest.param(SQLITE, id=SQLITE),
    pytest.param(POSTGRESQL, id=POSTGRESQL, marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new database migrated to head, on each backend."""
    if request.param == SQLITE:
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "outdial.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    clones: DatabaseClones = request.getfixturevalue("postgres_clones")
    name = clones.take()
    try:
        yield clones.server.url_of(name)
    finally:
        clones.drop(name)


@pytest.fixture(params=BACKENDS)
def make_empty_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., str]]:
    """``make_empty_database(name)``: the URL of a new database with no tables, on each backend.

    ``name`` becomes part of the file or database name, so a test can put awkward
    characters in the URL.
    """
    with contextlib.ExitStack() as stack:
        if request.param == SQLITE:

            def make(name: str = "empty") -> str:
                directory = tmp_path / name
                directory.mkdir()
                return f"sqlite:///{directory / 'outdial.db'}"

        else:
            server: PostgresServer = request.getfixturevalue("postgres_server")

            def make(name: str = "empty") -> str:
                number = next(_database_numbers)
                database = f"test_{server.token}_{number}_{name}"
                url = server.create_database(database)
                stack.callback(server.drop_database, database)
                return url

        yield make


@pytest.fixture
def store(database_url: str, clock: FakeClock) -> Iterator[Store]:
    """A Store on a fresh database, reading time from the fake ``clock``."""
    store = Store(db.make_engine(database_url), clock=clock)
    try:
        yield store
    finally:
        store.close()


# --- factories ----------------------------------------------------------------------------------


@pytest.fixture
def make_account(store: Store) -> Callable[..., tuple[Account, str]]:
    """``make_account(email=None, password=None) -> (account, developer_key)``."""
    numbers = itertools.count(1)

    def make(email: str | None = None, password: str | None = None) -> tuple[Account, str]:
        return store.create_account(email or f"user{next(numbers)}@example.com", password)

    return make


@pytest.fixture
def make_deployment(
    store: Store, make_account: Callable[..., tuple[Account, str]]
) -> Callable[..., Deployment]:
    """``make_deployment(account=None, **overrides)``: a new application and its deployment.

    ``overrides`` are ``Store.create_deployment`` keywords, plus ``application_name``.
    """
    numbers = itertools.count(1)

    def make(account: Account | None = None, **overrides: Any) -> Deployment:
        if account is None:
            account, _ = make_account()
        app_name = overrides.pop("application_name", f"app {next(numbers)}")
        application = store.create_application(account.email, app_name)
        return store.create_deployment(application.id, **overrides)

    return make


@pytest.fixture
def make_calls(store: Store, clock: FakeClock) -> Callable[..., list[str]]:
    """``make_calls(deployment, numbers=[...], schedule=...)``: queue calls, return their ids.

    ``numbers`` are E.164 strings; ``message_reference`` and ``call_parameters`` apply to all.
    The default schedule starts now (the fake clock) with one attempt.
    """

    def make(
        deployment: Deployment,
        numbers: Sequence[str] = ("+16175550100",),
        schedule: Schedule | None = None,
        *,
        message_reference: str | None = None,
        call_parameters: dict[str, Any] | None = None,
    ) -> list[str]:
        new_calls = [
            NewCall(
                new_call_id(),
                number,
                None,
                None,
                message_reference,
                json.dumps(call_parameters or {}),
                None,
            )
            for number in numbers
        ]
        store.queue_calls(deployment, schedule or Schedule(start_at=clock.now), new_calls)
        return [c.call_id for c in new_calls]

    return make
