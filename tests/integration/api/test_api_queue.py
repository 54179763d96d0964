"""POST /api/apps/{app}/{dep}/queue: one call, in every body format Plum clients send."""

from __future__ import annotations

import gc
import json
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from api_support import Clock, Tenant, TestClient, error_of

E164 = "+16175551234"


def details(client: TestClient, tenant: Tenant, call_id: str) -> dict[str, Any]:
    response = client.get(f"/api/outbound/{call_id}", auth=tenant.auth)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["call_details"]
    return found


def queued_id(response: Any) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"call_id"}
    call_id: str = body["call_id"]
    assert response.headers["link"] == f"</api/outbound/{call_id}>"
    return call_id


# --- the three body formats ------------------------------------------------------------------


def test_plum_style_form_post_queues_a_call(client: TestClient, tenant: Tenant) -> None:
    # curl -u email:key -d phone_number=6175551234 .../queue, as Plum's samples do
    response = client.post(
        tenant.base + "/queue", auth=tenant.auth, data={"phone_number": "6175551234"}
    )

    call_id = queued_id(response)
    call = details(client, tenant, call_id)
    assert call["call_id"] == call_id
    assert call["phone_number"] == E164
    assert call["status"] == "queued"


def test_multipart_form_queues_a_call(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        files={"phone_number": (None, "16175551234"), "message_reference": (None, "m-1")},
    )

    assert response.request.headers["content-type"].startswith("multipart/form-data")
    call = details(client, tenant, queued_id(response))
    assert (call["phone_number"], call["message_reference"]) == (E164, "m-1")


def test_json_body_queues_a_call(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/queue", auth=tenant.auth, json={"phone_number": "tel:+16175551234"}
    )

    assert details(client, tenant, queued_id(response))["phone_number"] == E164


def test_json_with_charset_is_json(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        content=json.dumps({"phone_number": E164}).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )

    queued_id(response)


@pytest.mark.parametrize(
    "phone_number",
    [
        "6175551234",
        "16175551234",
        "+16175551234",
        "+1 (617) 555-1234",
        "617-555-1234",
        "tel:+16175551234",
        "TEL:+16175551234",
        "6175551234;ani=8009957586",
        "tel:+16175551234;ani=8009957586",
        "tel:+16175551234;postd=2",
        "tel:+16175551234;ani=8009957586;postd=2",
        "tel:+16175551234;postd=2;ani=8009957586",
        "tel:+16175551234;postd=12*#AB",
        " 6175551234 ",
    ],
)
@pytest.mark.parametrize("body", ["form", "json"])
def test_every_phone_form_is_queued_as_e164(
    client: TestClient, tenant: Tenant, phone_number: str, body: str
) -> None:
    payload = {"phone_number": phone_number}
    if body == "json":
        response = client.post(tenant.base + "/queue", auth=tenant.auth, json=payload)
    else:
        response = client.post(tenant.base + "/queue", auth=tenant.auth, data=payload)

    assert details(client, tenant, queued_id(response))["phone_number"] == E164


def test_a_number_of_another_country_keeps_its_country_code(
    client: TestClient, tenant: Tenant
) -> None:
    response = client.post(
        tenant.base + "/queue", auth=tenant.auth, data={"phone_number": "+44 20 7946 0958"}
    )

    assert details(client, tenant, queued_id(response))["phone_number"] == "+442079460958"


@pytest.mark.parametrize(
    "phone_number",
    [
        "12",
        "not a number",
        "6175551234x",
        "tel:",
        "tel:+16175551234;",
        "tel:+16175551234;ani=",
        "tel:+16175551234;ani=abc",
        "tel:+16175551234;ani=8009957586;ani=8009957587",
        "tel:+16175551234;postd=9z",
        "tel:+16175551234;foo=1",
        "tel:+16175551234;ani",
        "617555\x001234",
        "1" * 300,
    ],
)
def test_a_bad_phone_number_is_400_naming_the_field_and_value(
    client: TestClient, tenant: Tenant, phone_number: str
) -> None:
    response = client.post(
        tenant.base + "/queue", auth=tenant.auth, data={"phone_number": phone_number}
    )

    error_of(response, 400, "phone_number")
    assert client.get(tenant.base + "/calls", auth=tenant.auth).json()["total"] == 0


@pytest.mark.parametrize("value", [None, "", "   ", 6175551234, ["6175551234"]])
def test_a_missing_or_non_string_phone_number_is_400(
    client: TestClient, tenant: Tenant, value: Any
) -> None:
    response = client.post(tenant.base + "/queue", auth=tenant.auth, json={"phone_number": value})

    error_of(response, 400, "phone_number")


# --- outbound parameters and their Plum aliases -------------------------------------------------


