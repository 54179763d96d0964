"""The Plum-compatible outbound API (SPEC §4)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from io import BytesIO
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from prometheus_client import CollectorRegistry
from starlette.datastructures import UploadFile
from starlette.responses import Response

from outdial.accounts import Account, Deployment
from outdial.api import schemas
from outdial.api.body import (
    FORM_TYPES,
    form_fields,
    media_type,
    read_fields,
    read_form,
    read_json,
)
from outdial.api.ratelimit import RateLimiter
from outdial.api.render import render
from outdial.api.throttle import SignInThrottle
from outdial.calls import CalleeType, CallStatus
from outdial.config import Settings
from outdial.errors import (
    BadRequest,
    BearerUnauthorized,
    InvalidField,
    NotFound,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from outdial.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from outdial.metrics import render as render_metrics
from outdial.options import MAX_MESSAGE_REFERENCE, parse_timestamp
from outdial.queueing import QueueService
from outdial.store.store import BatchReport, CallQuery, Store

MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 100


@dataclass(frozen=True, slots=True)
class Services:
    """What the routes need, owned by the app's lifespan."""

    settings: Settings
    store: Store
    queue: QueueService
    limiter: RateLimiter
    metrics: CollectorRegistry


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def client_address(request: Request) -> str:
    """The caller's address (behind a proxy, the one it forwards, if uvicorn trusts it)."""
    return request.client.host if request.client is not None else "unknown"


basic = HTTPBasic(auto_error=False, realm="outdial", description="Account e-mail and developer key")


async def current_account(
    request: Request,
    credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)],
) -> Account:
    if credentials is None:
        raise Unauthorized()
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    address = client_address(request)
    wait = throttle.wait(credentials.username, address)
    if wait:  # the same for every e-mail, known or not
        seconds = SignInThrottle.retry_after(wait)
        raise TooManyRequests(
            f"too many failed sign-ins from this address: wait {seconds} s", retry_after=seconds
        )
    store = services(request).store
    account = await to_thread.run_sync(
        store.authenticate, credentials.username, credentials.password
    )
    if account is None:
        throttle.failed(credentials.username, address)
        raise Unauthorized("bad credentials: the e-mail or developer key is wrong")
    throttle.succeeded(credentials.username, address)
    return account


AccountDep = Annotated[Account, Depends(current_account)]
MAX_ID = 2**63 - 1  # the largest database key
AppId = Annotated[int, Path(ge=1, le=MAX_ID, description="application ID")]
DepId = Annotated[int, Path(ge=1, le=MAX_ID, description="deployment ID")]
router = APIRouter()
DEPLOYMENT_PATH = "/api/apps/{application_id}/{deployment_id}"


async def _deployment(
    request: Request, account: Account, application_id: int, deployment_id: int
) -> Deployment:
    store = services(request).store
    return await to_thread.run_sync(store.deployment_for, account, application_id, deployment_id)


@router.post(
    DEPLOYMENT_PATH + "/queue",
    summary="Queue one call",
    response_model=schemas.QueueResponse,
    responses=schemas.ERROR_RESPONSES,
    openapi_extra=schemas.body_schema(schemas.QueueRequest, ("application/json", *FORM_TYPES)),
)
async def queue_call(
    request: Request, application_id: AppId, deployment_id: DepId, account: AccountDep
) -> Response:
    svc = services(request)
    wait = svc.limiter.acquire(account.id)
    if wait:
        raise TooManyRequests(
            "too many single-call requests: queue many calls at once with "
            f"POST /api/apps/{application_id}/{deployment_id}/bulk_queue",
            retry_after=RateLimiter.retry_after(wait),
        )
    deployment = await _deployment(request, account, application_id, deployment_id)
    fields = await read_fields(request)
    call_id = await to_thread.run_sync(svc.queue.queue_one, deployment, fields)
    return render(request, {"call_id": call_id}, headers={"Link": f"</api/outbound/{call_id}>"})


