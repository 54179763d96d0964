"""POST /api/apps/{app}/{dep}/bulk_queue: CSV uploads and JSON lists, every row accounted for."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from api_support import Clock, Tenant, TestClient, error_of

E164 = "+16175551234"


def upload(
    client: TestClient,
    tenant: Tenant,
    csv: bytes | str,
    filename: str = "calls.csv",
    **options: str,
) -> Any:
    content = csv.encode() if isinstance(csv, str) else csv
    return client.post(
        tenant.base + "/bulk_queue",
        auth=tenant.auth,
        files={"csv": (filename, content, "text/csv")},
        data=options,
    )


def batch_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"batch_id", "total_rows", "accepted", "rejected", "call_ids", "errors"}
    assert body["accepted"] == len(body["call_ids"]) == len(set(body["call_ids"]))
    assert body["rejected"] == len(body["errors"])
    assert body["total_rows"] == body["accepted"] + body["rejected"]
    return body


def call_of(client: TestClient, tenant: Tenant, call_id: str) -> dict[str, Any]:
    response = client.get(f"/api/outbound/{call_id}", auth=tenant.auth)
    assert response.status_code == 200, response.text
    details: dict[str, Any] = response.json()["call_details"]
    return details


def numbers(count: int, first: int = 0) -> list[str]:
    """Distinct valid US numbers."""
    return [f"+1617555{first + i:04d}" for i in range(count)]


# --- CSV ----------------------------------------------------------------------------------------


def test_good_and_bad_rows_are_reported_by_row_number_value_and_reason(
    client: TestClient, tenant: Tenant
) -> None:
    csv = (
        "destination,name,message_reference\n"
        "6175551234,Ada,ref-a\n"  # row 2
        "not-a-number,Bob,ref-b\n"  # row 3
        "tel:+16175551235;ani=8009957586;postd=2,Cy,ref-c\n"  # row 4
        ",Dee,ref-d\n"  # row 5: no destination
        "6175551236,Eve\n"  # row 6: a field short
        "12,Fay,ref-f\n"  # row 7
    )

    batch = batch_of(upload(client, tenant, csv))

    assert (batch["total_rows"], batch["accepted"], batch["rejected"]) == (6, 2, 4)
    errors = {e["row"]: e for e in batch["errors"]}
    assert sorted(errors) == [3, 5, 6, 7]
    assert errors[3]["value"] == "not-a-number"
    assert "not a valid phone number" in errors[3]["reason"]
    assert "destination is empty" in errors[5]["reason"]
    assert errors[6]["value"] == "6175551236"
    assert "expected 3 fields" in errors[6]["reason"]
    assert errors[7]["value"] == "12"
    first, second = (call_of(client, tenant, c) for c in batch["call_ids"])
    assert (first["phone_number"], first["message_reference"]) == (E164, "ref-a")
    assert first["call_parameters"] == {"name": "Ada"}
    assert (second["phone_number"], second["call_parameters"]) == ("+16175551235", {"name": "Cy"})


def test_shared_options_apply_to_every_row(
    client: TestClient, tenant: Tenant, clock: Clock
) -> None:
    start, end = int(clock.now) + 3_600, int(clock.now) + 7_200
    response = upload(
        client,
        tenant,
        "destination\n6175551234\n6175551235\n",
        max_attempts="3",
        reattempt_wait="600",
        start_timestamp=str(start),
        end_timestamp=str(end),
        result_url="https://example.com/results",
    )

    for call_id in batch_of(response)["call_ids"]:
        call = call_of(client, tenant, call_id)
        assert (call["max_attempts"], call["reattempt_wait"]) == (3, 600)
        assert (call["start_timestamp"], call["end_timestamp"]) == (start, end)


def test_plum_alias_options_on_an_upload(client: TestClient, tenant: Tenant) -> None:
    response = upload(
        client, tenant, "destination\n6175551234\n", max_retries="1", retry_interval="90"
    )

    call = call_of(client, tenant, batch_of(response)["call_ids"][0])
    assert (call["max_attempts"], call["reattempt_wait"]) == (2, 90)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"max_attempts": "2"}, "reattempt_wait"),
        ({"max_attempts": "20", "reattempt_wait": "60"}, "max_attempts"),
        ({"result_url": "mailto:x@example.com"}, "result_url"),
        ({"end_timestamp": "1000"}, "end_timestamp"),
        ({"priority": "high"}, "priority"),
        ({"phone_number": "6175551234"}, "phone_number"),
    ],
)
def test_a_bad_shared_option_is_400_naming_it_and_queues_nothing(
    client: TestClient, tenant: Tenant, options: dict[str, str], field: str
) -> None:
    response = upload(client, tenant, "destination\n6175551234\n", **options)

    assert error_of(response, 400).startswith(f"{field}:")
    assert client.get(tenant.base + "/calls", auth=tenant.auth).json()["total"] == 0


def test_duplicate_numbers_are_reported_against_the_first(
    client: TestClient, tenant: Tenant
) -> None:
    csv = "destination\n6175551234\n+1 617 555 1235\n16175551234\ntel:+16175551234\n"

    batch = batch_of(upload(client, tenant, csv))

    assert batch["accepted"] == 2
    assert [(e["row"], e["reason"]) for e in batch["errors"]] == [
        (4, "duplicate of row 2"),
        (5, "duplicate of row 2"),
    ]
    assert {e["value"] for e in batch["errors"]} == {E164}


def test_bom_crlf_and_blank_lines(client: TestClient, tenant: Tenant) -> None:
    csv = b"\xef\xbb\xbfdestination,name\r\n6175551234,Ada\r\n\r\n,\r\n6175551235,Bob\r\n\r\n"

    batch = batch_of(upload(client, tenant, csv))

    assert (batch["accepted"], batch["rejected"]) == (2, 0)
    ada, bob = (call_of(client, tenant, c) for c in batch["call_ids"])
    assert ada["call_parameters"] == {"name": "Ada"}  # not "name\r" nor "\ufeffdestination"
    assert bob["call_parameters"] == {"name": "Bob"}


def test_blank_lines_still_count_in_row_numbers(client: TestClient, tenant: Tenant) -> None:
    batch = batch_of(upload(client, tenant, "destination\n\n6175551234\n\nbad\n"))

    assert [(e["row"], e["value"]) for e in batch["errors"]] == [(5, "bad")]


def test_quoted_fields_keep_commas_quotes_and_line_breaks(
    client: TestClient, tenant: Tenant
) -> None:
    csv = (
        "destination,name,note\n"
        '6175551234,"Smith, J","said ""hi"""\n'
        '"6175551235","multi\nline",plain\n'
        "bad-number,x,y\n"
    )

    batch = batch_of(upload(client, tenant, csv))

    first, second = (call_of(client, tenant, c) for c in batch["call_ids"])
    assert first["call_parameters"] == {"name": "Smith, J", "note": 'said "hi"'}
    assert second["call_parameters"] == {"name": "multi\nline", "note": "plain"}
    # the quoted line break makes the bad row start on line 5
    assert [e["row"] for e in batch["errors"]] == [5]


