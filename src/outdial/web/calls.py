"""A call's page (facts, attempts and the flow each ran, results, recordings, events,
callbacks) and its recordings as audio a signed-in operator's browser plays."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from outdial.api.routes import services
from outdial.audio.wav import ulaw_to_wav
from outdial.errors import Forbidden, NotFound
from outdial.web.applications import application_url, version_url
from outdial.web.flowview import span_s, trace_rows
from outdial.web.pages import (
    UI,
    Operator,
    PageNotFound,
    deployment_of,
    finish,
    operator,
    queue_url,
    render,
)

router = APIRouter(include_in_schema=False)
OperatorDep = Annotated[Operator, Depends(operator)]
CallId = Annotated[str, Path(max_length=64)]
RecordingId = Annotated[str, Path(max_length=64)]


def recording_url(call_id: str, recording_id: str) -> str:
    return f"{UI}/calls/{call_id}/recordings/{recording_id}"


@router.get(UI + "/calls/{call_id}")
async def call_page(request: Request, call_id: CallId, who: OperatorDep) -> Response:
    store = services(request).store
    try:
        call = await to_thread.run_sync(store.get_call, who.account, call_id)
        deliveries = await to_thread.run_sync(store.deliveries_for_call, who.account, call_id)
    except (NotFound, Forbidden):
        raise PageNotFound() from None
    deployment = await deployment_of(request, who, call.application_id, call.deployment_id)
    flows = []
    for attempt in call.attempt_list:
        if attempt.flow_trace is None:
            continue
        link = None
        if attempt.flow_version is not None:
            link = version_url(call.application_id, attempt.flow_version)
        rows = trace_rows(attempt.flow_trace)
        flows.append((attempt, link, rows, span_s(rows)))
    context = {
        "call": call,
        "deliveries": deliveries,
        "deployment": deployment,
        "queue_url": queue_url(deployment),
        "application_url": application_url(call.application_id),
        "flows": flows,
        "recordings": [(r, recording_url(call.call_id, r.recording_id)) for r in call.recordings],
        # a result that is one of the call's recording URLs links to it on this page
        "recording_ids": {r.url: r.recording_id for r in call.recordings},
        "recording_steps": {r.url: r.step for r in call.recordings},
        "answered": any(a.answered_at is not None for a in call.attempt_list),
        "title": f"Call to {call.phone_number}",
    }
    return render(request, "call.html", context)


@router.get(UI + "/calls/{call_id}/recordings/{recording_id}")
async def recording(
    request: Request, call_id: CallId, recording_id: RecordingId, who: OperatorDep
) -> Response:
    """A recording of the operator's call as WAV (16-bit PCM, 8 kHz); anyone else's: 404."""
    store = services(request).store
    try:
        found, audio = await to_thread.run_sync(
            store.recording_audio, who.account, call_id, recording_id
        )
    except (NotFound, Forbidden):
        raise PageNotFound() from None
    name = f"outdial-{found.call_id}-{found.step}-{found.recording_id[:8]}.wav"
    response = Response(
        await to_thread.run_sync(ulaw_to_wav, audio),
        media_type="audio/wav",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
    return finish(request, response)
