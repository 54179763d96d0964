"""Every route of the app, API and UI, tried by strangers: generated from the route table.

Each route is tried with no credentials, a wrong developer key (API) or a wrong password (UI),
and, signed in as another account, with the IDs of the owner's objects. A new route is covered
the day it is added: the matrix reads the app's routes, and a route whose path holds a
parameter the matrix has no value for fails here until one is added to ``ids_of``. Public
routes are listed, by path, in ``PUBLIC``; the matrix checks that they are still routes.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from api_support import GENEROUS_BURST, GENEROUS_RATE
from web_support import PASSWORD, csrf_of

from outdial.api.throttle import SignInThrottle
from outdial.app import create_app
from outdial.config import Settings
from outdial.store.store import Store

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r".*httpx2", category=UserWarning)
    from fastapi.testclient import TestClient

# Routes anyone may use, with why.
PUBLIC = {
    ("GET", "/openapi.json"): "the API's description",
    ("GET", "/docs"): "the API's reference page",
    ("GET", "/docs/oauth2-redirect"): "part of the reference page",
    ("GET", "/redoc"): "the API's reference page",
    ("GET", "/healthz"): "for load balancers: says ok or not, nothing of any tenant",
    ("GET", "/api/flow/schema"): "the flow language's JSON Schema, the same for everyone",
    ("GET", "/"): "redirects to the UI",
    ("GET", "/ui/"): "redirects to the deployments or the sign-in page",
    ("GET", "/ui/login"): "the sign-in page",
    ("POST", "/ui/login"): "signing in",
    ("GET", "/metrics"): "its own bearer token (--metrics-token): test_api_metrics.py",
}
CASES = ("no credentials", "wrong key or password", "another account's IDs")


@dataclass(frozen=True)
class Route:
    method: str
    path: str

    @property
    def api(self) -> bool:
        return not self.path.startswith("/ui/")

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)


def _routes() -> list[Route]:
    settings = Settings(database_url="sqlite:///:memory:", dialer=False, ingest_workers=0)
    found = []

    def walk(routes: Any) -> None:
        for route in routes:
            if hasattr(route, "original_router"):
                walk(route.original_router.routes)
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    found.append(Route(method, route.path))

    walk(create_app(settings).routes)
    return found


ROUTES = _routes()
GUARDED = [r for r in ROUTES if (r.method, r.path) not in PUBLIC]
# Another account's IDs only where a path holds IDs: a route without any serves the caller's own.
MATRIX = [
    (route, case)
    for route in GUARDED
    for case in CASES
    if route.params or case != "another account's IDs"
]


@dataclass
class World:
    client: TestClient
    stranger_client: TestClient
    owner: dict[str, Any]  # path parameter -> the owner's value
    owner_auth: tuple[str, str]
    stranger_auth: tuple[str, str]
    stranger_email: str
    stranger_csrf: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'outdial.db'}"
    store = Store.open(url)
    owner, owner_key = store.create_account("owner@example.com", PASSWORD)
    stranger, stranger_key = store.create_account("stranger@example.com", PASSWORD)
    application = store.create_application(owner.email, "Reminders")
    deployment = store.create_deployment(application.id, name="Outbound")
    flow = '{"flow": 1, "start": "bye", "steps": {"bye": {"type": "hangup"}}}'
    version = store.save_flow(application.id, flow, "json", owner.email)
    store.save_audio(application.id, "welcome.ul", b"\xff" * 800)
    settings = Settings(
        database_url=url,
        ingest_workers=0,
        dialer=False,
        queue_rate=GENEROUS_RATE,
        queue_burst=GENEROUS_BURST,
    )
    app = create_app(settings, store=store)
    with TestClient(app) as client, TestClient(app) as stranger_client:
        auth = (owner.email, owner_key)
        base = f"/api/apps/{application.id}/{deployment.id}"
        call_id = client.post(base + "/queue", auth=auth, json={"phone_number": "+16175551234"})
        call_id = call_id.json()["call_id"]
        batch = client.post(
            base + "/bulk_queue", auth=auth, json=[{"phone_number": "+16175551235"}]
        )
        pk = (
            store.engine.connect()
            .exec_driver_sql("SELECT id FROM calls WHERE call_id = ?", (call_id,))
            .scalar_one()
        )
        recording = store.save_recording(pk, 1, "comment", b"\xff" * 800, 0.1)
        ids = {
            "application_id": application.id,
            "app_id": application.id,
            "deployment_id": deployment.id,
            "call_id": call_id,
            "batch_id": batch.json()["batch_id"],
            "version": version.version,
            "recording_id": recording,
            "name": "welcome.ul",
        }
        token = csrf_of(stranger_client.get("/ui/login").text)
        signed = stranger_client.post(
            "/ui/login",
            data={
                "email": stranger.email,
                "password": PASSWORD,
                "csrf_token": token,
                "time_zone": "UTC",
                "next": "",
            },
            follow_redirects=False,
        )
        assert signed.status_code == 303
        stranger_csrf = csrf_of(stranger_client.get("/ui/deployments").text)
        yield World(
            client,
            stranger_client,
            ids,
            auth,
            (stranger.email, stranger_key),
            stranger.email,
            stranger_csrf,
        )
    store.close()


def url_of(route: Route, values: dict[str, Any]) -> str:
    missing = [p for p in route.params if p not in values]
    assert not missing, f"{route.method} {route.path}: add a value for {missing} to the matrix"
    return route.path.format(**values)


def test_the_matrix_covers_every_route_and_public_routes_exist() -> None:
    listed = {(r.method, r.path) for r in ROUTES}
    assert set(PUBLIC) <= listed, set(PUBLIC) - listed
    with_ids = sum(1 for r in GUARDED if r.params)
    assert len(MATRIX) == 2 * len(GUARDED) + with_ids
    print(f"auth matrix: {len(GUARDED)} guarded routes ({with_ids} with IDs), {len(MATRIX)} pairs")


@pytest.mark.parametrize(
    ("route", "case"), MATRIX, ids=[f"{r.method} {r.path} | {c}" for r, c in MATRIX]
)
def test_strangers_are_refused(world: World, route: Route, case: str) -> None:
    # Each pair on its own: the sign-in throttle would answer 429 after a few wrong keys.
    world.client.app.state.sign_in_throttle = SignInThrottle()  # type: ignore[attr-defined]
    url = url_of(route, world.owner)
    if route.api:
        auth: tuple[str, str] | None = {
            "no credentials": None,
            "wrong key or password": (world.owner_auth[0], "not-the-key"),
            "another account's IDs": world.stranger_auth,
        }[case]
        response = world.client.request(route.method, url, auth=auth)
        if case == "another account's IDs":
            assert response.status_code == 404, (response.status_code, response.text)
        else:
            assert response.status_code == 401, (response.status_code, response.text)
        return
    # the UI
    if case == "another account's IDs":
        data = {"csrf_token": world.stranger_csrf} if route.method == "POST" else None
        response = world.stranger_client.request(
            route.method, url, data=data, follow_redirects=False
        )
        assert response.status_code == 404, (response.status_code, response.text[:300])
        return
    with TestClient(world.client.app) as anonymous:
        if case == "wrong key or password":
            token = csrf_of(anonymous.get("/ui/login").text)
            refused = anonymous.post(
                "/ui/login",
                data={
                    "email": world.stranger_email,
                    "password": "wrong",
                    "csrf_token": token,
                    "time_zone": "UTC",
                    "next": "",
                },
                follow_redirects=False,
            )
            assert refused.status_code in (200, 400, 401, 429)
        response = anonymous.request(route.method, url, follow_redirects=False)
    if route.method == "GET":
        assert response.status_code == 303, (response.status_code, response.text[:300])
        assert response.headers["location"].startswith("/ui/login?next=")
    else:  # refused for its missing CSRF token or its missing sign-in: nothing changes
        assert response.status_code in (303, 403), (response.status_code, response.text[:300])


def test_the_owner_reaches_every_page_the_stranger_cannot(world: World) -> None:
    """The IDs are right: what the stranger got as 404, the owner gets."""
    world.client.app.state.sign_in_throttle = SignInThrottle()  # type: ignore[attr-defined]
    for route in GUARDED:
        if route.method != "GET" or not route.params:
            continue
        url = url_of(route, world.owner)
        if route.api:
            response = world.client.get(url, auth=world.owner_auth)
        else:
            continue  # the owner has no UI session in this module; the API covers the IDs
        assert response.status_code == 200, (route.path, response.status_code, response.text)