def test_a_legacy_headerless_file(client: TestClient, tenant: Tenant) -> None:
    csv = (
        "6175551234,ref-1,hello\n"
        '6175551235,ref-2,"{""name"": ""Ada"", ""amount"": 12.50}"\n'
        "6175551236\n"
        "nonsense,ref-4\n"
    )

    batch = batch_of(upload(client, tenant, csv))

    assert (batch["accepted"], batch["rejected"]) == (3, 1)
    assert [(e["row"], e["value"]) for e in batch["errors"]] == [(4, "nonsense")]
    one, two, three = (call_of(client, tenant, c) for c in batch["call_ids"])
    assert (one["message_reference"], one["call_parameters"]) == (
        "ref-1",
        {"call_parameter": "hello"},
    )
    assert (two["message_reference"], two["call_parameters"]) == (
        "ref-2",
        {"name": "Ada", "amount": "12.50"},
    )
    assert (three["phone_number"], three["message_reference"], three["call_parameters"]) == (
        "+16175551236",
        None,
        {},
    )


@pytest.mark.parametrize(
    ("csv", "mentions"),
    [
        ("phone,name\n6175551234,Ada\n", ("destination", "'phone'")),
        ("destination,name,name\n6175551234,a,b\n", ("duplicate column", "name")),
        ("destination,,x\n6175551234,a,b\n", ("column 2", "no name")),
        ("destination,1st\n6175551234,a\n", ("csv", "1st")),
        ("", ("csv", "no rows")),
        ("\n\n\n", ("csv", "no rows")),
        ("destination\n", ("no rows",)),
        (b"destination\n617555\xff1234\n", ("csv", "UTF-8")),
    ],
)
def test_a_problem_with_the_file_as_a_whole_is_400(
    client: TestClient, tenant: Tenant, csv: str | bytes, mentions: tuple[str, ...]
) -> None:
    response = upload(client, tenant, csv)

    assert error_of(response, 400, *mentions).startswith("csv")
    assert client.get(tenant.base + "/calls", auth=tenant.auth).json()["total"] == 0


