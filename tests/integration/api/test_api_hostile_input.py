"""Hostile or odd input is a 4xx naming what is wrong, never a 500 (found by fuzzing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from api_support import Tenant, TestClient, error_of

BIGGEST_ID = 2**63 - 1  # SQLite and PostgreSQL bigint


def post_json(client: TestClient, tenant: Tenant, path: str, raw: bytes, **headers: str) -> Any:
    return client.post(
        tenant.base + path,
        auth=tenant.auth,
        content=raw,
        headers={"content-type": "application/json", **headers},
    )


# --- path IDs beyond any database integer -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/queue"), ("POST", "/bulk_queue"), ("DELETE", "/cancel"), ("GET", "/calls")],
)
@pytest.mark.parametrize("which", ["application", "deployment"])
def test_an_id_too_large_for_the_database_is_not_found(
    client: TestClient, tenant: Tenant, method: str, path: str, which: str
) -> None:
    huge = BIGGEST_ID + 1
    app_id, dep_id = (huge, tenant.dep_id) if which == "application" else (tenant.app_id, huge)

    response = client.request(
        method,
        f"/api/apps/{app_id}/{dep_id}{path}",
        auth=tenant.auth,
        json={"phone_number": "+16175551234"} if method == "POST" else None,
    )

    # 404 (no such object) or 400 (a bound on the path parameter); never a 500.
    assert response.status_code in (400, 404), response.text
    error_of(response, response.status_code, which)


# --- JSON that Python's parser refuses with something else than JSONDecodeError -----------------


def test_a_deeply_nested_body_is_400(client: TestClient, tenant: Tenant) -> None:
    response = post_json(client, tenant, "/queue", b"[" * 100_000 + b"]" * 100_000)

    assert error_of(response, 400) == "body: must be a JSON object"


def test_a_deeply_nested_bulk_body_is_one_rejected_row(client: TestClient, tenant: Tenant) -> None:
    response = post_json(client, tenant, "/bulk_queue", b"[" * 100_000 + b"]" * 100_000)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (0, 1)
    assert body["errors"][0]["row"] == 1


@pytest.mark.parametrize("levels", [1_000, 50_000])
def test_deeply_nested_call_parameters_are_400_naming_the_field(
    client: TestClient, tenant: Tenant, levels: int
) -> None:
    nested = b"[" * levels + b"]" * levels
    raw = b'{"phone_number": "+16175551234", "call_parameters": {"a": ' + nested + b"}}"

    assert error_of(post_json(client, tenant, "/queue", raw), 400, "call_parameters") == (
        "call_parameters: value of 'a' must be a string, number, boolean or null"
    )


def test_deeply_nested_call_parameters_in_a_form_are_400(
    client: TestClient, tenant: Tenant
) -> None:
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        data={"phone_number": "+16175551234", "call_parameters": "[" * 100_000 + "]" * 100_000},
    )

    assert error_of(response, 400, "call_parameters").startswith(
        "call_parameters: is nested too deeply"
    )


def test_one_deeply_nested_row_of_a_bulk_request_is_rejected_and_the_others_queued(
    client: TestClient, tenant: Tenant
) -> None:
    nested = "[" * 1_000 + "]" * 1_000
    raw = (
        '[{"phone_number": "+16175551234"},'
        ' {"phone_number": "+16175551235", "call_parameters": {"a": ' + nested + "}},"
        ' {"phone_number": "+16175551236"}]'
    )

    response = post_json(client, tenant, "/bulk_queue", raw.encode())

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert body["errors"][0]["row"] == 2
    assert "must be a string, number, boolean or null" in body["errors"][0]["reason"]


@pytest.mark.parametrize(
    ("value", "hint"),
    [(7_258_118_401, ""), (1_765_000_000_000, "; this looks like milliseconds: send seconds")],
)
def test_a_timestamp_past_2200_is_400(
    client: TestClient, tenant: Tenant, value: int, hint: str
) -> None:
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        json={"phone_number": "+16175551234", "end_timestamp": value},
    )

    assert error_of(response, 400, "end_timestamp") == (
        f"end_timestamp: '{value}' is out of range (Unix seconds from 0 to 7258118400, "
        f"the start of 2200){hint}"
    )


def test_an_integer_with_thousands_of_digits_is_400(client: TestClient, tenant: Tenant) -> None:
    raw = b'{"phone_number": "+16175551234", "max_attempts": 1' + b"0" * 5_000 + b"}"

    error_of(post_json(client, tenant, "/queue", raw), 400)


# --- ISO 8601 times whose conversion to UTC leaves the calendar ---------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("start_timestamp", "0001-01-01T00:00:00+14:00"),
        ("end_timestamp", "9999-12-31T23:59:59-14:00"),
        ("scheduled_timestamp", "0001-01-01T05:00:00+05:30"),
        ("expiration_timestamp", "9999-12-31T23:00:00-01:00"),
    ],
)
def test_a_time_that_overflows_in_utc_is_400_naming_the_field(
    client: TestClient, tenant: Tenant, field: str, value: str
) -> None:
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        json={"phone_number": "+16175551234", field: value},
    )

    assert error_of(response, 400, field).startswith(f"{field}:")


@pytest.mark.parametrize("name", ["since", "until"])
def test_a_list_filter_time_that_overflows_is_400(
    client: TestClient, tenant: Tenant, name: str
) -> None:
    response = client.get(
        tenant.base + "/calls", auth=tenant.auth, params={name: "0001-01-01T00:00:00+14:00"}
    )

    assert error_of(response, 400, name).startswith(f"{name}:")


# --- lone surrogates: valid JSON escapes, but not text ------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"phone_number": "+16175551234", "message_reference": "\\ud800"}',
        b'{"phone_number": "+16175551234", "call_parameters": {"name": "\\udfff"}}',
    ],
    ids=["message_reference", "call_parameters"],
)
def test_a_lone_surrogate_in_a_queue_request_is_400(
    client: TestClient, tenant: Tenant, raw: bytes
) -> None:
    error_of(post_json(client, tenant, "/queue", raw), 400)
    listed = client.get(tenant.base + "/calls", auth=tenant.auth)
    assert listed.status_code == 200 and listed.json()["total"] == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'[{"phone_number": "\\ud800"}]',
        b'[{"phone_number": "+16175551234", "message_reference": "\\ud800"}]',
    ],
    ids=["phone_number", "message_reference"],
)
def test_a_lone_surrogate_in_a_bulk_request_is_not_a_server_error(
    client: TestClient, tenant: Tenant, raw: bytes
) -> None:
    response = post_json(client, tenant, "/bulk_queue", raw)

    # Refusing the body (400) or the row (200 with the row rejected) are both fine.
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        error_of(response, 400)
    else:
        assert response.json()["rejected"] == 1
    assert client.get(tenant.base + "/calls", auth=tenant.auth).json()["total"] == 0


# --- XML that stays XML -------------------------------------------------------------------------


def test_a_control_character_in_call_parameters_does_not_break_the_xml(
    client: TestClient, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    call_id = queue_call(tenant, call_parameters={"note": "bell\x07 and tab\t"})

    response = client.get(
        f"/api/outbound/{call_id}", auth=tenant.auth, headers={"Accept": "application/xml"}
    )

    assert response.status_code == 200
    ET.fromstring(response.content)  # raises ParseError on a raw U+0007


def test_a_control_character_in_a_rejected_row_does_not_break_the_xml(
    client: TestClient, tenant: Tenant
) -> None:
    response = client.post(
        tenant.base + "/bulk_queue",
        auth=tenant.auth,
        headers={"Accept": "application/xml"},
        files={"csv": ("calls.csv", b"destination\n617555\x071234\n6175551235\n", "text/csv")},
    )

    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.findtext("rejected") == "1"
    assert root.findtext("errors/error/row") == "2"
