"""Result callbacks seen through the API: one delivery per final call with a result_url."""

from __future__ import annotations

from collections.abc import Callable

from api_support import Tenant, TestClient, error_of


def test_a_cancelled_call_queues_its_callback(
    client: TestClient, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    call_id = queue_call(tenant, result_url="http://127.0.0.1:9/hook")
    before = client.get(f"/api/outbound/{call_id}/callbacks", auth=tenant.auth)
    assert before.status_code == 200
    assert before.json() == {"callbacks": []}  # not final yet: nothing to send
    assert client.delete(f"/api/outbound/{call_id}", auth=tenant.auth).status_code == 202
    [delivery] = client.get(f"/api/outbound/{call_id}/callbacks", auth=tenant.auth).json()[
        "callbacks"
    ]
    assert delivery["call_id"] == call_id
    assert delivery["url"] == "http://127.0.0.1:9/hook"
    assert delivery["state"] == "pending"
    assert delivery["attempts"] == 0
    assert delivery["history"] == []


def test_calls_without_a_result_url_have_no_callbacks(
    client: TestClient, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    call_id = queue_call(tenant)
    assert client.delete(f"/api/outbound/{call_id}", auth=tenant.auth).status_code == 202
    response = client.get(f"/api/outbound/{call_id}/callbacks", auth=tenant.auth)
    assert response.json() == {"callbacks": []}


def test_callbacks_of_another_accounts_call_are_not_found(
    client: TestClient,
    tenant: Tenant,
    make_tenant: Callable[..., Tenant],
    queue_call: Callable[..., str],
) -> None:
    call_id = queue_call(tenant, result_url="http://127.0.0.1:9/hook")
    other = make_tenant()
    response = client.get(f"/api/outbound/{call_id}/callbacks", auth=other.auth)
    assert error_of(response, 404) == f"call {call_id!r} not found"
    missing = client.get("/api/outbound/nope/callbacks", auth=tenant.auth)
    error_of(missing, 404, "not found")
