"""Result callbacks seen through the API: one delivery per final call with a result_url."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from api_support import Tenant, TestClient, error_of

from outdial.outbound.policy import parse_networks


def test_a_cancelled_call_queues_its_callback(
    client: TestClient, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    call_id = queue_call(tenant, result_url="https://hooks.example.com/outdial")
    before = client.get(f"/api/outbound/{call_id}/callbacks", auth=tenant.auth)
    assert before.status_code == 200
    assert before.json() == {"callbacks": []}  # not final yet: nothing to send
    assert client.delete(f"/api/outbound/{call_id}", auth=tenant.auth).status_code == 202
    [delivery] = client.get(f"/api/outbound/{call_id}/callbacks", auth=tenant.auth).json()[
        "callbacks"
    ]
    assert delivery["call_id"] == call_id
    assert delivery["url"] == "https://hooks.example.com/outdial"
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
    call_id = queue_call(tenant, result_url="https://hooks.example.com/outdial")
    other = make_tenant()
    response = client.get(f"/api/outbound/{call_id}/callbacks", auth=other.auth)
    assert error_of(response, 404) == f"call {call_id!r} not found"
    missing = client.get("/api/outbound/nope/callbacks", auth=tenant.auth)
    error_of(missing, 404, "not found")


INSIDE = [
    "http://127.0.0.1:9/hook",
    "http://10.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://[fd00::1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0/",
    "http://localhost:8000/",
    "http://metadata.google.internal/",
    "https://user:secret@hooks.example.com/",
]


@pytest.mark.parametrize("url", INSIDE)
def test_a_result_url_pointing_inside_is_refused_at_queue_time(
    client: TestClient, tenant: Tenant, url: str
) -> None:
    single = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        json={"phone_number": "+16175551234", "result_url": url},
    )
    bulk = client.post(
        tenant.base + "/bulk_queue",
        auth=tenant.auth,
        json={"calls": [{"phone_number": "+16175551234"}], "result_url": url},
    )

    for response in (single, bulk):
        assert error_of(response, 400, "result_url").startswith("result_url: ")
    listed = client.get(tenant.base + "/calls", auth=tenant.auth).json()
    assert listed["total"] == 0


def test_an_operator_allowed_network_may_receive_callbacks(
    make_client: Callable[..., TestClient], tenant: Tenant
) -> None:
    client = make_client(allow_url_networks=parse_networks("127.0.0.0/8"))

    allowed = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        json={"phone_number": "+16175551234", "result_url": "http://127.0.0.1:9/hook"},
    )
    refused = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        json={"phone_number": "+16175551234", "result_url": "http://10.0.0.1/hook"},
    )

    assert allowed.status_code == 200, allowed.text
    assert error_of(refused, 400, "result_url") == (
        "result_url: may not point inside: 10.0.0.1 is a private address"
    )
