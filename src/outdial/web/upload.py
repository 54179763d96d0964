"""The Queue Calls dialog: preview an upload, then queue it, through the API's own pipeline.

Both steps validate with ``QueueService`` exactly as ``bulk_queue`` does, so an upload gets
the same accepted rows and the same rejections with the same reasons whichever way it came.
"""

from __future__ import annotations

from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Path, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from outdial.accounts import Deployment
from outdial.api.body import read_form
from outdial.api.routes import MAX_ID, services
from outdial.errors import InvalidField, OutdialError
from outdial.store.store import BatchReport
from outdial.web import display
from outdial.web.pages import (
    Operator,
    check_csrf,
    deployment_of,
    field_errors,
    operator,
    queue_url,
    render,
)
from outdial.web.routes import QUEUE_PATH
from outdial.web.session import CSRF_FIELD

UPLOAD_FIELDS = (
    "csv",
    "max_attempts",
    "reattempt_wait",
    "start_timestamp",
    "end_timestamp",
    "result_url",
)
TEXT_FIELDS = UPLOAD_FIELDS[1:]
SHOWN_REJECTS = 500  # rejected rows listed on the page; the rest are counted
INVALID = 422  # the form is shown again with the errors next to their fields
WHOLE_FORM = {"HX-Retarget": "#upload-area"}  # htmx: replace the form, not just the results
QUEUED = {"HX-Trigger": "queued"}  # htmx: an event the page's live parts listen for

router = APIRouter(include_in_schema=False)
OperatorDep = Annotated[Operator, Depends(operator)]
AppId = Annotated[int, Path(ge=1, le=MAX_ID)]
DepId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _options(form: FormData, zone: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's shared options as ``bulk_queue`` fields; the call range read in ``zone``."""
    values = {name: str(form.get(name) or "").strip() for name in TEXT_FIELDS}
    options: dict[str, Any] = {}
    for name in ("max_attempts", "reattempt_wait", "result_url"):
        if values[name]:
            options[name] = values[name]
    for name in ("start_timestamp", "end_timestamp"):
        seconds = display.from_local_input(name, values[name], zone)
        if seconds is not None:
            options[name] = seconds
    return options, values


async def _handle(
    request: Request, who: Operator, deployment: Deployment, *, submit: bool
) -> Response:
    form = await read_form(request)
    try:
        token = form.get(CSRF_FIELD)
        await check_csrf(request, token if isinstance(token, str) else None)
        return await _queue_or_preview(request, who, deployment, form, submit=submit)
    finally:
        await form.close()


async def _queue_or_preview(
    request: Request, who: Operator, deployment: Deployment, form: FormData, *, submit: bool
) -> Response:
    file = form.get("csv")
    upload = file if isinstance(file, UploadFile) and file.filename else None
    values: dict[str, str] = {}
    context: dict[str, Any] = {"deployment": deployment, "queue_url": queue_url(deployment)}
    try:
        options, values = _options(form, who.zone)
        if upload is None:
            raise InvalidField("csv", "Choose a CSV file to upload.")
        queue = services(request).queue
        if submit:
            report: BatchReport = await to_thread.run_sync(
                queue.queue_csv, deployment, options, upload.file, upload.filename
            )
            context["report"] = report
            context["rejects"] = report.rejects[:SHOWN_REJECTS]
        else:
            preview = await to_thread.run_sync(queue.preview_csv, options, upload.file)
            context["preview"] = preview
            context["rejects"] = preview.rejects[:SHOWN_REJECTS]
            context["filename"] = upload.filename
    except OutdialError as error:
        errors, message = field_errors(error, UPLOAD_FIELDS)
        context["upload"] = {"errors": errors, "message": message, "values": values}
        # the whole form again, so each error stands next to its field
        return render(request, "_upload_form.html", context, INVALID, WHOLE_FORM)
    if submit:
        # a fresh form under the report: the same file is not queued twice by a second click
        context["upload"] = {"errors": {}, "message": None, "values": {"max_attempts": "1"}}
        # ...and the page's live tables refresh now rather than at their next poll
        return render(request, "_upload_form.html", context, headers=WHOLE_FORM | QUEUED)
    # a preview leaves the form, and the file chosen in it, as it is
    return render(request, "_upload_result_only.html", context)


@router.get(QUEUE_PATH + "/upload")
async def upload_page(
    request: Request, application_id: AppId, deployment_id: DepId, who: OperatorDep
) -> Response:
    """The Queue Calls form as a page of its own: where the button leads without JavaScript."""
    deployment = await deployment_of(request, who, application_id, deployment_id)
    context = {
        "deployment": deployment,
        "queue_url": queue_url(deployment),
        "title": "Queue Calls",
        "upload": {"errors": {}, "message": None, "values": {"max_attempts": "1"}},
    }
    return render(request, "_upload_form.html", context)


@router.post(QUEUE_PATH + "/upload/preview")
async def preview(
    request: Request, application_id: AppId, deployment_id: DepId, who: OperatorDep
) -> Response:
    """What queuing this file would do, storing nothing."""
    deployment = await deployment_of(request, who, application_id, deployment_id)
    return await _handle(request, who, deployment, submit=False)


@router.post(QUEUE_PATH + "/upload")
async def upload(
    request: Request, application_id: AppId, deployment_id: DepId, who: OperatorDep
) -> Response:
    """Queue the file's good rows; report every rejected row."""
    deployment = await deployment_of(request, who, application_id, deployment_id)
    return await _handle(request, who, deployment, submit=True)