def test_a_file_in_another_field_than_csv_is_400_naming_that_field(
    client: TestClient, tenant: Tenant
) -> None:
    response = client.post(
        tenant.base + "/bulk_queue",
        auth=tenant.auth,
        files={"file": ("calls.csv", b"destination\n6175551234\n", "text/csv")},
    )

    assert error_of(response, 400) == "csv: send the file in field 'csv', not 'file'"
    assert client.get(tenant.base + "/calls", auth=tenant.auth).json()["total"] == 0


def test_a_quote_left_open_does_not_swallow_the_rows_after_it(
    client: TestClient, tenant: Tenant
) -> None:
    # Row 2's quote is never closed, so rows 3 and 4 would become part of its "name".
    csv = 'destination,name\n6175551234,"never closed\n6175551235,x\n6175551236,y\n'

    response = upload(client, tenant, csv)

    error_of(response, 400, "csv", "quote")
    assert client.get(tenant.base + "/calls", auth=tenant.auth).json()["total"] == 0


def test_a_quote_left_open_mid_file_is_400(client: TestClient, tenant: Tenant) -> None:
    csv = 'destination,name\n6175551234,"open\n6175551235,x\n"6175551236",y"z\n'

    error_of(upload(client, tenant, csv), 400, "csv")


def test_options_without_any_csv_is_400_csv_is_required(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/bulk_queue", auth=tenant.auth, data={"max_attempts": "1"}
    )

    assert error_of(response, 400).startswith("csv: is required")


def test_csv_text_in_a_plain_form_field_is_read_too(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/bulk_queue",
        auth=tenant.auth,
        data={"csv": "destination\n6175551234\n"},
    )

    assert batch_of(response)["accepted"] == 1


def test_two_files_are_400(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/bulk_queue",
        auth=tenant.auth,
        files=[
            ("csv", ("a.csv", b"destination\n6175551234\n", "text/csv")),
            ("csv", ("b.csv", b"destination\n6175551235\n", "text/csv")),
        ],
    )

    error_of(response, 400)
    assert client.get(tenant.base + "/calls", auth=tenant.auth).json()["total"] == 0


def test_an_upload_over_the_byte_limit_is_413(
    make_client: Callable[..., TestClient], tenant: Tenant
) -> None:
    client = make_client(max_upload_bytes=2_000)
    csv = "destination\n" + "\n".join(numbers(200)) + "\n"

    response = upload(client, tenant, csv)

    error_of(response, 413, "2000 bytes")
    assert client.get(tenant.base + "/calls", auth=tenant.auth).json()["total"] == 0


