"""Reading, cancelling and listing calls: GET/DELETE /api/outbound/{id}, cancel, calls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from api_support import Clock, Tenant, TestClient, error_of

E164 = "+16175551234"
CALL_DETAILS_KEYS = [
    "call_id",
    "phone_number",
    "status",
    "callee_type",
    "attempts",
    "max_attempts",
    "queued_timestamp",
    "start_timestamp",
    "end_timestamp",
    "reattempt_wait",
    "last_attempt_timestamp",
    "duration",
    "message_reference",
    "call_parameters",
    "results",
    "recordings",
    "events",
    "attempt_details",
]


def details(client: TestClient, tenant: Tenant, call_id: str) -> dict[str, Any]:
    response = client.get(f"/api/outbound/{call_id}", auth=tenant.auth)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"call_details"}
    found: dict[str, Any] = response.json()["call_details"]
    return found


def listing(client: TestClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = client.get(tenant.base + "/calls", auth=tenant.auth, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [call["call_id"] for call in body["calls"]]


# --- GET /api/outbound/{call_id} ----------------------------------------------------------------


def test_call_details_carry_exactly_the_spec_fields(
    client: TestClient, tenant: Tenant, clock: Clock, queue_call: Callable[..., str]
) -> None:
    call_id = queue_call(
        tenant,
        "tel:+16175551234;ani=8009957586",
        message_reference="ref-7",
        call_parameters={"name": "Ada"},
    )

    call = details(client, tenant, call_id)

    assert list(call) == CALL_DETAILS_KEYS
    now = int(clock.now)
    assert call == {
        "call_id": call_id,
        "phone_number": E164,
        "status": "queued",
        "callee_type": None,
        "attempts": 0,
        "max_attempts": 1,
        "queued_timestamp": now,
        "start_timestamp": now,
        "end_timestamp": None,
        "reattempt_wait": None,
        "last_attempt_timestamp": None,
        "duration": None,
        "message_reference": "ref-7",
        "call_parameters": {"name": "Ada"},
        "results": {},
        "recordings": [],
        "events": [{"event": "queued", "timestamp": now}],
        "attempt_details": [],  # outdial's addition: each attempt, with its detection
    }


def test_the_link_header_leads_to_the_call(client: TestClient, tenant: Tenant) -> None:
    queued = client.post(tenant.base + "/queue", auth=tenant.auth, data={"phone_number": E164})
    link = queued.headers["link"]
    assert link.startswith("<") and link.endswith(">")

    response = client.get(link[1:-1], auth=tenant.auth)

    assert response.json()["call_details"]["call_id"] == queued.json()["call_id"]


# --- DELETE /api/outbound/{call_id} -------------------------------------------------------------


def test_cancelling_a_queued_call(
    client: TestClient, tenant: Tenant, clock: Clock, queue_call: Callable[..., str]
) -> None:
    call_id = queue_call(tenant)
    clock.advance(5)

    response = client.delete(f"/api/outbound/{call_id}", auth=tenant.auth)

    assert response.status_code == 202
    call = details(client, tenant, call_id)
    assert (call["status"], call["callee_type"], call["attempts"]) == ("uncalled", "noattempt", 0)
    assert call["events"] == [
        {"event": "queued", "timestamp": int(clock.now) - 5},
        {"event": "canceled", "timestamp": int(clock.now)},
    ]


def test_cancelling_twice_is_409(
    client: TestClient, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    call_id = queue_call(tenant)
    assert client.delete(f"/api/outbound/{call_id}", auth=tenant.auth).status_code == 202

    response = client.delete(f"/api/outbound/{call_id}", auth=tenant.auth)

    error_of(response, 409, call_id, "uncalled")
    events = [e["event"] for e in details(client, tenant, call_id)["events"]]
    assert events == ["queued", "canceled"]


def test_cancelling_one_call_leaves_the_others(
    client: TestClient, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    first, second = queue_call(tenant, "+16175551234"), queue_call(tenant, "+16175551235")

    client.delete(f"/api/outbound/{first}", auth=tenant.auth)

    assert details(client, tenant, second)["status"] == "queued"


# --- DELETE /api/apps/{app}/{dep}/cancel --------------------------------------------------------


def test_cancel_all_makes_every_pending_call_uncalled(
    client: TestClient,
    tenant: Tenant,
    add_deployment: Callable[..., Tenant],
    queue_call: Callable[..., str],
) -> None:
    other = add_deployment(tenant)
    mine = [queue_call(tenant, f"+1617555{1000 + i}") for i in range(5)]
    theirs = queue_call(other)

    response = client.delete(tenant.base + "/cancel", auth=tenant.auth)

    assert response.status_code == 202
    assert response.content == b""
    for call_id in mine:
        call = details(client, tenant, call_id)
        assert (call["status"], call["callee_type"]) == ("uncalled", "noattempt")
        assert [e["event"] for e in call["events"]] == ["queued", "canceled"]
    assert details(client, other, theirs)["status"] == "queued"
    assert listing(client, tenant, group="pending")["total"] == 0
    assert listing(client, other, group="pending")["total"] == 1


def test_cancel_all_includes_bulk_queued_calls(client: TestClient, tenant: Tenant) -> None:
    calls = [{"phone_number": f"+1617555{1000 + i}"} for i in range(30)]
    client.post(tenant.base + "/bulk_queue", auth=tenant.auth, json=calls)

    assert client.delete(tenant.base + "/cancel", auth=tenant.auth).status_code == 202

    assert listing(client, tenant, status="uncalled")["total"] == 30


def test_cancel_all_leaves_finished_calls_alone(
    client: TestClient, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    done = queue_call(tenant, "+16175551234")
    client.delete(f"/api/outbound/{done}", auth=tenant.auth)
    before = details(client, tenant, done)

    client.delete(tenant.base + "/cancel", auth=tenant.auth)

    assert details(client, tenant, done) == before


def test_cancel_all_with_nothing_pending_is_202(client: TestClient, tenant: Tenant) -> None:
    response = client.delete(tenant.base + "/cancel", auth=tenant.auth)

    assert (response.status_code, response.content) == (202, b"")


def test_calls_queued_after_cancel_all_are_pending(
    client: TestClient, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    queue_call(tenant, "+16175551234")
    client.delete(tenant.base + "/cancel", auth=tenant.auth)

    fresh = queue_call(tenant, "+16175551235")

    assert details(client, tenant, fresh)["status"] == "queued"


# --- GET /api/apps/{app}/{dep}/calls ------------------------------------------------------------


@pytest.fixture
def spread(
    client: TestClient, tenant: Tenant, clock: Clock, queue_call: Callable[..., str]
) -> dict[str, Any]:
    """Five calls queued a minute apart; the second and fourth cancelled."""
    made: dict[str, Any] = {"ids": [], "times": []}
    for index in range(5):
        made["times"].append(int(clock.now))
        made["ids"].append(
            queue_call(tenant, f"+1617555{2000 + index}", message_reference=f"ref-{index % 2}")
        )
        clock.advance(60)
    for index in (1, 3):
        client.delete(f"/api/outbound/{made['ids'][index]}", auth=tenant.auth)
    return made


def test_list_shape_and_default_order(
    client: TestClient, tenant: Tenant, spread: dict[str, Any]
) -> None:
    body = listing(client, tenant)

    assert set(body) == {"calls", "page", "per_page", "total"}
    assert (body["page"], body["per_page"], body["total"]) == (1, 100, 5)
    assert ids(body) == spread["ids"]
    history = ("events", "attempt_details")
    assert list(body["calls"][0]) == [k for k in CALL_DETAILS_KEYS if k not in history]


def test_list_newest_first(client: TestClient, tenant: Tenant, spread: dict[str, Any]) -> None:
    assert ids(listing(client, tenant, order="desc")) == spread["ids"][::-1]
    assert ids(listing(client, tenant, order="asc")) == spread["ids"]


def test_list_paging(client: TestClient, tenant: Tenant, spread: dict[str, Any]) -> None:
    pages = [listing(client, tenant, per_page=2, page=page) for page in (1, 2, 3, 4)]

    assert [ids(p) for p in pages] == [
        spread["ids"][0:2],
        spread["ids"][2:4],
        spread["ids"][4:5],
        [],
    ]
    assert {p["total"] for p in pages} == {5}
    assert [(p["page"], p["per_page"]) for p in pages] == [(1, 2), (2, 2), (3, 2), (4, 2)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"group": "pending"}, [0, 2, 4]),
        ({"group": "completed"}, [1, 3]),
        ({"status": "queued"}, [0, 2, 4]),
        ({"status": "uncalled"}, [1, 3]),
        ({"status": "queued,uncalled"}, [0, 1, 2, 3, 4]),
        ({"status": "completed"}, []),
        ({"callee_type": "noattempt"}, [1, 3]),
        ({"callee_type": "voice,busy"}, []),
        ({"phone_number": "5552002"}, [2]),
        ({"phone_number": "+1 (617) 555-2"}, [0, 1, 2, 3, 4]),
        ({"phone_number": "9999"}, []),
        ({"message_reference": "ref-1"}, [1, 3]),
        ({"message_reference": "ref"}, []),
        ({"group": "pending", "message_reference": "ref-0"}, [0, 2, 4]),
        ({"status": "uncalled", "message_reference": "ref-0"}, []),
    ],
)
def test_list_filters(
    client: TestClient,
    tenant: Tenant,
    spread: dict[str, Any],
    params: dict[str, str],
    expected: list[int],
) -> None:
    body = listing(client, tenant, **params)

    assert ids(body) == [spread["ids"][i] for i in expected]
    assert body["total"] == len(expected)


def test_list_time_range(client: TestClient, tenant: Tenant, spread: dict[str, Any]) -> None:
    times = spread["times"]

    since = listing(client, tenant, since=times[2])
    until = listing(client, tenant, until=times[2])
    both = listing(client, tenant, since=times[1], until=times[3])
    iso = datetime.fromtimestamp(times[3], UTC).isoformat()

    assert ids(since) == spread["ids"][2:]
    assert ids(until) == spread["ids"][:2]  # until is exclusive
    assert ids(both) == spread["ids"][1:3]
    assert ids(listing(client, tenant, since=iso)) == spread["ids"][3:]
    assert ids(listing(client, tenant, since=iso.replace("+00:00", "Z"))) == spread["ids"][3:]


def test_list_only_shows_this_deployment(
    client: TestClient,
    tenant: Tenant,
    add_deployment: Callable[..., Tenant],
    queue_call: Callable[..., str],
) -> None:
    other = add_deployment(tenant)
    mine = queue_call(tenant)
    queue_call(other)

    assert ids(listing(client, tenant)) == [mine]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"group": "finished"}, "group"),
        ({"status": "done"}, "status"),
        ({"status": "queued,bogus"}, "status"),
        ({"callee_type": "human"}, "callee_type"),
        ({"phone_number": "abc"}, "phone_number"),
        ({"phone_number": "1" * 40}, "phone_number"),
        ({"message_reference": "x" * 256}, "message_reference"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-01T00:00:00"}, "since"),
        ({"until": "-1"}, "until"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "1001"}, "per_page"),
        ({"order": "newest"}, "order"),
    ],
)
def test_a_bad_filter_is_400_naming_the_parameter(
    client: TestClient, tenant: Tenant, params: dict[str, str], name: str
) -> None:
    response = client.get(tenant.base + "/calls", auth=tenant.auth, params=params)

    message = error_of(response, 400, name)
    assert message.startswith(f"{name}:"), message
