"""Schemathesis against the in-process app: no generated request may cause a 5xx.

Every request carries a real account's Basic auth, and about half of them point the path
at that account's real application, deployment, call or batch, so that generated bodies
and query strings reach the handlers rather than stopping at 401 or 404.

Schemathesis's pytest integration (``schema.parametrize``) needs the schema at collection
time or, lazily, a ``request.node._nodeid`` that pytest 9 no longer has; so this drives
its Python API directly: one Hypothesis run per operation and generation mode.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi

from outdial.app import create_app
from outdial.config import Settings
from outdial.store.store import Store

MAX_EXAMPLES = 100  # per operation and mode
OPERATIONS = [
    ("POST", "/api/apps/{application_id}/{deployment_id}/queue"),
    ("POST", "/api/apps/{application_id}/{deployment_id}/bulk_queue"),
    ("DELETE", "/api/apps/{application_id}/{deployment_id}/cancel"),
    ("GET", "/api/apps/{application_id}/{deployment_id}/calls"),
    ("GET", "/api/outbound/{call_id}"),
    ("DELETE", "/api/outbound/{call_id}"),
    ("GET", "/api/outbound/{call_id}/callbacks"),
    ("GET", "/api/batches/{batch_id}"),
    ("GET", "/healthz"),
    ("PUT", "/api/apps/{application_id}/flow"),
    ("GET", "/api/apps/{application_id}/flow"),
    ("GET", "/api/apps/{application_id}/flow/versions"),
    ("GET", "/api/apps/{application_id}/flow/versions/{version}"),
    ("GET", "/api/flow/schema"),
    ("POST", "/api/flow/check"),
    ("GET", "/api/outbound/{call_id}/recordings/{recording_id}"),
    ("PUT", "/api/apps/{application_id}/audio/{name}"),
    ("GET", "/api/apps/{application_id}/audio"),
]


@dataclass(frozen=True)
class Target:
    schema: Any
    authorization: dict[str, str]
    real: dict[str, Any]  # path parameter values that name this account's objects


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'outdial.db'}"
    store = Store.open(url)
    try:
        email = "fuzz@example.com"
        _, key = store.create_account(email)
        application = store.create_application(email, "Fuzzed")
        deployment = store.create_deployment(application.id)
        flow = '{"flow": 1, "start": "bye", "steps": {"bye": {"type": "hangup"}}}'
        version = store.save_flow(application.id, flow, "json", email)
        settings_ = Settings(
            database_url=url, ingest_workers=0, queue_rate=1_000_000.0, queue_burst=1_000_000
        )
        app = create_app(settings_, store=store)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        token = base64.b64encode(f"{email}:{key}".encode()).decode()
        authorization = {"Authorization": f"Basic {token}"}
        # schemathesis types ASGI messages as dict, Starlette as MutableMapping: the same app.
        with asgi.get_client(cast(asgi.ASGIApp, app)) as client:
            base = f"/api/apps/{application.id}/{deployment.id}"
            call = client.post(
                base + "/queue", json={"phone_number": "+16175551234"}, headers=authorization
            )
            batch = client.post(
                base + "/bulk_queue",
                json=[{"phone_number": "+16175551235"}],
                headers=authorization,
            )
        real = {
            "application_id": application.id,
            "deployment_id": deployment.id,
            "call_id": call.json()["call_id"],
            "batch_id": batch.json()["batch_id"],
            "version": version.version,
        }
        yield Target(schema, authorization, real)
    finally:
        asgi.shutdown_lifespans()  # the app's lifespan, which schemathesis started
        store.close()


def test_every_operation_is_fuzzed(target: Target) -> None:
    listed = {
        (result.ok().method.upper(), result.ok().path)
        for result in target.schema.get_all_operations()
    }

    assert listed == set(OPERATIONS)


# These take no input, so there is nothing invalid to generate for them.
NO_INPUT = ("/healthz", "/api/flow/schema")
FUZZ_CASES = [
    pytest.param(method, path, mode, id=f"{mode.value}-{method} {path}")
    for method, path in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if not (path in NO_INPUT and mode is GenerationMode.NEGATIVE)
]


@pytest.mark.parametrize(("method", "path", "mode"), FUZZ_CASES)
def test_no_generated_request_causes_a_server_error(
    target: Target, method: str, path: str, mode: GenerationMode
) -> None:
    operation = target.schema[path][method]
    aimed = {
        parameter.name: target.real[parameter.name]
        for parameter in operation.path_parameters
        if parameter.name in target.real
    }
    cases = operation.as_strategy(generation_mode=mode)
    if aimed:
        cases = st.one_of(cases, operation.as_strategy(generation_mode=mode, path_parameters=aimed))

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        # No shrinking: a failure is reported as generated, with its curl command, so that a
        # failing run stays as short as a passing one.
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=cases)
    def run(case: Any) -> None:
        response = case.call(headers=target.authorization)
        case.validate_response(response, checks=[not_a_server_error])
        content_type = response.headers.get("content-type", [""])[0]
        if response.status_code >= 400 and content_type.startswith("application/json"):
            body = json.loads(response.content)
            # {"error": ...}, and for a flow that does not validate, its list of problems
            assert isinstance(body, dict) and set(body) - {"problems"} == {"error"}, (
                case.as_curl_command(),
                body,
            )

    run()


# --- bodies schemathesis would not think of: deep nesting and extreme values ---------------------

EXTREMES = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 2**31, 2**63, 7_258_118_400, 7_258_118_401, 253_402_300_799]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1e400", "-0"]),
    st.text(max_size=300),
)


def nested(levels: int, leaf: Any) -> Any:
    for level in range(levels):
        leaf = [leaf] if level % 2 else {"a": leaf}
    return leaf


@st.composite
def hostile_call(draw: st.DrawFn) -> dict[str, Any]:
    """A call object whose fields hold extreme values or values nested up to 300 levels."""
    fields = [
        "phone_number",
        "start_timestamp",
        "end_timestamp",
        "max_attempts",
        "reattempt_wait",
        "call_parameters",
        "message_reference",
        "result_url",
    ]
    call: dict[str, Any] = {"phone_number": "+16175551234"}
    for name in draw(st.lists(st.sampled_from(fields), min_size=1, max_size=4, unique=True)):
        value: Any = draw(EXTREMES)
        if draw(st.booleans()):
            value = nested(draw(st.integers(min_value=1, max_value=300)), value)
        if name == "call_parameters" and draw(st.booleans()):
            value = {"p": value}
        call[name] = value
    return call


BODIES = {
    "/api/apps/{application_id}/{deployment_id}/queue": hostile_call(),
    "/api/apps/{application_id}/{deployment_id}/bulk_queue": st.one_of(
        st.lists(hostile_call(), min_size=1, max_size=5),
        st.builds(
            lambda calls, when: {"calls": calls, "start_timestamp": when},
            st.lists(hostile_call(), min_size=1, max_size=3),
            EXTREMES,
        ),
    ),
}


@pytest.mark.parametrize("path", sorted(BODIES))
def test_deep_and_extreme_bodies_cause_no_server_error(target: Target, path: str) -> None:
    operation = target.schema[path]["POST"]
    aimed = {p.name: target.real[p.name] for p in operation.path_parameters}

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(body=BODIES[path])
    def run(body: Any) -> None:
        case = operation.Case(path_parameters=aimed, body=body, media_type="application/json")
        response = case.call(headers=target.authorization)
        case.validate_response(response, checks=[not_a_server_error])
        assert response.status_code in (200, 400), (response.status_code, case.as_curl_command())

    run()
