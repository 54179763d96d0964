"""The web UI's pages (SPEC §8): sign-in, deployments, the Outbound Queue, a call's detail."""

from __future__ import annotations

import time
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Form, Path, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from outdial.accounts import Deployment
from outdial.api.routes import MAX_ID, client_address, services
from outdial.api.throttle import SignInThrottle
from outdial.calls import FINAL_STATUSES, Call, CalleeType
from outdial.errors import Forbidden, NotFound
from outdial.store.newcalls import CallQuery
from outdial.store.sessions import MIN_PASSWORD
from outdial.web import applications, calls, display
from outdial.web.export import export_rows
from outdial.web.filters import PER_PAGE, Filters
from outdial.web.pages import (
    UI,
    Operator,
    PageNotFound,
    check_csrf,
    deployment_of,
    finish,
    is_htmx,
    operator,
    queue_url,
    redirect,
    render,
    safe_next,
    session_of,
    sign_in_throttle,
)
from outdial.web.session import SESSION_LIFETIME, sign_in, sign_out

PENDING_PER_PAGE = 25  # rows per page of the pending table
CHART_HOURS = 24  # hours the calls-per-hour chart covers

router = APIRouter(include_in_schema=False)
router.include_router(applications.router)
router.include_router(calls.router)
OperatorDep = Annotated[Operator, Depends(operator)]
AppId = Annotated[int, Path(ge=1, le=MAX_ID)]
DepId = Annotated[int, Path(ge=1, le=MAX_ID)]
QUEUE_PATH = UI + "/deployments/{application_id}/{deployment_id}"


# -- signing in ---------------------------------------------------------------------------


@router.get("/")
async def root() -> Response:
    return RedirectResponse(UI + "/", status_code=303)


@router.get(UI + "/")
async def home(request: Request) -> Response:
    target = UI + "/deployments" if session_of(request).email else UI + "/login"
    return finish(request, RedirectResponse(target, status_code=303))


@router.get(UI + "/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    return render(
        request,
        "login.html",
        {"next": safe_next(next), "zones": display.time_zones(), "errors": {}, "email": ""},
    )


@router.post(UI + "/login")
async def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    time_zone: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    await check_csrf(request, csrf_token)
    errors: dict[str, str] = {}
    if not email.strip():
        errors["email"] = "Enter the e-mail address of your account."
    if not password:
        errors["password"] = "Enter your password."
    account = None
    status = 400
    if not errors:
        store = services(request).store
        throttle, address = sign_in_throttle(request), client_address(request)
        # The same for every e-mail, known or not: a 429 or its timing names no account.
        wait = throttle.wait(email, address)
        if wait:
            seconds = SignInThrottle.retry_after(wait)
            errors["password"] = f"Too many sign-in attempts: wait {seconds} s and try again."
            status = 429
        else:
            account = await to_thread.run_sync(store.check_password, email, password)
            if account is None:
                throttle.failed(email, address)
                errors["password"] = "The e-mail address or the password is wrong."
            else:
                throttle.succeeded(email, address)
    if account is None:
        context = {
            "next": safe_next(next),
            "zones": display.time_zones(),
            "errors": errors,
            "email": email,
            "chosen_zone": time_zone,
        }
        return render(request, "login.html", context, status=status)
    session = session_of(request)
    token = await to_thread.run_sync(store.start_session, account, SESSION_LIFETIME)
    sign_in(session, account.email, time.time(), token)
    session.time_zone = display.valid_zone(time_zone)
    return redirect(request, safe_next(next))


@router.post(UI + "/logout")
async def logout(request: Request) -> Response:
    await check_csrf(request)
    session = session_of(request)
    if session.token:
        await to_thread.run_sync(services(request).store.end_session, session.token)
    sign_out(session)
    return redirect(request, UI + "/login?signed_out=1")


@router.get(UI + "/account")
async def account_page(request: Request, who: OperatorDep) -> Response:
    return render(request, "account.html", {"errors": {}})


