"""/metrics: Prometheus text with queue depth, lines in use, outcomes and webhook backlog."""

from __future__ import annotations

from collections.abc import Callable

from api_support import Tenant, TestClient
from prometheus_client.parser import text_string_to_metric_families


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
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
