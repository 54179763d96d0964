"""The CLI as a subprocess: set up a tenant with ``outdial`` commands, serve, talk HTTP.

Each test module gets one database and one server (a CLI command costs about a second of
start-up, a server a few); tests that change the shared tenant in ways others would notice
(resetting its key, deleting it) make their own with ``make_tenant``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from acceptance_support import Server, Tenant, create_tenant

HTTP_TIMEOUT = 120.0  # seconds; a 100,000-row upload takes a few


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outdial")


@pytest.fixture(scope="module")
def database_url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'outdial.db'}"


@pytest.fixture(scope="module")
def make_tenant(database_url: str) -> Callable[[], Tenant]:
    """``make_tenant()``: an account, application and deployment made with the CLI."""
    numbers = itertools.count(1)

    def make() -> Tenant:
        return create_tenant(database_url, f"ops{next(numbers)}@example.com")

    return make


@pytest.fixture(scope="module")
def tenant(make_tenant: Callable[[], Tenant]) -> Tenant:
    return make_tenant()


@pytest.fixture(scope="module")
def server(tenant: Tenant, database_url: str, workdir: Path) -> Iterator[Server]:
    """``outdial serve`` on a free port of 127.0.0.1, healthy; stopped at the end, always."""
    started = Server(database_url, workdir)
    try:
        started.wait_until_healthy()
        yield started
    finally:
        started.stop()


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT) as client:
        yield client


@pytest.fixture
def postgres_database(postgres_clones: Any) -> Iterator[str]:
    """A new PostgreSQL database at head (fails under CI=true when there is no server)."""
    name = postgres_clones.take()
    try:
        yield postgres_clones.server.url_of(name)
    finally:
        postgres_clones.drop(name)
