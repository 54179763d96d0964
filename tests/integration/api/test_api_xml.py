"""``Accept: application/xml`` gets the same content as JSON, as ``<result>...</result>``."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from api_support import Tenant, TestClient, assert_same_content, error_of, xml_of

from outdial.store.store import Store

XML = {"Accept": "application/xml"}
E164 = "+16175551234"


def test_queue_answers_in_xml(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/queue", auth=tenant.auth, headers=XML, data={"phone_number": E164}
    )

    assert response.status_code == 200
    root = xml_of(response)
    call_id = root.findtext("call_id")
    assert call_id and [child.tag for child in root] == ["call_id"]
    assert response.headers["link"] == f"</api/outbound/{call_id}>"


def test_call_details_in_xml_match_json(
    client: TestClient, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    call_id = queue_call(
        tenant,
        message_reference="ref-1",
        call_parameters={"name": "Ada", "vip": True, "amount": 3},
    )
    url = f"/api/outbound/{call_id}"

    as_json = client.get(url, auth=tenant.auth).json()
    as_xml = client.get(url, auth=tenant.auth, headers=XML)

    assert as_xml.status_code == 200
    assert_same_content(xml_of(as_xml), as_json)
    events = xml_of(as_xml).find("call_details/events")
    assert events is not None
    assert [event.findtext("event") for event in events] == ["queued"]


def test_a_batch_in_xml_matches_json(client: TestClient, tenant: Tenant) -> None:
    calls = [{"phone_number": E164}, {"phone_number": "12"}, {"phone_number": E164}]
    response = client.post(tenant.base + "/bulk_queue", auth=tenant.auth, headers=XML, json=calls)

    assert response.status_code == 200
    root = xml_of(response)
    batch_id = root.findtext("batch_id")
    as_json = client.get(f"/api/batches/{batch_id}", auth=tenant.auth).json()
    assert_same_content(root, as_json)
    assert [e.findtext("row") for e in root.iterfind("errors/*")] == ["2", "3"]


def test_the_call_list_in_xml_matches_json(
    client: TestClient, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    queue_call(tenant, "+16175551234")
    queue_call(tenant, "+16175551235")
    url = tenant.base + "/calls"

    as_xml = client.get(url, auth=tenant.auth, headers=XML)

    assert_same_content(xml_of(as_xml), client.get(url, auth=tenant.auth).json())


@pytest.mark.parametrize(
    "accept",
    ["application/xml", "text/xml", "application/xml, application/json;q=0.5", "*/*, text/xml"],
)
def test_accept_headers_that_ask_for_xml(client: TestClient, tenant: Tenant, accept: str) -> None:
    response = client.get(tenant.base + "/calls", auth=tenant.auth, headers={"Accept": accept})

    assert xml_of(response).findtext("total") == "0"


@pytest.mark.parametrize("accept", ["application/json", "application/json, application/xml", "*/*"])
def test_json_stays_the_default(client: TestClient, tenant: Tenant, accept: str) -> None:
    response = client.get(tenant.base + "/calls", auth=tenant.auth, headers={"Accept": accept})

    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["total"] == 0


def _same_error_both_ways(send: Callable[[dict[str, str]], httpx.Response], status: int) -> None:
    as_json = send({})
    as_xml = send(XML)
    message = error_of(as_json, status)
    assert as_xml.status_code == status
    root = xml_of(as_xml)
    assert [child.tag for child in root] == ["error"]
    assert root.findtext("error") == message


def test_400_in_xml(client: TestClient, tenant: Tenant) -> None:
    _same_error_both_ways(
        lambda h: client.post(
            tenant.base + "/queue", auth=tenant.auth, headers=h, data={"phone_number": "12"}
        ),
        400,
    )


def test_401_in_xml(client: TestClient, tenant: Tenant) -> None:
    _same_error_both_ways(lambda h: client.get(tenant.base + "/calls", headers=h), 401)


def test_another_accounts_deployment_in_xml(
    client: TestClient, make_tenant: Callable[..., Tenant]
) -> None:
    owner, intruder = make_tenant(), make_tenant()
    _same_error_both_ways(
        lambda h: client.get(owner.base + "/calls", auth=intruder.auth, headers=h), 404
    )


def test_404_in_xml(client: TestClient, tenant: Tenant) -> None:
    _same_error_both_ways(
        lambda h: client.get("/api/outbound/missing", auth=tenant.auth, headers=h), 404
    )


def test_404_for_an_unknown_path_in_xml(client: TestClient, tenant: Tenant) -> None:
    _same_error_both_ways(lambda h: client.get("/api/nowhere", auth=tenant.auth, headers=h), 404)


def test_405_in_xml(client: TestClient, tenant: Tenant) -> None:
    _same_error_both_ways(
        lambda h: client.put(tenant.base + "/queue", auth=tenant.auth, headers=h), 405
    )


def test_409_in_xml(client: TestClient, store: Store, tenant: Tenant) -> None:
    store.delete_deployment(tenant.dep_id)
    _same_error_both_ways(
        lambda h: client.get(tenant.base + "/calls", auth=tenant.auth, headers=h), 409
    )


def test_413_in_xml(make_client: Callable[..., TestClient], tenant: Tenant) -> None:
    client = make_client(max_request_bytes=100)
    _same_error_both_ways(
        lambda h: client.post(
            tenant.base + "/queue",
            auth=tenant.auth,
            headers=h,
            data={"phone_number": E164, "message_reference": "x" * 200},
        ),
        413,
    )


def test_415_in_xml(client: TestClient, tenant: Tenant) -> None:
    _same_error_both_ways(
        lambda h: client.post(
            tenant.base + "/queue",
            auth=tenant.auth,
            headers={**h, "content-type": "text/plain"},
            content=b"6175551234",
        ),
        415,
    )


def test_429_in_xml(make_client: Callable[..., TestClient], tenant: Tenant) -> None:
    client = make_client(queue_rate=0.001, queue_burst=1)
    url = tenant.base + "/queue"
    assert client.post(url, auth=tenant.auth, data={"phone_number": E164}).status_code == 200

    _same_error_both_ways(
        lambda h: client.post(url, auth=tenant.auth, headers=h, data={"phone_number": E164}), 429
    )
