"""A Plum Fuse client pointed at outdial: its requests work once the base URL changes.

Plum's samples queue with ``curl -u email:key -d phone_number=...`` (PHP: CURLOPT_USERPWD and
CURLOPT_POSTFIELDS), read ``/api/outbound/{call_id}`` and cancel with DELETE.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from xml.etree import ElementTree as ET

import httpx
import pytest
from acceptance_support import Server, Tenant, run, run_json


def test_a_plum_session_queue_read_cancel(http: httpx.Client, tenant: Tenant) -> None:
    queued = http.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        data={
            "phone_number": "tel:+16175551234;ani=8009957586",
            "max_retries": "2",
            "retry_interval": "300",
            "call_parameters": json.dumps({"name": "Ada"}),
            "message_reference": "appointment-17",
        },
    )
    assert queued.status_code == 200, queued.text
    call_id = queued.json()["call_id"]
    assert queued.headers["link"] == f"</api/outbound/{call_id}>"

    status = http.get(f"/api/outbound/{call_id}", auth=tenant.auth)
    assert status.status_code == 200
    details = status.json()["call_details"]
    assert details["call_id"] == call_id
    assert details["phone_number"] == "+16175551234"
    assert details["status"] == "queued"
    assert (details["max_attempts"], details["reattempt_wait"]) == (3, 300)
    assert details["call_parameters"] == {"name": "Ada"}
    assert details["message_reference"] == "appointment-17"
    assert [e["event"] for e in details["events"]] == ["queued"]

    cancelled = http.delete(f"/api/outbound/{call_id}", auth=tenant.auth)
    assert cancelled.status_code == 202
    after = http.get(f"/api/outbound/{call_id}", auth=tenant.auth).json()["call_details"]
    assert (after["status"], after["callee_type"]) == ("uncalled", "noattempt")
    assert [e["event"] for e in after["events"]] == ["queued", "canceled"]
    assert http.delete(f"/api/outbound/{call_id}", auth=tenant.auth).status_code == 409


def test_a_php_style_multipart_post(http: httpx.Client, tenant: Tenant) -> None:
    # CURLOPT_POSTFIELDS with a PHP array sends multipart/form-data.
    response = http.post(
        tenant.base + "/queue",
        auth=tenant.auth,
        files={"phone_number": (None, "6175551234"), "max_attempts": (None, "1")},
    )

    assert response.status_code == 200, response.text


def test_cancel_all(http: httpx.Client, tenant: Tenant) -> None:
    ids = [
        http.post(
            tenant.base + "/queue", auth=tenant.auth, data={"phone_number": f"+1617555{1000 + i}"}
        ).json()["call_id"]
        for i in range(3)
    ]

    response = http.delete(tenant.base + "/cancel", auth=tenant.auth)

    assert (response.status_code, response.content) == (202, b"")
    for call_id in ids:
        details = http.get(f"/api/outbound/{call_id}", auth=tenant.auth).json()["call_details"]
        assert details["status"] == "uncalled"
    pending = http.get(tenant.base + "/calls", auth=tenant.auth, params={"group": "pending"})
    assert pending.json()["total"] == 0


def test_curl_exactly_as_in_plums_samples(server: Server, tenant: Tenant) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    url = server.url + tenant.base + "/queue"

    done = subprocess.run(
        [curl, "-sS", "-u", f"{tenant.email}:{tenant.key}", "-d", "phone_number=6175551234", url],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    call_id = json.loads(done.stdout)["call_id"]
    as_xml = subprocess.run(
        [
            curl,
            "-sS",
            "-u",
            f"{tenant.email}:{tenant.key}",
            "-H",
            "Accept: application/xml",
            f"{server.url}/api/outbound/{call_id}",
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    root = ET.fromstring(as_xml.stdout)
    assert root.findtext("call_details/call_id") == call_id
    assert root.findtext("call_details/status") == "queued"


def test_errors_over_the_wire(http: httpx.Client, tenant: Tenant) -> None:
    unauthenticated = http.post(tenant.base + "/queue", data={"phone_number": "6175551234"})
    bad_number = http.post(tenant.base + "/queue", auth=tenant.auth, data={"phone_number": "12"})
    unknown = http.get("/api/outbound/nope", auth=tenant.auth)

    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"].startswith("Basic")
    assert bad_number.status_code == 400
    assert bad_number.json()["error"].startswith("phone_number:")
    assert (unknown.status_code, set(unknown.json())) == (404, {"error"})


def test_a_reset_key_replaces_the_old_one(
    http: httpx.Client, make_tenant: Callable[[], Tenant], database_url: str
) -> None:
    tenant = make_tenant()
    reset = run_json(
        "account", "reset-key", "--database-url", database_url, "--email", tenant.email
    )

    old = http.get(tenant.base + "/calls", auth=tenant.auth)
    new = http.get(tenant.base + "/calls", auth=(tenant.email, reset["developer_key"]))

    assert reset["developer_key"] != tenant.key
    assert (old.status_code, new.status_code) == (401, 200)


def test_deleting_with_the_cli_is_seen_by_the_api(
    http: httpx.Client, database_url: str, make_tenant: Callable[[], Tenant]
) -> None:
    tenant, other = make_tenant(), make_tenant()
    deleted_dep = run_json(
        "deployment", "delete", "--database-url", database_url, str(tenant.dep_id)
    )
    deleted_app = run_json("app", "delete", "--database-url", database_url, str(other.app_id))

    gone_dep = http.post(
        tenant.base + "/queue", auth=tenant.auth, data={"phone_number": "6175551234"}
    )
    gone_app = http.get(other.base + "/calls", auth=other.auth)

    assert deleted_dep == {"deployment_id": tenant.dep_id, "deleted": True}
    assert deleted_app == {"application_id": other.app_id, "deleted": True}
    assert gone_dep.status_code == 409 and "deleted" in gone_dep.json()["error"]
    assert gone_app.status_code == 409 and "deleted" in gone_app.json()["error"]
    again = run("deployment", "delete", "--database-url", database_url, str(tenant.dep_id))
    assert again.returncode == 1
    assert "error" in json.loads(again.stderr)