def test_uploads_get_the_upload_limit_not_the_request_limit(
    make_client: Callable[..., TestClient], tenant: Tenant
) -> None:
    client = make_client(max_request_bytes=1_000, max_upload_bytes=100_000)
    csv = "destination\n" + "\n".join(numbers(200)) + "\n"  # about 2.6 kB

    assert batch_of(upload(client, tenant, csv))["accepted"] == 200


def test_more_rows_than_allowed_is_413(
    make_client: Callable[..., TestClient], tenant: Tenant
) -> None:
    client = make_client(max_bulk_rows=10)
    csv = "destination\n" + "\n".join(numbers(11)) + "\n"

    response = upload(client, tenant, csv)

    error_of(response, 413, "10 rows")
    assert client.get(tenant.base + "/calls", auth=tenant.auth).json()["total"] == 0


def test_exactly_the_row_limit_is_accepted(
    make_client: Callable[..., TestClient], tenant: Tenant
) -> None:
    client = make_client(max_bulk_rows=10)
    csv = "destination\n" + "\n".join(numbers(10)) + "\n"

    assert batch_of(upload(client, tenant, csv))["accepted"] == 10


def test_bad_rows_count_toward_the_row_limit(
    make_client: Callable[..., TestClient], tenant: Tenant
) -> None:
    client = make_client(max_bulk_rows=10)
    csv = "destination\n" + "\n".join(["bad"] * 11) + "\n"

    error_of(upload(client, tenant, csv), 413)


def test_a_json_list_over_the_row_limit_is_413(
    make_client: Callable[..., TestClient], tenant: Tenant
) -> None:
    client = make_client(max_bulk_rows=10)
    calls = [{"phone_number": n} for n in numbers(11)]

    response = client.post(tenant.base + "/bulk_queue", auth=tenant.auth, json=calls)

    error_of(response, 413, "10 rows")


def test_a_wrong_content_type_on_bulk_queue_is_415(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/bulk_queue",
        auth=tenant.auth,
        content=b"destination\n6175551234\n",
        headers={"content-type": "text/csv"},
    )

    error_of(response, 415, "text/csv")


# --- JSON ---------------------------------------------------------------------------------------


def test_a_json_list_of_calls(client: TestClient, tenant: Tenant) -> None:
    calls = [
        {"phone_number": "6175551234", "message_reference": "a", "call_parameters": {"n": 1}},
        {"phone_number": "nope"},
        {"phone_number": "tel:+16175551235;postd=1"},
        {"phone_number": "6175551236", "colour": "red"},
        "6175551237",
        {"message_reference": "no number"},
    ]

    batch = batch_of(client.post(tenant.base + "/bulk_queue", auth=tenant.auth, json=calls))

    assert (batch["total_rows"], batch["accepted"]) == (6, 2)
    errors = {e["row"]: e for e in batch["errors"]}
    assert sorted(errors) == [2, 4, 5, 6]
    assert errors[2]["value"] == "nope"
    assert errors[4]["value"] == "6175551236" and "colour" in errors[4]["reason"]
    assert errors[5]["value"] == "6175551237" and "object" in errors[5]["reason"]
    assert "phone_number" in errors[6]["reason"]
    first = call_of(client, tenant, batch["call_ids"][0])
    assert (first["message_reference"], first["call_parameters"]) == ("a", {"n": 1})


def test_a_json_object_with_calls_and_shared_options(client: TestClient, tenant: Tenant) -> None:
    body = {
        "calls": [{"phone_number": n} for n in numbers(3)],
        "max_attempts": 2,
        "reattempt_wait": 120,
    }

    batch = batch_of(client.post(tenant.base + "/bulk_queue", auth=tenant.auth, json=body))

    assert batch["accepted"] == 3
    for call_id in batch["call_ids"]:
        call = call_of(client, tenant, call_id)
        assert (call["max_attempts"], call["reattempt_wait"]) == (2, 120)


