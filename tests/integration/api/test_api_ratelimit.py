"""The single-call endpoint is rate-limited per account, and the 429 points to bulk_queue."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from api_support import Tenant, TestClient, error_of

E164 = "+16175551234"


@pytest.fixture
def limited(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(queue_rate=1, queue_burst=3)


def queue(client: TestClient, tenant: Tenant, number: str = E164) -> int:
    response = client.post(tenant.base + "/queue", auth=tenant.auth, data={"phone_number": number})
    status: int = response.status_code
    return status


def test_the_request_after_the_burst_is_429_pointing_to_bulk_queue(
    limited: TestClient, tenant: Tenant
) -> None:
    assert [queue(limited, tenant) for _ in range(3)] == [200, 200, 200]

    response = limited.post(tenant.base + "/queue", auth=tenant.auth, data={"phone_number": E164})

    error_of(response, 429, "bulk_queue", f"/api/apps/{tenant.app_id}/{tenant.dep_id}/bulk_queue")
    assert int(response.headers["retry-after"]) >= 1


def test_a_refused_request_queues_nothing(limited: TestClient, tenant: Tenant) -> None:
    statuses = [queue(limited, tenant, f"+1617555{1000 + i}") for i in range(6)]

    accepted = statuses.count(200)
    assert statuses[:3] == [200, 200, 200] and 429 in statuses
    total = limited.get(tenant.base + "/calls", auth=tenant.auth).json()["total"]
    assert total == accepted


def test_bulk_queue_is_not_limited(limited: TestClient, tenant: Tenant) -> None:
    for _ in range(3):
        queue(limited, tenant)

    statuses = [
        limited.post(
            tenant.base + "/bulk_queue", auth=tenant.auth, json=[{"phone_number": E164}]
        ).status_code
        for _ in range(10)
    ]

    assert statuses == [200] * 10


def test_reading_and_cancelling_are_not_limited(limited: TestClient, tenant: Tenant) -> None:
    for _ in range(4):
        queue(limited, tenant)

    statuses = [
        limited.get(tenant.base + "/calls", auth=tenant.auth).status_code for _ in range(10)
    ]
    statuses.append(limited.delete(tenant.base + "/cancel", auth=tenant.auth).status_code)

    assert statuses == [200] * 10 + [202]


def test_the_limit_is_per_account(limited: TestClient, make_tenant: Callable[..., Tenant]) -> None:
    busy, other = make_tenant(), make_tenant()
    for _ in range(4):
        queue(limited, busy)

    assert [queue(limited, other) for _ in range(3)] == [200, 200, 200]


def test_unauthenticated_requests_do_not_use_up_the_accounts_tokens(
    limited: TestClient, tenant: Tenant
) -> None:
    for _ in range(5):
        limited.post(
            tenant.base + "/queue", auth=(tenant.email, "wrong"), data={"phone_number": E164}
        )

    assert [queue(limited, tenant) for _ in range(3)] == [200, 200, 200]