@router.post(UI + "/account/password")
async def change_password(
    request: Request,
    who: OperatorDep,
    current: Annotated[str, Form(max_length=1024)] = "",
    new: Annotated[str, Form(max_length=1024)] = "",
    again: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """A new password ends every sign-in of the account, this one included."""
    await check_csrf(request, csrf_token)
    store = services(request).store
    errors: dict[str, str] = {}
    if not await to_thread.run_sync(store.check_password, who.account.email, current):
        errors["current"] = "That is not your current password."
    elif len(new) < MIN_PASSWORD:
        errors["new"] = f"Choose a password of at least {MIN_PASSWORD} characters."
    elif new != again:
        errors["again"] = "The two new passwords differ."
    if errors:
        return render(request, "account.html", {"errors": errors}, status=400)
    await to_thread.run_sync(store.set_password, who.account.email, new)
    sign_out(who.session)
    return redirect(request, UI + "/login?password_changed=1")


@router.post(UI + "/account/sign-out-everywhere")
async def sign_out_everywhere(request: Request, who: OperatorDep) -> Response:
    await check_csrf(request)
    await to_thread.run_sync(services(request).store.end_sessions, who.account)
    sign_out(who.session)
    return redirect(request, UI + "/login?signed_out=everywhere")


@router.get(UI + "/time-zone")
async def time_zone_page(request: Request, who: OperatorDep) -> Response:
    return render(request, "time_zone.html", {"zones": display.time_zones()})


@router.post(UI + "/time-zone")
async def set_time_zone(
    request: Request,
    who: OperatorDep,
    time_zone: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    await check_csrf(request, csrf_token)
    who.session.time_zone = display.valid_zone(time_zone)
    who.session.changed = True
    return redirect(request, UI + "/deployments")


# -- deployments --------------------------------------------------------------------------


@router.get(UI + "/deployments")
async def deployments_page(request: Request, who: OperatorDep) -> Response:
    store = services(request).store
    found = await to_thread.run_sync(store.deployments_of, who.account)
    counts = await to_thread.run_sync(store.queue_counts, [d.id for d in found])
    flows = {}
    for app_id in {d.application_id for d in found}:
        flows[app_id] = await to_thread.run_sync(store.current_flow, app_id)
    rows = [(d, counts[d.id], flows[d.application_id]) for d in found]
    return render(request, "deployments.html", {"rows": rows, "title": "Deployments"})


# -- the Outbound Queue page --------------------------------------------------------------


def _pages(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


async def _completed_context(
    request: Request, who: Operator, deployment: Deployment
) -> dict[str, Any]:
    filters = Filters.read(request.query_params)
    query = filters.query(who.zone)
    calls: list[Call] = []
    total = 0
    if not filters.errors:
        store = services(request).store
        calls, total = await to_thread.run_sync(store.list_calls, deployment, query)
    return {
        "filters": filters,
        "completed": calls,
        "completed_total": total,
        "completed_pages": _pages(total, PER_PAGE),
        "final_statuses": sorted(s.value for s in FINAL_STATUSES),
        "callee_types": [t.value for t in CalleeType],
    }


async def _pending_context(
    request: Request, deployment: Deployment, page: int = 1
) -> dict[str, Any]:
    store = services(request).store
    query = CallQuery(group="pending", page=page, per_page=PENDING_PER_PAGE)
    calls, total = await to_thread.run_sync(store.list_calls, deployment, query)
    return {
        "pending": calls,
        "pending_total": total,
        "pending_page": page,
        "pending_pages": _pages(total, PENDING_PER_PAGE),
    }


async def _summary_context(request: Request, deployment: Deployment) -> dict[str, Any]:
    store = services(request).store
    counts = (await to_thread.run_sync(store.queue_counts, [deployment.id]))[deployment.id]
    outcomes = await to_thread.run_sync(store.outcomes_by_callee_type, deployment)
    now = time.time()
    hours = await to_thread.run_sync(
        store.calls_per_hour, deployment, now - (CHART_HOURS - 1) * 3600, now
    )
    return {"counts": counts, "outcomes": outcomes, "hours": hours}


def _page_number(request: Request, name: str) -> int:
    try:
        return max(1, min(int(request.query_params.get(name) or 1), 1_000_000))
    except ValueError:
        return 1


@router.get(QUEUE_PATH)
async def queue_page(
    request: Request, application_id: AppId, deployment_id: DepId, who: OperatorDep
) -> Response:
    deployment = await deployment_of(request, who, application_id, deployment_id)
    store = services(request).store
    context: dict[str, Any] = {
        "deployment": deployment,
        "queue_url": queue_url(deployment),
        "application_url": applications.application_url(deployment.application_id),
        "flow": await to_thread.run_sync(store.current_flow, deployment.application_id),
        "api_base": str(request.base_url).rstrip("/"),
        "title": f"Outbound Queue: {deployment.application_name}",
        "upload": {"errors": {}, "values": {"max_attempts": "1"}},
    }
    context.update(await _summary_context(request, deployment))
    context.update(await _pending_context(request, deployment, _page_number(request, "pending")))
    context.update(await _completed_context(request, who, deployment))
    status = 400 if context["filters"].errors else 200
    return render(request, "queue.html", context, status=status)


@router.get(QUEUE_PATH + "/pending")
async def pending_fragment(
    request: Request, application_id: AppId, deployment_id: DepId, who: OperatorDep
) -> Response:
    """The live part of the page: summary figures, pending table and charts (polled)."""
    deployment = await deployment_of(request, who, application_id, deployment_id)
    context: dict[str, Any] = {"deployment": deployment, "queue_url": queue_url(deployment)}
    context.update(await _pending_context(request, deployment, _page_number(request, "pending")))
    context.update(await _summary_context(request, deployment))
    return render(request, "_live.html", context)


@router.get(QUEUE_PATH + "/completed")
async def completed_fragment(
    request: Request, application_id: AppId, deployment_id: DepId, who: OperatorDep
) -> Response:
    deployment = await deployment_of(request, who, application_id, deployment_id)
    context: dict[str, Any] = {"deployment": deployment, "queue_url": queue_url(deployment)}
    context.update(await _completed_context(request, who, deployment))
    return render(request, "_completed.html", context)


@router.post(QUEUE_PATH + "/calls/{call_id}/cancel")
async def cancel_one(
    request: Request,
    application_id: AppId,
    deployment_id: DepId,
    call_id: Annotated[str, Path(max_length=64)],
    who: OperatorDep,
) -> Response:
    await check_csrf(request)
    deployment = await deployment_of(request, who, application_id, deployment_id)
    store = services(request).store
    try:
        call = await to_thread.run_sync(store.get_call, who.account, call_id)
    except (NotFound, Forbidden):
        raise PageNotFound() from None
    if call.deployment_id != deployment.id:
        raise PageNotFound()
    await to_thread.run_sync(store.cancel_call, who.account, call_id)
    if is_htmx(request):
        context: dict[str, Any] = {
            "deployment": deployment,
            "queue_url": queue_url(deployment),
            "notice": f"Call to {call.phone_number} cancelled.",
        }
        context.update(await _pending_context(request, deployment))
        context.update(await _summary_context(request, deployment))
        return render(request, "_live.html", context)
    return redirect(request, queue_url(deployment) + "?cancelled_one=1")


@router.get(QUEUE_PATH + "/cancel-all")
async def cancel_all_page(
    request: Request, application_id: AppId, deployment_id: DepId, who: OperatorDep
) -> Response:
    """Cancelling every pending call cannot be undone: ask first, on a page of its own."""
    deployment = await deployment_of(request, who, application_id, deployment_id)
    store = services(request).store
    counts = (await to_thread.run_sync(store.queue_counts, [deployment.id]))[deployment.id]
    context = {
        "deployment": deployment,
        "queue_url": queue_url(deployment),
        "counts": counts,
        "title": "Cancel all pending calls?",
    }
    return render(request, "cancel_all.html", context)


@router.post(QUEUE_PATH + "/cancel-all")
async def cancel_all(
    request: Request,
    application_id: AppId,
    deployment_id: DepId,
    who: OperatorDep,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    await check_csrf(request, csrf_token)
    deployment = await deployment_of(request, who, application_id, deployment_id)
    changed = await to_thread.run_sync(services(request).store.cancel_deployment, deployment)
    return redirect(request, queue_url(deployment) + f"?cancelled={changed}")


# -- export -------------------------------------------------------------------------------


@router.get(QUEUE_PATH + "/export.csv")
async def export_csv(
    request: Request, application_id: AppId, deployment_id: DepId, who: OperatorDep
) -> Response:
    """The completed calls the filters select, every page of them, as CSV."""
    deployment = await deployment_of(request, who, application_id, deployment_id)
    filters = Filters.read(request.query_params)
    query = filters.query(who.zone)
    if filters.errors:
        return redirect(request, f"{queue_url(deployment)}?{filters.params()}")
    store = services(request).store
    rows = export_rows(store.iter_calls(deployment, query), who.zone)
    name = f"outdial-{deployment.application_id}-{deployment.id}-completed.csv"
    response = StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    return finish(request, response)