def test_duplicates_in_a_json_list_are_reported(client: TestClient, tenant: Tenant) -> None:
    calls = [{"phone_number": "6175551234"}, {"phone_number": "+16175551234"}]

    batch = batch_of(client.post(tenant.base + "/bulk_queue", auth=tenant.auth, json=calls))

    assert batch["errors"] == [{"row": 2, "value": E164, "reason": "duplicate of row 1"}]


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"max_attempts": 2}, ("calls", "required")),
        ({"calls": {"phone_number": E164}}, ("calls", "list")),
        ({"calls": [{"phone_number": E164}], "max_attempts": 0}, ("max_attempts",)),
        ({"calls": [{"phone_number": E164}], "colour": "red"}, ("colour",)),
        ("6175551234", ("body",)),
        (42, ("body",)),
        ([], ("calls", "no rows")),
        ({"calls": []}, ("calls", "no rows")),
    ],
)
def test_a_bad_json_bulk_body_is_400(
    client: TestClient, tenant: Tenant, body: Any, mentions: tuple[str, ...]
) -> None:
    response = client.post(
        tenant.base + "/bulk_queue",
        auth=tenant.auth,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )

    error_of(response, 400, *mentions)


def test_malformed_json_on_bulk_queue_is_400(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        tenant.base + "/bulk_queue",
        auth=tenant.auth,
        content=b'[{"phone_number": "6175551234"}',
        headers={"content-type": "application/json"},
    )

    assert error_of(response, 400).startswith("body:")


# --- the batch afterwards -----------------------------------------------------------------------


def test_get_batch_returns_the_same_outcome(client: TestClient, tenant: Tenant) -> None:
    csv = "destination,name\n6175551234,a\nbad,b\n6175551234,c\n6175551235,d\n"
    posted = batch_of(upload(client, tenant, csv))

    response = client.get(f"/api/batches/{posted['batch_id']}", auth=tenant.auth)

    assert response.status_code == 200
    assert response.json() == posted


def test_get_batch_of_a_json_list(client: TestClient, tenant: Tenant) -> None:
    posted = batch_of(
        client.post(
            tenant.base + "/bulk_queue",
            auth=tenant.auth,
            json=[{"phone_number": E164}, {"phone_number": "x"}],
        )
    )

    assert client.get(f"/api/batches/{posted['batch_id']}", auth=tenant.auth).json() == posted


def test_nothing_accepted_is_lost(client: TestClient, tenant: Tenant) -> None:
    good = numbers(1_500)
    rows = []
    for index, number in enumerate(good):
        rows.append(f"{number},ref-{index}")
        if index % 100 == 0:
            rows.append(f"bad-{index},x")
        if index % 250 == 0:
            rows.append(f"{number},dup")
    csv = "destination,message_reference\n" + "\n".join(rows) + "\n"

    batch = batch_of(upload(client, tenant, csv))

    assert batch["accepted"] == len(good)
    assert batch["rejected"] == 15 + 6
    assert batch["total_rows"] == len(rows)
    for call_id in batch["call_ids"][:: len(good) // 50]:
        assert call_of(client, tenant, call_id)["status"] == "queued"
    listed: list[str] = []
    page = 1
    while True:
        response = client.get(
            tenant.base + "/calls", auth=tenant.auth, params={"per_page": 1000, "page": page}
        )
        body = response.json()
        assert body["total"] == batch["accepted"]
        if not body["calls"]:
            break
        listed.extend(call["call_id"] for call in body["calls"])
        page += 1
    assert sorted(listed) == sorted(batch["call_ids"])


def test_every_accepted_call_id_is_readable(client: TestClient, tenant: Tenant) -> None:
    batch = batch_of(
        client.post(
            tenant.base + "/bulk_queue",
            auth=tenant.auth,
            json=[{"phone_number": n, "message_reference": n} for n in numbers(40)],
        )
    )

    for call_id, number in zip(batch["call_ids"], numbers(40), strict=True):
        call = call_of(client, tenant, call_id)
        assert (call["phone_number"], call["message_reference"]) == (number, number)
