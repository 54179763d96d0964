"""The application pages: each application's flow, its versions, and restoring an old one."""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Form, Path, Request
from starlette.responses import Response

from outdial.accounts import Application, Deployment
from outdial.api.routes import MAX_ID, services
from outdial.errors import Conflict, Forbidden, NotFound
from outdial.flow.validate import check, errors_of
from outdial.store.flowstore import FlowVersion
from outdial.web.pages import UI, Operator, PageNotFound, check_csrf, operator, redirect, render

router = APIRouter(include_in_schema=False)
OperatorDep = Annotated[Operator, Depends(operator)]
AppId = Annotated[int, Path(ge=1, le=MAX_ID)]
Version = Annotated[int, Path(ge=1, le=MAX_ID)]
APP_PATH = UI + "/applications/{app_id}"


def application_url(application_id: int) -> str:
    return f"{UI}/applications/{application_id}"


def version_url(application_id: int, version: int) -> str:
    return f"{application_url(application_id)}/versions/{version}"


async def application_of(request: Request, who: Operator, app_id: int) -> Application:
    """The operator's application; another account's, a deleted or a missing one is a 404."""
    store = services(request).store
    try:
        return await to_thread.run_sync(store.application_of, who.account, app_id)
    except (NotFound, Forbidden, Conflict):
        raise PageNotFound() from None


async def _deployments_by_app(request: Request, who: Operator) -> dict[int, list[Deployment]]:
    found = await to_thread.run_sync(services(request).store.deployments_of, who.account)
    by_app: dict[int, list[Deployment]] = {}
    for deployment in found:
        by_app.setdefault(deployment.application_id, []).append(deployment)
    return by_app


@router.get(UI + "/applications")
async def applications_page(request: Request, who: OperatorDep) -> Response:
    store = services(request).store
    apps = await to_thread.run_sync(store.applications_of, who.account)
    by_app = await _deployments_by_app(request, who)
    rows = []
    for app in apps:
        current = await to_thread.run_sync(store.current_flow, app.id)
        rows.append((app, current, by_app.get(app.id, [])))
    return render(request, "applications.html", {"rows": rows, "title": "Applications"})


@router.get(APP_PATH)
async def application_page(request: Request, app_id: AppId, who: OperatorDep) -> Response:
    app = await application_of(request, who, app_id)
    store = services(request).store
    versions = await to_thread.run_sync(store.flow_versions, app.id)
    by_app = await _deployments_by_app(request, who)
    context = {
        "app": app,
        "current": versions[0] if versions else None,
        "versions": versions,
        "deployments": by_app.get(app.id, []),
        "title": f"Application: {app.name}",
        "restored": _restored(request, versions),
    }
    return render(request, "application.html", context)


def _restored(request: Request, versions: list[FlowVersion]) -> tuple[int, int] | None:
    """(old, new) after a restore redirected here, when both versions exist."""
    try:
        old, new = int(request.query_params["restored"]), int(request.query_params["as"])
    except (KeyError, ValueError):
        return None
    known = {v.version for v in versions}
    return (old, new) if old in known and new in known else None


async def _version_of(request: Request, app: Application, version: int) -> FlowVersion:
    try:
        return await to_thread.run_sync(services(request).store.flow_version, app.id, version)
    except NotFound:
        raise PageNotFound() from None


def _changes(old: FlowVersion, new: FlowVersion) -> list[tuple[str, str]]:
    """The lines from ``old`` to ``new`` as (kind, text): kind is add, remove, hunk or same."""
    lines = difflib.unified_diff(
        old.source.splitlines(),
        new.source.splitlines(),
        f"version {old.version}",
        f"version {new.version}",
        lineterm="",
    )
    kinds = {"+": "add", "-": "remove", "@": "hunk"}
    return [
        (kinds.get(line[:1], "same"), line) for line in lines if not line.startswith(("---", "+++"))
    ]


@router.get(APP_PATH + "/versions/{version}")
async def version_page(
    request: Request, app_id: AppId, version: Version, who: OperatorDep
) -> Response:
    app = await application_of(request, who, app_id)
    shown = await _version_of(request, app, version)
    current = await to_thread.run_sync(services(request).store.current_flow, app.id)
    assert current is not None  # a version exists, so a current one does
    context: dict[str, Any] = {
        "app": app,
        "shown": shown,
        "current": current,
        "changes": [] if current.version == shown.version else _changes(shown, current),
        "title": f"{app.name}: flow version {shown.version}",
        "problems": [],
    }
    return render(request, "flow_version.html", context)


@router.post(APP_PATH + "/versions/{version}/restore")
async def restore_version(
    request: Request,
    app_id: AppId,
    version: Version,
    who: OperatorDep,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Save an old version's source as the newest version, with the operator as its author."""
    await check_csrf(request, csrf_token)
    app = await application_of(request, who, app_id)
    shown = await _version_of(request, app, version)
    store = services(request).store
    current = await to_thread.run_sync(store.current_flow, app.id)
    if current is not None and current.version == shown.version:
        return redirect(request, application_url(app.id))
    # The rules may have grown stricter since it was saved: a flow that no longer validates
    # would fail on every answered call, so it is refused here as the API would refuse it.
    problems = errors_of(await to_thread.run_sync(check, shown.source))
    if problems:
        context: dict[str, Any] = {
            "app": app,
            "shown": shown,
            "current": current,
            "changes": [],
            "title": f"{app.name}: flow version {shown.version}",
            "problems": problems,
        }
        return render(request, "flow_version.html", context, status=422)
    try:
        saved = await to_thread.run_sync(
            store.save_flow, app.id, shown.source, shown.format, who.account.email
        )
    except (NotFound, Conflict):
        raise PageNotFound() from None
    return redirect(
        request, f"{application_url(app.id)}?restored={shown.version}&as={saved.version}"
    )
