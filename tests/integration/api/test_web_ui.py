"""The web UI in-process: sign-in, sessions, CSRF, other accounts' pages, upload, export."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable

import pytest
import sqlalchemy
from api_support import Clock, Tenant, TestClient
from web_support import PASSWORD, csrf_of, sign_in

from outdial.api.throttle import PER_ACCOUNT, PER_PAIR
from outdial.calls import CalleeType
from outdial.store.store import Store
from outdial.trunks import TrunkKind

ROW = r'<tr><td class="num">(\d+)</td><td>([^<]*)</td><td>([^<]*)</td>'  # a rejected row
GOOD_AND_BAD = (
    b"destination,message_reference,name\r\n"
    b"+16175550101,ref-1,Ann\r\n"
    b"not a number,ref-2,Bob\r\n"
    b"+16175550103,ref-3,Cy\r\n"
    b"+16175550101,ref-4,Dup\r\n"
)


def queue_page(tenant: Tenant) -> str:
    return f"/ui/deployments/{tenant.app_id}/{tenant.dep_id}"


def test_pages_need_a_sign_in(client: TestClient, tenant: Tenant) -> None:
    response = client.get(queue_page(tenant), follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/ui/login?next=/ui/deployments/")
    assert client.get("/", follow_redirects=True).url.path == "/ui/login"


def test_sign_in_sets_a_safe_cookie_and_shows_the_deployments(
    client: TestClient, tenant: Tenant
) -> None:
    token = csrf_of(client.get("/ui/login").text)
    response = client.post(
        "/ui/login",
        data={"email": tenant.email, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # served over http here
    page = client.get("/ui/deployments")
    assert page.status_code == 200
    assert "Reminders" in page.text and "Outbound" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_cookie_is_secure_over_https(
    make_client: Callable[..., TestClient], tenant: Tenant
) -> None:
    client = make_client()
    client.base_url = client.base_url.copy_with(scheme="https")
    token = csrf_of(client.get("/ui/login").text)
    response = client.post(
        "/ui/login",
        data={"email": tenant.email, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert "secure" in response.headers["set-cookie"].lower()


def test_wrong_password_is_refused_next_to_the_field(client: TestClient, tenant: Tenant) -> None:
    token = csrf_of(client.get("/ui/login").text)
    response = client.post(
        "/ui/login",
        data={"email": tenant.email, "password": "wrong", "csrf_token": token},
    )
    assert response.status_code == 400
    assert 'id="password-error"' in response.text
    assert "The e-mail address or the password is wrong." in response.text
    follow = client.get("/ui/deployments", follow_redirects=False)
    assert follow.status_code == 303


def test_a_post_without_the_csrf_token_is_refused(client: TestClient, tenant: Tenant) -> None:
    client.get("/ui/login")
    response = client.post("/ui/login", data={"email": tenant.email, "password": PASSWORD})
    assert response.status_code == 403
    token = sign_in(client, tenant)
    for path in (queue_page(tenant) + "/cancel-all", "/ui/logout"):
        refused = client.post(path, data={"csrf_token": "not-the-token"})
        assert refused.status_code == 403, path
    upload = client.post(
        queue_page(tenant) + "/upload", files={"csv": ("calls.csv", GOOD_AND_BAD, "text/csv")}
    )
    assert upload.status_code == 403
    assert client.get("/ui/deployments").status_code == 200  # still signed in
    assert token


def test_a_forged_cookie_is_not_a_session(client: TestClient, tenant: Tenant) -> None:
    sign_in(client, tenant)
    value = client.cookies["outdial_session"]
    payload, signature = value.rsplit(".", 1)
    client.cookies.set("outdial_session", payload + "." + signature[::-1])
    assert client.get("/ui/deployments", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session(client: TestClient, tenant: Tenant) -> None:
    token = sign_in(client, tenant)
    response = client.post("/ui/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/ui/deployments", follow_redirects=False).status_code == 303


SECRET = "one secret for every process behind the address"


def replayed(make_client: Callable[..., TestClient], cookie: str) -> int:
    """What a browser holding a copy of ``cookie`` gets for the deployments page (from another
    process behind the same address: the same session secret)."""
    other = make_client(session_secret=SECRET)
    other.cookies.set("outdial_session", cookie)
    response = other.get("/ui/deployments", follow_redirects=False)
    if response.status_code == 303:
        assert response.headers["location"].startswith("/ui/login")
    return int(response.status_code)


def test_a_cookie_replayed_after_sign_out_is_sent_to_sign_in(
    make_client: Callable[..., TestClient], tenant: Tenant
) -> None:
    client = make_client(session_secret=SECRET)
    token = sign_in(client, tenant)
    copy = client.cookies["outdial_session"]
    assert replayed(make_client, copy) == 200  # the copy works while the sign-in lasts

    client.post("/ui/logout", data={"csrf_token": token})

    assert replayed(make_client, copy) == 303


def test_sign_out_everywhere_ends_every_sign_in(
    make_client: Callable[..., TestClient], tenant: Tenant, make_tenant: Callable[..., Tenant]
) -> None:
    laptop, phone = make_client(session_secret=SECRET), make_client(session_secret=SECRET)
    someone_else = make_client(session_secret=SECRET)
    token = sign_in(laptop, tenant)
    sign_in(phone, tenant)
    sign_in(someone_else, make_tenant())
    phone_cookie = phone.cookies["outdial_session"]

    done = laptop.post(
        "/ui/account/sign-out-everywhere", data={"csrf_token": token}, follow_redirects=False
    )

    assert done.headers["location"] == "/ui/login?signed_out=everywhere"
    assert laptop.get("/ui/deployments", follow_redirects=False).status_code == 303
    assert replayed(make_client, phone_cookie) == 303
    assert someone_else.get("/ui/deployments").status_code == 200  # other accounts untouched


def test_a_password_change_ends_every_sign_in_and_takes_the_new_password(
    make_client: Callable[..., TestClient], tenant: Tenant
) -> None:
    laptop, phone = make_client(), make_client()
    token = sign_in(laptop, tenant)
    sign_in(phone, tenant)
    form = {"csrf_token": token, "current": PASSWORD, "new": "a new passphrase"}

    wrong = laptop.post("/ui/account/password", data={**form, "current": "nope", "again": "x"})
    short = laptop.post("/ui/account/password", data={**form, "new": "short", "again": "short"})
    differ = laptop.post("/ui/account/password", data={**form, "again": "another one"})
    changed = laptop.post(
        "/ui/account/password", data={**form, "again": form["new"]}, follow_redirects=False
    )

    assert (wrong.status_code, short.status_code, differ.status_code) == (400, 400, 400)
    assert 'id="current-error"' in wrong.text and 'id="new-error"' in short.text
    assert 'id="again-error"' in differ.text
    assert changed.headers["location"] == "/ui/login?password_changed=1"
    for browser in (laptop, phone):
        assert browser.get("/ui/deployments", follow_redirects=False).status_code == 303
    fresh = make_client()
    login = csrf_of(fresh.get("/ui/login").text)
    old = fresh.post(
        "/ui/login",
        data={"email": tenant.email, "password": PASSWORD, "csrf_token": login, "next": ""},
    )
    assert old.status_code == 400
    new = fresh.post(
        "/ui/login",
        data={"email": tenant.email, "password": form["new"], "csrf_token": login, "next": ""},
        follow_redirects=False,
    )
    assert new.status_code == 303


def test_another_accounts_deployment_and_call_are_not_found(
    client: TestClient,
    make_tenant: Callable[..., Tenant],
    queue_call: Callable[..., str],
) -> None:
    mine, theirs = make_tenant(), make_tenant()
    their_call = queue_call(theirs)
    token = sign_in(client, mine)
    for path in (
        queue_page(theirs),
        queue_page(theirs) + "/pending",
        queue_page(theirs) + "/export.csv",
        f"/ui/calls/{their_call}",
        f"/ui/deployments/{mine.app_id}/{theirs.dep_id}",
        "/ui/calls/no-such-call",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "There is no such page in your account." in response.text
    cancel = client.post(
        queue_page(theirs) + f"/calls/{their_call}/cancel", data={"csrf_token": token}
    )
    assert cancel.status_code == 404
    cancel_all = client.post(queue_page(theirs) + "/cancel-all", data={"csrf_token": token})
    assert cancel_all.status_code == 404
    assert (
        client.get(f"/api/outbound/{their_call}", auth=theirs.auth).json()["call_details"]["status"]
        == "queued"
    )


def test_preview_stores_nothing_and_upload_reports_the_same_rows(
    client: TestClient, tenant: Tenant, store: Store
) -> None:
    token = sign_in(client, tenant)
    files = {"csv": ("calls.csv", GOOD_AND_BAD, "text/csv")}
    preview = client.post(
        queue_page(tenant) + "/upload/preview",
        data={"csrf_token": token, "max_attempts": "1"},
        files=files,
        headers={"HX-Request": "true"},
    )
    assert preview.status_code == 200, preview.text
    assert 'data-count="accepted">2<' in preview.text
    assert 'data-count="rejected">2<' in preview.text
    assert "not a number" in preview.text and "duplicate of row 2" in preview.text
    assert "<html" not in preview.text  # a fragment for htmx
    assert client.get(tenant.base + "/calls", auth=tenant.auth).json()["total"] == 0

    queued = client.post(
        queue_page(tenant) + "/upload",
        data={"csrf_token": token, "max_attempts": "2", "reattempt_wait": "120"},
        files=files,
        headers={"HX-Request": "true"},
    )
    assert queued.status_code == 200, queued.text
    assert 'data-count="accepted">2<' in queued.text
    assert 'data-count="rejected">2<' in queued.text
    listed = client.get(tenant.base + "/calls", auth=tenant.auth).json()
    assert listed["total"] == 2
    assert {c["max_attempts"] for c in listed["calls"]} == {2}
    # the same file through the API gives the same rows and the same reasons
    api = client.post(
        tenant.base + "/bulk_queue",
        auth=tenant.auth,
        files=files,
    ).json()
    rejected = re.findall(ROW, queued.text)
    assert [(int(r), html.unescape(v), html.unescape(why)) for r, v, why in rejected] == [
        (e["row"], e["value"], e["reason"]) for e in api["errors"]
    ]


def test_the_example_csv_offered_in_the_dialog_previews_as_it_says(
    client: TestClient, tenant: Tenant
) -> None:
    token = sign_in(client, tenant)
    page = client.get(queue_page(tenant) + "/upload")
    assert 'href="/ui/static/example.csv"' in page.text
    example = client.get("/ui/static/example.csv")
    assert example.status_code == 200
    preview = client.post(
        queue_page(tenant) + "/upload/preview",
        data={"csrf_token": token, "max_attempts": "1"},
        files={"csv": ("example.csv", example.content, "text/csv")},
        headers={"HX-Request": "true"},
    )
    assert 'data-count="accepted">6<' in preview.text
    assert 'data-count="rejected">2<' in preview.text  # "two of its rows are wrong on purpose"
    assert "duplicate of row 2" in preview.text


def test_upload_errors_are_shown_next_to_their_fields(client: TestClient, tenant: Tenant) -> None:
    token = sign_in(client, tenant)
    response = client.post(
        queue_page(tenant) + "/upload",
        data={"csrf_token": token, "max_attempts": "3"},
        files={"csv": ("calls.csv", GOOD_AND_BAD, "text/csv")},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert 'id="reattempt_wait-error"' in response.text
    assert "is required when max_attempts is more than 1" in response.text
    missing = client.post(
        queue_page(tenant) + "/upload/preview",
        data={"csrf_token": token},
        files={"csv": ("", b"", "text/csv")},
        headers={"HX-Request": "true"},
    )
    assert missing.status_code == 422
    assert 'id="csv-error"' in missing.text
    assert client.get(tenant.base + "/calls", auth=tenant.auth).json()["total"] == 0


def test_call_range_is_read_in_the_operators_time_zone(
    client: TestClient, tenant: Tenant, clock: Clock
) -> None:
    token = sign_in(client, tenant, time_zone="America/New_York")
    response = client.post(
        queue_page(tenant) + "/upload",
        data={"csrf_token": token, "start_timestamp": "2099-01-02T09:30"},
        files={"csv": ("calls.csv", b"destination\n+16175550101\n", "text/csv")},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.text
    call = client.get(tenant.base + "/calls", auth=tenant.auth).json()["calls"][0]
    assert call["start_timestamp"] == 4071047400  # 2099-01-02T14:30:00Z
    page = client.get(queue_page(tenant))
    assert "America/New_York" in page.text


def test_export_has_the_filtered_completed_calls(
    client: TestClient, tenant: Tenant, store: Store, queue_call: Callable[..., str]
) -> None:
    first = queue_call(tenant, "+16175550101", message_reference="=cmd()")
    second = queue_call(tenant, "+16175550102")
    queue_call(tenant, "+16175550103")  # stays pending: never exported
    token = sign_in(client, tenant)
    assert client.post(queue_page(tenant) + f"/calls/{first}/cancel", data={"csrf_token": token})
    assert client.post(queue_page(tenant) + f"/calls/{second}/cancel", data={"csrf_token": token})
    exported = client.get(queue_page(tenant) + "/export.csv?status=uncalled")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["call_id"] for r in rows) == sorted([first, second])
    assert {r["status"] for r in rows} == {"uncalled"}
    assert {r["callee_type"] for r in rows} == {CalleeType.NOATTEMPT.value}
    by_id = {r["call_id"]: r for r in rows}
    assert by_id[first]["message_reference"] == "'=cmd()"  # not a spreadsheet formula
    assert by_id[first]["queued_at"].endswith("+00:00")
    narrowed = client.get(queue_page(tenant) + "/export.csv?number=0102")
    assert [r["call_id"] for r in csv.DictReader(io.StringIO(narrowed.text))] == [second]
    none = client.get(queue_page(tenant) + "/export.csv?status=completed")
    assert list(csv.DictReader(io.StringIO(none.text))) == []


def test_cancel_all_asks_first_then_cancels(
    client: TestClient, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    for n in range(3):
        queue_call(tenant, f"+1617555020{n}")
    token = sign_in(client, tenant)
    ask = client.get(queue_page(tenant) + "/cancel-all")
    assert "3 queued calls will not be dialed" in ask.text
    done = client.post(queue_page(tenant) + "/cancel-all", data={"csrf_token": token})
    assert done.status_code == 200
    assert "3 pending calls cancelled." in done.text
    assert "No pending calls." in done.text


def test_bad_filters_are_shown_next_to_their_fields(client: TestClient, tenant: Tenant) -> None:
    sign_in(client, tenant)
    response = client.get(queue_page(tenant) + "?status=bogus&number=abc")
    assert response.status_code == 400
    assert "Choose a status from the list." in response.text
    assert 'id="f-number-error"' in response.text


def test_call_detail_shows_events_and_parameters(
    client: TestClient, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    call_id = queue_call(tenant, "+16175550101", call_parameters={"first_name": "Ann"})
    sign_in(client, tenant, time_zone="Europe/Paris")
    page = client.get(f"/ui/calls/{call_id}")
    assert page.status_code == 200
    assert "first_name" in page.text and "Ann" in page.text
    assert "Not dialed yet." in page.text
    assert "queued" in page.text
    assert "Europe/Paris" in page.text


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Pacific/Kiritimati", "America/Los_Angeles"])
def test_a_call_kept_with_a_window_at_year_9999_renders_in_every_zone(
    client: TestClient, tenant: Tenant, store: Store, queue_call: Callable[..., str], zone: str
) -> None:
    # The API now refuses times after 2200; rows queued before that bound may hold later ones.
    call_id = queue_call(tenant, "+16175550101")
    with store.engine.begin() as conn:
        conn.execute(
            sqlalchemy.text("UPDATE calls SET start_at = :at, end_at = :at WHERE call_id = :id"),
            {"at": 253_402_300_799.0, "id": call_id},
        )
    sign_in(client, tenant, time_zone=zone)

    page = client.get(f"/ui/calls/{call_id}")

    assert page.status_code == 200, page.text
    assert "253402300799" in page.text or "9999-12-31" in page.text
    assert client.get(queue_page(tenant)).status_code == 200


@pytest.mark.parametrize(
    "path", ["/ui/static/htmx.min.js", "/ui/static/app.js", "/ui/static/app.css"]
)
def test_assets_are_served_by_outdial(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_unknown_ui_paths_get_a_page_and_api_paths_keep_json(
    client: TestClient, tenant: Tenant
) -> None:
    sign_in(client, tenant)
    for path in ("/ui/nowhere", "/ui/deployments/abc/1", "/ui/deployments/1/99999999999999999999"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "There is no such page in your account." in response.text
    api = client.get("/api/nowhere")
    assert api.status_code == 404 and "error" in api.json()
    assert client.get("/api/apps/abc/1/calls", auth=tenant.auth).status_code == 400


def test_queue_calls_works_without_javascript(client: TestClient, tenant: Tenant) -> None:
    token = sign_in(client, tenant)
    form = client.get(queue_page(tenant) + "/upload")
    assert form.status_code == 200
    assert "<html" in form.text and 'name="csv"' in form.text
    queued = client.post(
        queue_page(tenant) + "/upload",
        data={"csrf_token": token},
        files={"csv": ("calls.csv", GOOD_AND_BAD, "text/csv")},
    )
    assert queued.status_code == 200
    assert "<html" in queued.text and 'data-count="accepted">2<' in queued.text


def test_password_guessing_is_slowed_down(client: TestClient, tenant: Tenant) -> None:
    token = csrf_of(client.get("/ui/login").text)
    guess = {"email": tenant.email, "password": "guess", "csrf_token": token}
    statuses = [client.post("/ui/login", data=guess).status_code for _ in range(PER_PAIR.burst + 1)]
    assert statuses == [400] * PER_PAIR.burst + [429]
    refused = client.post("/ui/login", data={**guess, "password": PASSWORD})
    assert refused.status_code == 429
    assert "Too many sign-in attempts" in refused.text
    assert client.get("/ui/deployments", follow_redirects=False).status_code == 303


def test_guessing_an_unknown_email_looks_the_same(client: TestClient, tenant: Tenant) -> None:
    token = csrf_of(client.get("/ui/login").text)

    def statuses(email: str) -> list[int]:
        guess = {"email": email, "password": "guess", "csrf_token": token}
        return [client.post("/ui/login", data=guess).status_code for _ in range(8)]

    known, unknown = statuses(tenant.email), statuses("nobody@example.com")
    assert known == unknown == [400] * PER_PAIR.burst + [429] * (8 - PER_PAIR.burst)


def test_the_owner_is_not_locked_out_by_guesses_from_elsewhere(
    make_client: Callable[..., TestClient], tenant: Tenant
) -> None:
    owner = make_client()
    sign_in(owner, tenant)  # from this address before the attack
    throttle = owner.app.state.sign_in_throttle  # type: ignore[attr-defined]
    for n in range(PER_ACCOUNT.burst + 20):  # guesses from many addresses
        address = f"198.51.100.{n % 250}"
        if not throttle.wait(tenant.email, address):
            throttle.failed(tenant.email, address)
    assert throttle.wait(tenant.email, "198.51.100.77") > 0  # strangers are held back

    again = make_client()
    again.app.state.sign_in_throttle = throttle  # type: ignore[attr-defined]
    sign_in(again, tenant)  # the owner's address (testclient) still signs in


def test_a_deployment_without_a_trunk_says_its_calls_are_not_dialed(
    client: TestClient, tenant: Tenant, store: Store
) -> None:
    sign_in(client, tenant)
    assert 'id="no-trunk"' in client.get(queue_page(tenant)).text
    assert "no trunk: not dialing" in client.get("/ui/deployments").text
    trunk = store.create_trunk("sim", TrunkKind.SIMULATED, lines=1, cps=1.0, config='{"rules": []}')
    store.set_deployment_trunk(tenant.dep_id, trunk.id)
    assert 'id="no-trunk"' not in client.get(queue_page(tenant)).text
    assert "no trunk: not dialing" not in client.get("/ui/deployments").text