@router.post(
    DEPLOYMENT_PATH + "/bulk_queue",
    summary="Queue many calls: a CSV file in field 'csv' (multipart) or a JSON list",
    response_model=schemas.BulkResponse,
    responses=schemas.ERROR_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": schemas.body_schema(
                    schemas.BulkCsvRequest, ("multipart/form-data",)
                )["requestBody"]["content"]["multipart/form-data"],
                "application/json": schemas.body_schema(
                    schemas.BulkJsonRequest, ("application/json",)
                )["requestBody"]["content"]["application/json"],
            },
        }
    },
)
async def bulk_queue(
    request: Request, application_id: AppId, deployment_id: DepId, account: AccountDep
) -> Response:
    svc = services(request)
    deployment = await _deployment(request, account, application_id, deployment_id)
    kind = media_type(request)
    report: BatchReport
    if kind == "application/json":
        body = await read_json(request)
        report = await to_thread.run_sync(svc.queue.queue_items, deployment, body)
    elif kind in FORM_TYPES:
        form = await read_form(request)
        try:
            fields = form_fields(form, files=tuple(form.keys()))  # files: checked below
            upload = fields.pop("csv", None)
            misplaced = [k for k, v in fields.items() if isinstance(v, UploadFile)]
            if misplaced:
                raise InvalidField("csv", f"send the file in field 'csv', not {misplaced[0]!r}")
            if upload is None:
                raise InvalidField("csv", "is required: attach the CSV file in field 'csv'")
            if isinstance(upload, UploadFile):
                stream: Any = upload.file
                filename = upload.filename
            else:
                stream, filename = BytesIO(str(upload).encode()), None
            report = await to_thread.run_sync(
                svc.queue.queue_csv, deployment, fields, stream, filename
            )
        finally:
            await form.close()
    else:
        raise UnsupportedMediaType(
            f"Content-Type {kind!r} is not accepted here: send the CSV as multipart/form-data "
            "(field 'csv') or a JSON list"
        )
    return render(request, _batch_body(report))


def _batch_body(report: BatchReport) -> dict[str, Any]:
    return {
        "batch_id": report.batch_id,
        "total_rows": report.total_rows,
        "accepted": report.accepted,
        "rejected": report.rejected,
        "call_ids": list(report.call_ids),
        "errors": [{"row": r.row, "value": r.value, "reason": r.reason} for r in report.rejects],
    }


@router.get(
    "/api/batches/{batch_id}",
    summary="A bulk request's outcome: accepted call_ids and rejected rows",
    response_model=schemas.BulkResponse,
    responses=schemas.ERROR_RESPONSES,
)
async def get_batch(request: Request, batch_id: str, account: AccountDep) -> Response:
    store = services(request).store
    report = await to_thread.run_sync(store.batch_report, account, batch_id)
    return render(request, _batch_body(report))


@router.delete(
    DEPLOYMENT_PATH + "/cancel",
    status_code=202,
    summary="Cancel every pending call of the deployment",
    responses=schemas.ERROR_RESPONSES,
)
async def cancel_all(
    request: Request, application_id: AppId, deployment_id: DepId, account: AccountDep
) -> Response:
    deployment = await _deployment(request, account, application_id, deployment_id)
    await to_thread.run_sync(services(request).store.cancel_deployment, deployment)
    return Response(status_code=202)


@router.get(
    "/api/outbound/{call_id}",
    summary="A call's state",
    response_model=schemas.CallStatusResponse,
    responses=schemas.ERROR_RESPONSES,
)
async def get_call(request: Request, call_id: str, account: AccountDep) -> Response:
    call = await to_thread.run_sync(services(request).store.get_call, account, call_id)
    return render(request, {"call_details": call.details()})


@router.get(
    "/api/outbound/{call_id}/callbacks",
    summary="A call's result callbacks and every try, with response codes",
    responses=schemas.ERROR_RESPONSES,
)
async def call_callbacks(request: Request, call_id: str, account: AccountDep) -> Response:
    store = services(request).store
    found = await to_thread.run_sync(store.deliveries_for_call, account, call_id)
    return render(request, {"callbacks": [delivery.details() for delivery in found]})