def test_schedule_fields_are_stored(client: TestClient, tenant: Tenant, clock: Clock) -> None:
    start, end = int(clock.now) + 3600, int(clock.now) + 7200
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        json={
            "phone_number": E164,
            "max_attempts": 3,
            "reattempt_wait": 300,
            "start_timestamp": start,
            "end_timestamp": end,
            "result_url": "https://example.com/hook",
        },
    )

    call = details(client, tenant, queued_id(response))
    assert call["max_attempts"] == 3
    assert call["reattempt_wait"] == 300
    assert call["start_timestamp"] == start
    assert call["end_timestamp"] == end
    assert call["queued_timestamp"] == int(clock.now)


def test_defaults_when_only_the_number_is_given(
    client: TestClient, tenant: Tenant, clock: Clock
) -> None:
    call = details(
        client,
        tenant,
        queued_id(
            client.post(tenant.base + "/queue", auth=tenant.auth, data={"phone_number": E164})
        ),
    )

    assert call["max_attempts"] == 1
    assert call["reattempt_wait"] is None
    assert call["start_timestamp"] == int(clock.now)
    assert call["end_timestamp"] is None
    assert call["message_reference"] is None
    assert call["call_parameters"] == {}


def test_plum_aliases_in_a_form(client: TestClient, tenant: Tenant, clock: Clock) -> None:
    start, end = int(clock.now) + 600, int(clock.now) + 86_400
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        data={
            "phone_number": "6175551234",
            "max_retries": "2",
            "retry_interval": "120",
            "scheduled_timestamp": str(start),
            "expiration_timestamp": str(end),
        },
    )

    call = details(client, tenant, queued_id(response))
    assert call["max_attempts"] == 3  # attempts = retries + 1
    assert call["reattempt_wait"] == 120
    assert call["start_timestamp"] == start
    assert call["end_timestamp"] == end


def test_max_retries_keeps_plums_range_of_zero_to_ten(client: TestClient, tenant: Tenant) -> None:
    # SPEC §3: max_retries 0-10, attempts = retries + 1, so the alias allows 11 attempts.
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        data={"phone_number": E164, "max_retries": "10", "retry_interval": "60"},
    )

    assert details(client, tenant, queued_id(response))["max_attempts"] == 11


def test_zero_alias_timestamps_mean_now_and_never(
    client: TestClient, tenant: Tenant, clock: Clock
) -> None:
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        data={"phone_number": E164, "scheduled_timestamp": "0", "expiration_timestamp": "0"},
    )

    call = details(client, tenant, queued_id(response))
    assert call["start_timestamp"] == int(clock.now)
    assert call["end_timestamp"] is None


def test_retry_interval_may_be_longer_than_reattempt_wait(
    client: TestClient, tenant: Tenant
) -> None:
    # Plum's older retry_interval allows two days; reattempt_wait stops at one.
    ok = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        data={"phone_number": E164, "max_retries": "1", "retry_interval": "172800"},
    )
    too_long = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        data={"phone_number": E164, "max_attempts": "2", "reattempt_wait": "172800"},
    )

    assert details(client, tenant, queued_id(ok))["reattempt_wait"] == 172_800
    error_of(too_long, 400, "reattempt_wait", "172800")


def test_iso_8601_timestamps_are_accepted(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        json={
            "phone_number": E164,
            "start_timestamp": "2099-01-01T09:00:00-05:00",
            "end_timestamp": "2099-01-01T21:00:00Z",
        },
    )

    call = details(client, tenant, queued_id(response))
    assert call["start_timestamp"] == 4070959200  # 14:00 UTC
    assert call["end_timestamp"] == 4070984400


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 11}, "max_attempts"),
        ({"max_attempts": "two"}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"max_attempts": 2}, "reattempt_wait"),
        ({"max_attempts": 2, "reattempt_wait": 59}, "reattempt_wait"),
        ({"max_attempts": 2, "reattempt_wait": 86_401}, "reattempt_wait"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 11}, "max_retries"),
        ({"max_retries": 1}, "reattempt_wait"),
        ({"max_retries": 1, "retry_interval": 30}, "retry_interval"),
        ({"max_retries": 1, "retry_interval": 172_801}, "retry_interval"),
        ({"max_attempts": 2, "max_retries": 2, "reattempt_wait": 60}, "max_retries"),
        ({"max_attempts": 2, "reattempt_wait": 60, "retry_interval": 90}, "retry_interval"),
        ({"start_timestamp": "tomorrow"}, "start_timestamp"),
        ({"start_timestamp": "2099-01-01T09:00:00"}, "start_timestamp"),
        ({"start_timestamp": -5}, "start_timestamp"),
        ({"end_timestamp": 1_000}, "end_timestamp"),
        ({"start_timestamp": 4_000_000_000, "end_timestamp": 3_999_999_999}, "end_timestamp"),
        ({"expiration_timestamp": "yesterday"}, "expiration_timestamp"),
        ({"scheduled_timestamp": {"at": 1}}, "scheduled_timestamp"),
        ({"result_url": "ftp://example.com/x"}, "result_url"),
        ({"result_url": "not a url"}, "result_url"),
        ({"message_reference": "x" * 256}, "message_reference"),
        ({"message_reference": ["a"]}, "message_reference"),
        ({"call_parameters": [1, 2]}, "call_parameters"),
        ({"call_parameters": {"name": {"nested": 1}}}, "call_parameters"),
        ({"call_parameters": {"1st": "x"}}, "call_parameters"),
        ({"call_parameters": "{not json"}, "call_parameters"),
    ],
)
def test_a_bad_option_is_400_naming_it(
    client: TestClient, tenant: Tenant, fields: dict[str, Any], field: str
) -> None:
    response = client.post(
        tenant.base + "/queue", auth=tenant.auth, json={"phone_number": E164, **fields}
    )

    message = error_of(response, 400)
    assert message.startswith(f"{field}:"), message


