"""/metrics: Prometheus text with queue depth, lines in use, outcomes and webhook backlog."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from api_support import Tenant, TestClient, error_of
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "scraper-secret-1"
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(metrics_token=TOKEN)


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_count_queued_and_cancelled_calls(
    client: TestClient, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    for number in ("+16175551234", "+16175551235", "+16175551236"):
        queue_call(tenant, number)
    cancelled = queue_call(tenant, "+16175551237")
    assert client.delete(f"/api/outbound/{cancelled}", auth=tenant.auth).status_code == 202
    found = samples(client)
    deployment = str(tenant.dep_id)
    assert found[("outdial_calls", (("deployment", deployment), ("status", "queued")))] == 3
    assert found[("outdial_calls", (("deployment", deployment), ("status", "uncalled")))] == 1
    key = ("outdial_final_calls", (("callee_type", "noattempt"), ("status", "uncalled")))
    assert found[key] == 1
    assert found[("outdial_webhook_backlog", ())] == 0


def test_metrics_of_an_empty_database(client: TestClient) -> None:
    found = samples(client)
    assert found[("outdial_webhook_backlog", ())] == 0
    assert not any(name == "outdial_calls" for name, _ in found)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ],
    ids=["none", "wrong", "longer", "basic", "bare"],
)
def test_metrics_need_the_scrapers_token(
    client: TestClient, tenant: Tenant, queue_call: Callable[..., str], headers: dict[str, str]
) -> None:
    queue_call(tenant)

    response = client.get("/metrics", headers=headers)

    assert error_of(response, 401) == ("send the metrics token as 'Authorization: Bearer <token>'")
    assert response.headers["www-authenticate"] == 'Bearer realm="outdial metrics"'
    assert "outdial_calls" not in response.text


def test_metrics_are_off_without_a_token(
    make_client: Callable[..., TestClient], tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    queue_call(tenant)
    unconfigured = make_client()

    for headers in ({}, SCRAPER, {"Authorization": "Bearer "}):
        response = unconfigured.get("/metrics", headers=headers)
        assert error_of(response, 404).startswith("metrics are off: start outdial with")
        assert "outdial_calls" not in response.text
