"""The HTTP API in-process: a fresh SQLite file per test, the real app, a TestClient.

Factory fixtures create what a user of the API would already have (an account with its
developer key, an application and a deployment) through the Store, the way the CLI does.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

import pytest
from api_support import GENEROUS_BURST, GENEROUS_RATE, Clock, Tenant, TestClient

from outdial.app import create_app
from outdial.config import Settings
from outdial.store.store import Store


@pytest.fixture
def database_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path / 'outdial.db'}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database_url: str, clock: Clock) -> Iterator[Store]:
    opened = Store.open(database_url, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def make_tenant(store: Store) -> Callable[..., Tenant]:
    """``make_tenant(email=None)``: a new account, application and deployment."""
    numbers = itertools.count(1)

    def make(email: str | None = None) -> Tenant:
        email = email or f"user{next(numbers)}@example.com"
        account, key = store.create_account(email, "a password")
        application = store.create_application(email, "Reminders")
        deployment = store.create_deployment(application.id, name="Outbound")
        return Tenant(account.email, key, application.id, deployment.id, account)

    return make


@pytest.fixture
def add_deployment(store: Store) -> Callable[..., Tenant]:
    """``add_deployment(tenant, new_app=False)``: another deployment of the same account."""

    def make(tenant: Tenant, *, new_app: bool = False) -> Tenant:
        app_id = tenant.app_id
        if new_app:
            app_id = store.create_application(tenant.email, "Surveys").id
        deployment = store.create_deployment(app_id, name="Second")
        return replace(tenant, app_id=app_id, dep_id=deployment.id)

    return make


@pytest.fixture
def tenant(make_tenant: Callable[..., Tenant]) -> Tenant:
    return make_tenant()


@pytest.fixture
def make_client(database_url: str, store: Store) -> Iterator[Callable[..., TestClient]]:
    """``make_client(**settings)``: the app over this test's store, lifespan started."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> TestClient:
            options: dict[str, Any] = {
                "ingest_workers": 0,
                "dialer": False,  # these tests are about the API; the dialer has its own
                "queue_rate": GENEROUS_RATE,
                "queue_burst": GENEROUS_BURST,
            }
            options.update(overrides)
            settings = Settings(database_url=database_url, **options)
            # A 500 reaches the test as the response a user would get, not as the exception.
            client = TestClient(create_app(settings, store=store), raise_server_exceptions=False)
            return stack.enter_context(client)

        yield make


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def queue_call(client: TestClient) -> Callable[..., str]:
    """``queue_call(tenant, phone_number, **fields)``: queue one call (JSON), return its id."""

    def queue(tenant: Tenant, phone_number: str = "+16175551234", **fields: Any) -> str:
        response = client.post(
            tenant.base + "/queue", auth=tenant.auth, json={"phone_number": phone_number, **fields}
        )
        assert response.status_code == 200, response.text
        call_id: str = response.json()["call_id"]
        return call_id

    return queue