def test_call_parameters_as_a_json_object(client: TestClient, tenant: Tenant) -> None:
    parameters = {"name": "Ada", "amount": 12.5, "count": 3, "vip": True, "note": None}
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        json={"phone_number": E164, "call_parameters": parameters},
    )

    assert details(client, tenant, queued_id(response))["call_parameters"] == parameters


def test_call_parameters_as_json_text_in_a_form(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        data={"phone_number": E164, "call_parameters": '{"name": "Ada", "due": "2026-12-01"}'},
    )

    call = details(client, tenant, queued_id(response))
    assert call["call_parameters"] == {"name": "Ada", "due": "2026-12-01"}


def test_message_reference_is_echoed(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        data={"phone_number": E164, "message_reference": "invoice-42 / Ünïcode"},
    )

    call = details(client, tenant, queued_id(response))
    assert call["message_reference"] == "invoice-42 / Ünïcode"


def test_is_pci_from_plum_clients_is_accepted(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/queue", auth=tenant.auth, data={"phone_number": E164, "is_pci": "false"}
    )

    queued_id(response)


# --- malformed requests -----------------------------------------------------------------------


@pytest.mark.parametrize("body", ["form", "json"])
def test_an_unknown_field_is_400_naming_it(client: TestClient, tenant: Tenant, body: str) -> None:
    payload = {"phone_number": E164, "colour": "blue"}
    if body == "json":
        response = client.post(tenant.base + "/queue", auth=tenant.auth, json=payload)
    else:
        response = client.post(tenant.base + "/queue", auth=tenant.auth, data=payload)

    message = error_of(response, 400, "colour")
    assert message.startswith("colour: unknown field"), message


def test_an_empty_body_is_400_phone_number_is_required(client: TestClient, tenant: Tenant) -> None:
    response = client.post(tenant.base + "/queue", auth=tenant.auth)

    assert error_of(response, 400) == "phone_number: is required"


def test_an_empty_form_is_400_phone_number_is_required(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        content=b"",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert error_of(response, 400) == "phone_number: is required"


def test_a_field_given_twice_is_400(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        content=b"phone_number=6175551234&phone_number=6175551235",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    error_of(response, 400, "phone_number", "more than once")


def test_a_file_instead_of_a_field_is_400_and_the_upload_is_closed(
    client: TestClient, tenant: Tenant
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        response = client.post(
            tenant.base + "/queue",
            auth=tenant.auth,
            files={"phone_number": ("number.txt", b"6175551234", "text/plain")},
        )
        gc.collect()

    error_of(response, 400, "phone_number")
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == [], "the uploaded part's temporary file was never closed"


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "text/csv"])
def test_a_wrong_content_type_is_415(client: TestClient, tenant: Tenant, content_type: str) -> None:
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        content=b"phone_number=6175551234",
        headers={"content-type": content_type},
    )

    error_of(response, 415, content_type)


@pytest.mark.parametrize("raw", [b"{", b'{"phone_number": "6175551234",}', b"\xff\xfe", b"   "])
def test_malformed_json_is_400(client: TestClient, tenant: Tenant, raw: bytes) -> None:
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        content=raw,
        headers={"content-type": "application/json"},
    )

    assert error_of(response, 400).startswith("body:")


@pytest.mark.parametrize("value", [[{"phone_number": E164}], "6175551234", 6175551234, None])
def test_a_json_body_that_is_not_an_object_is_400(
    client: TestClient, tenant: Tenant, value: Any
) -> None:
    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        content=json.dumps(value).encode(),
        headers={"content-type": "application/json"},
    )

    error_of(response, 400, "body", "JSON object")


def test_a_body_over_the_request_limit_is_413(
    make_client: Callable[..., TestClient], tenant: Tenant
) -> None:
    client = make_client(max_request_bytes=1_000)

    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        json={"phone_number": E164, "message_reference": "x" * 2_000},
    )

    error_of(response, 413, "1000 bytes")


def test_a_streamed_body_over_the_limit_is_413(
    make_client: Callable[..., TestClient], tenant: Tenant
) -> None:
    # No Content-Length: the limit must hold while the body is read.
    client = make_client(max_request_bytes=1_000)

    def chunks() -> Any:
        yield b'{"phone_number": "+16175551234", "message_reference": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'"}'

    response = client.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        content=chunks(),
        headers={"content-type": "application/json"},
    )

    error_of(response, 413, "1000 bytes")
