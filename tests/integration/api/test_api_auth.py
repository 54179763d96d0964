"""Who may do what: 401, 404, 405 and 409, each as ``{"error": ...}`` naming the object."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from api_support import Tenant, TestClient, error_of

from outdial.api.throttle import PER_PAIR
from outdial.store.store import Store

E164 = "+16175551234"

# Every deployment endpoint, with a request that would succeed for its owner.
DEPLOYMENT_REQUESTS = [
    ("POST", "/queue", {"data": {"phone_number": E164}}),
    ("POST", "/bulk_queue", {"json": [{"phone_number": E164}]}),
    ("DELETE", "/cancel", {}),
    ("GET", "/calls", {}),
]
DEPLOYMENT_IDS = [f"{method} {path}" for method, path, _ in DEPLOYMENT_REQUESTS]


# --- 401 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "kwargs"), DEPLOYMENT_REQUESTS, ids=DEPLOYMENT_IDS)
def test_no_credentials_is_401_with_a_basic_challenge(
    client: TestClient, tenant: Tenant, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    response = client.request(method, tenant.base + path, **kwargs)

    error_of(response, 401, "Basic")
    assert response.headers["www-authenticate"] == 'Basic realm="outdial"'


@pytest.mark.parametrize("path", ["/api/outbound/some-call", "/api/batches/some-batch"])
def test_no_credentials_on_a_call_or_batch_is_401(client: TestClient, path: str) -> None:
    for response in (client.get(path), client.delete(path)):
        if response.status_code == 405:  # batches cannot be deleted
            continue
        error_of(response, 401)
        assert response.headers["www-authenticate"].startswith("Basic")


def test_a_wrong_developer_key_is_401(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/queue", auth=(tenant.email, "not-the-key"), data={"phone_number": E164}
    )

    error_of(response, 401, "developer key")
    assert response.headers["www-authenticate"].startswith("Basic")


def test_an_unknown_email_is_401(client: TestClient, tenant: Tenant) -> None:
    response = client.get(tenant.base + "/calls", auth=("nobody@example.com", tenant.key))

    error_of(response, 401)


def test_the_email_is_matched_without_regard_to_case(client: TestClient, tenant: Tenant) -> None:
    response = client.get(tenant.base + "/calls", auth=(tenant.email.upper(), tenant.key))

    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "authorization",
    ["Bearer abc", "Basic", "Basic !!!not-base64!!!", "Basic bm9jb2xvbg=="],  # "nocolon"
)
def test_a_malformed_authorization_header_is_401(
    client: TestClient, tenant: Tenant, authorization: str
) -> None:
    response = client.get(tenant.base + "/calls", headers={"Authorization": authorization})

    error_of(response, 401)


# --- 404 / 409 on deployments: another account's objects are not found --------------------------


@pytest.mark.parametrize(("method", "path", "kwargs"), DEPLOYMENT_REQUESTS, ids=DEPLOYMENT_IDS)
@pytest.mark.parametrize("deleted", [False, True], ids=["live", "deleted"])
def test_another_accounts_deployment_is_404_like_a_missing_one(
    client: TestClient,
    store: Store,
    make_tenant: Callable[..., Tenant],
    method: str,
    path: str,
    kwargs: dict[str, Any],
    deleted: bool,
) -> None:
    owner, intruder = make_tenant(), make_tenant()
    if deleted:  # not 409 either: that too would say the ID exists
        store.delete_application(owner.app_id)

    response = client.request(method, owner.base + path, auth=intruder.auth, **kwargs)

    assert error_of(response, 404) == f"application {owner.app_id} not found"


def test_another_accounts_deployment_is_untouched(
    client: TestClient, make_tenant: Callable[..., Tenant], queue_call: Callable[..., str]
) -> None:
    owner, intruder = make_tenant(), make_tenant()
    call_id = queue_call(owner)

    client.delete(owner.base + "/cancel", auth=intruder.auth)

    status = client.get(f"/api/outbound/{call_id}", auth=owner.auth).json()["call_details"]
    assert status["status"] == "queued"


@pytest.mark.parametrize(("method", "path", "kwargs"), DEPLOYMENT_REQUESTS, ids=DEPLOYMENT_IDS)
def test_an_unknown_application_is_404(
    client: TestClient, tenant: Tenant, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    url = f"/api/apps/999999/{tenant.dep_id}{path}"

    response = client.request(method, url, auth=tenant.auth, **kwargs)

    error_of(response, 404, "application 999999")


@pytest.mark.parametrize(("method", "path", "kwargs"), DEPLOYMENT_REQUESTS, ids=DEPLOYMENT_IDS)
def test_an_unknown_deployment_is_404(
    client: TestClient, tenant: Tenant, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    url = f"/api/apps/{tenant.app_id}/999999{path}"

    response = client.request(method, url, auth=tenant.auth, **kwargs)

    error_of(response, 404, "deployment 999999")


def test_a_deployment_under_the_wrong_application_is_404(
    client: TestClient, tenant: Tenant, add_deployment: Callable[..., Tenant]
) -> None:
    other = add_deployment(tenant, new_app=True)
    url = f"/api/apps/{tenant.app_id}/{other.dep_id}/queue"

    response = client.post(url, auth=tenant.auth, data={"phone_number": E164})

    error_of(response, 404, f"deployment {other.dep_id}")


@pytest.mark.parametrize("segment", ["abc", "1.5", "-"])
def test_a_non_numeric_id_in_the_path_is_rejected_with_an_error_body(
    client: TestClient, tenant: Tenant, segment: str
) -> None:
    response = client.get(f"/api/apps/{segment}/{tenant.dep_id}/calls", auth=tenant.auth)

    assert response.status_code in (400, 404)
    error_of(response, response.status_code)


@pytest.mark.parametrize(("method", "path", "kwargs"), DEPLOYMENT_REQUESTS, ids=DEPLOYMENT_IDS)
def test_a_deleted_deployment_is_409(
    client: TestClient,
    store: Store,
    tenant: Tenant,
    method: str,
    path: str,
    kwargs: dict[str, Any],
) -> None:
    store.delete_deployment(tenant.dep_id)

    response = client.request(method, tenant.base + path, auth=tenant.auth, **kwargs)

    error_of(response, 409, f"deployment {tenant.dep_id}", "deleted")


@pytest.mark.parametrize(("method", "path", "kwargs"), DEPLOYMENT_REQUESTS, ids=DEPLOYMENT_IDS)
def test_a_deleted_application_is_409(
    client: TestClient,
    store: Store,
    tenant: Tenant,
    method: str,
    path: str,
    kwargs: dict[str, Any],
) -> None:
    store.delete_application(tenant.app_id)

    response = client.request(method, tenant.base + path, auth=tenant.auth, **kwargs)

    error_of(response, 409, f"application {tenant.app_id}", "deleted")


def test_a_sibling_deployment_still_works_after_one_is_deleted(
    client: TestClient, store: Store, tenant: Tenant, add_deployment: Callable[..., Tenant]
) -> None:
    sibling = add_deployment(tenant)
    store.delete_deployment(tenant.dep_id)

    response = client.post(sibling.base + "/queue", auth=tenant.auth, data={"phone_number": E164})

    assert response.status_code == 200, response.text


# --- calls and batches --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_another_accounts_call_is_404_like_a_missing_one(
    client: TestClient,
    make_tenant: Callable[..., Tenant],
    queue_call: Callable[..., str],
    method: str,
) -> None:
    owner, intruder = make_tenant(), make_tenant()
    call_id = queue_call(owner)

    response = client.request(method, f"/api/outbound/{call_id}", auth=intruder.auth)

    assert error_of(response, 404) == f"call {call_id!r} not found"
    still = client.get(f"/api/outbound/{call_id}", auth=owner.auth).json()["call_details"]
    assert still["status"] == "queued"


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_an_unknown_call_is_404(client: TestClient, tenant: Tenant, method: str) -> None:
    response = client.request(method, "/api/outbound/no-such-call", auth=tenant.auth)

    error_of(response, 404, "no-such-call")


def test_another_accounts_batch_is_404_like_a_missing_one(
    client: TestClient, make_tenant: Callable[..., Tenant]
) -> None:
    owner, intruder = make_tenant(), make_tenant()
    batch = client.post(
        owner.base + "/bulk_queue", auth=owner.auth, json=[{"phone_number": E164}]
    ).json()

    response = client.get(f"/api/batches/{batch['batch_id']}", auth=intruder.auth)

    assert error_of(response, 404) == f"batch {batch['batch_id']!r} not found"


def test_an_unknown_batch_is_404(client: TestClient, tenant: Tenant) -> None:
    response = client.get("/api/batches/no-such-batch", auth=tenant.auth)

    error_of(response, 404, "no-such-batch")


# --- 405 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/queue"),
        ("GET", "/queue"),
        ("DELETE", "/queue"),
        ("GET", "/bulk_queue"),
        ("POST", "/cancel"),
        ("GET", "/cancel"),
        ("POST", "/calls"),
    ],
)
def test_a_wrong_method_on_a_deployment_endpoint_is_405(
    client: TestClient, tenant: Tenant, method: str, path: str
) -> None:
    response = client.request(method, tenant.base + path, auth=tenant.auth)

    error_of(response, 405, "method")
    assert method not in response.headers["allow"].split(", ")


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/outbound/x"), ("PUT", "/api/outbound/x"), ("DELETE", "/api/batches/x")],
)
def test_a_wrong_method_on_a_call_or_batch_is_405(
    client: TestClient, tenant: Tenant, method: str, path: str
) -> None:
    response = client.request(method, path, auth=tenant.auth)

    error_of(response, 405, "method")


def test_an_unknown_path_is_404_with_an_error_body(client: TestClient, tenant: Tenant) -> None:
    response = client.get("/api/nothing-here", auth=tenant.auth)

    error_of(response, 404)


def test_guessing_developer_keys_is_slowed_the_same_for_unknown_e_mails(
    client: TestClient, tenant: Tenant
) -> None:
    def statuses(email: str) -> list[int]:
        return [
            client.get(tenant.base + "/calls", auth=(email, "guess")).status_code
            for _ in range(PER_PAIR.burst + 2)
        ]

    expected = [401] * PER_PAIR.burst + [429, 429]
    assert statuses(tenant.email) == statuses("nobody@example.com") == expected
    slowed = client.get(tenant.base + "/calls", auth=tenant.auth)  # even the right key, here
    assert error_of(slowed, 429).startswith("too many failed sign-ins from this address")
    assert int(slowed.headers["retry-after"]) >= 1