@router.delete(
    "/api/outbound/{call_id}",
    status_code=202,
    summary="Cancel one call",
    responses=schemas.ERROR_RESPONSES,
)
async def cancel_call(request: Request, call_id: str, account: AccountDep) -> Response:
    await to_thread.run_sync(services(request).store.cancel_call, account, call_id)
    return Response(status_code=202)


def _enum_list(
    name: str, value: str | None, kind: type[CallStatus] | type[CalleeType]
) -> tuple[Any, ...]:
    if not value:
        return ()
    items = []
    for part in value.split(","):
        try:
            items.append(kind(part.strip()))
        except ValueError:
            allowed = ", ".join(k.value for k in kind)
            raise InvalidField(name, f"{part.strip()!r} is not one of {allowed}") from None
    return tuple(items)


@router.get(
    DEPLOYMENT_PATH + "/calls",
    summary="List the deployment's calls, filtered and paged",
    response_model=schemas.CallList,
    responses=schemas.ERROR_RESPONSES,
)
async def list_calls(
    request: Request,
    application_id: AppId,
    deployment_id: DepId,
    account: AccountDep,
    group: Annotated[
        str | None, Query(pattern="^(pending|completed)$", description="pending or completed")
    ] = None,
    status: Annotated[
        str | None, Query(max_length=200, description="comma-separated statuses")
    ] = None,
    callee_type: Annotated[
        str | None, Query(max_length=200, description="comma-separated callee types")
    ] = None,
    phone_number: Annotated[
        str | None, Query(max_length=32, description="digits the number contains")
    ] = None,
    message_reference: Annotated[str | None, Query(max_length=MAX_MESSAGE_REFERENCE)] = None,
    since: Annotated[
        str | None, Query(description="queued at or after (Unix seconds or ISO 8601)")
    ] = None,
    until: Annotated[
        str | None, Query(description="queued before (Unix seconds or ISO 8601)")
    ] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = DEFAULT_PER_PAGE,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
) -> Response:
    digits = None
    if phone_number:
        digits = "".join(c for c in phone_number if c.isdigit())
        if not digits:
            raise InvalidField("phone_number", f"{phone_number!r} has no digits to search for")
    query = CallQuery(
        group=group,
        statuses=_enum_list("status", status, CallStatus),
        callee_types=_enum_list("callee_type", callee_type, CalleeType),
        phone_number=digits,
        message_reference=message_reference,
        since=parse_timestamp("since", since) if since else None,
        until=parse_timestamp("until", until) if until else None,
        page=page,
        per_page=per_page,
        newest_first=order == "desc",
    )
    deployment = await _deployment(request, account, application_id, deployment_id)
    found, total = await to_thread.run_sync(services(request).store.list_calls, deployment, query)
    return render(
        request,
        {
            "calls": [call.details(with_events=False) for call in found],
            "page": page,
            "per_page": per_page,
            "total": total,
        },
    )


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Every tenant's counts: only for the scraper holding ``--metrics-token``."""
    token = services(request).settings.metrics_token
    if not token:
        raise NotFound("metrics are off: start outdial with --metrics-token and scrape with it")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        raise BearerUnauthorized("send the metrics token as 'Authorization: Bearer <token>'")
    registry = services(request).metrics
    body = await to_thread.run_sync(render_metrics, registry)
    return Response(body, media_type=METRICS_CONTENT_TYPE)


@router.get("/healthz", summary="Liveness and database check", include_in_schema=True)
async def healthz(request: Request) -> Response:
    store = services(request).store
    try:
        await to_thread.run_sync(store.ping)
    except Exception as error:  # the check reports any database failure
        return render(request, {"status": "error", "database": str(error)[:200]}, 503)
    return render(request, {"status": "ok"})


__all__ = ["BadRequest", "Services", "router"]
