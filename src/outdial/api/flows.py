"""Call flows over the API: an application's flow and its versions, the flow schema, a checker,
and the recordings flows take (FLOWS.md)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from outdial.api import schemas
from outdial.api.render import render
from outdial.api.routes import AccountDep, AppId, services
from outdial.audio.files import AudioFormatError, prompt_ulaw
from outdial.audio.wav import ulaw_to_wav
from outdial.errors import BadRequest, NotFound, UnsupportedMediaType
from outdial.flow.problems import Severity
from outdial.flow.saving import MAX_FLOW_TEXT, save_flow
from outdial.flow.schema import flow_schema
from outdial.flow.validate import check
from outdial.store.flowstore import FlowVersion

router = APIRouter()
FLOW_PATH = "/api/apps/{application_id}/flow"
FLOW_MEDIA_TYPES = ("application/json", "application/yaml", "application/x-yaml", "text/yaml")
FLOW_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {"type": "object", "description": "a flow: GET /api/flow/schema"}
            },
        },
    }
}
RecordingId = Annotated[str, Path(max_length=64, description="recording ID")]
CallId = Annotated[str, Path(max_length=64, description="call ID")]
VersionNo = Annotated[int, Path(ge=1, le=2**31 - 1, description="flow version")]


def _version(found: FlowVersion, *, source: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "application_id": found.application_id,
        "version": found.version,
        "format": found.format,
        "author": found.author,
        "created_timestamp": int(found.created_at),
    }
    if source:
        out["source"] = found.source
    return out


async def _flow_text(request: Request) -> str:
    """The body as flow text: YAML or JSON, UTF-8, within the size limit."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and kind not in FLOW_MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type: send the flow as {' or '.join(FLOW_MEDIA_TYPES[:2])}, not {kind}"
        )
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("body: is not UTF-8 text") from None
    if not text.strip():
        raise BadRequest("body: is empty; send the flow as YAML or JSON")
    if len(text) > MAX_FLOW_TEXT:
        raise BadRequest(f"body: the flow is longer than {MAX_FLOW_TEXT} characters")
    return text


@router.put(
    FLOW_PATH,
    summary="Save the application's call flow (a new version)",
    responses=schemas.ERROR_RESPONSES,
    openapi_extra=FLOW_BODY,
)
async def put_flow(request: Request, application_id: AppId, account: AccountDep) -> Response:
    store = services(request).store
    # Whose application first: a stranger learns nothing from how their body is refused.
    app = await to_thread.run_sync(store.application_of, account, application_id)
    text = await _flow_text(request)
    saved, warnings = await to_thread.run_sync(save_flow, store, app.id, text, account.email)
    body = _version(saved, source=False)
    body["warnings"] = [w.as_dict() for w in warnings]
    return render(request, body)


@router.get(FLOW_PATH, summary="The application's current flow", responses=schemas.ERROR_RESPONSES)
async def get_flow(request: Request, application_id: AppId, account: AccountDep) -> Response:
    store = services(request).store
    app = await to_thread.run_sync(store.application_of, account, application_id)
    current = await to_thread.run_sync(store.current_flow, app.id)
    if current is None:
        path = FLOW_PATH.format(application_id=app.id)
        raise NotFound(f"application {app.id} has no flow yet: PUT one to {path}")
    return render(request, _version(current))


@router.get(
    FLOW_PATH + "/versions",
    summary="Every version of the application's flow, newest first",
    responses=schemas.ERROR_RESPONSES,
)
async def flow_versions(request: Request, application_id: AppId, account: AccountDep) -> Response:
    store = services(request).store
    app = await to_thread.run_sync(store.application_of, account, application_id)
    versions = await to_thread.run_sync(store.flow_versions, app.id)
    return render(request, {"versions": [_version(v, source=False) for v in versions]})


@router.get(
    FLOW_PATH + "/versions/{version}",
    summary="One version of the application's flow",
    responses=schemas.ERROR_RESPONSES,
)
async def flow_version(
    request: Request, application_id: AppId, version: VersionNo, account: AccountDep
) -> Response:
    store = services(request).store
    app = await to_thread.run_sync(store.application_of, account, application_id)
    found = await to_thread.run_sync(store.flow_version, app.id, version)
    return render(request, _version(found))


AudioName = Annotated[str, Path(max_length=100, description="the name flows use")]
# application/octet-stream: a WAV file if it has a RIFF header, else raw µ-law
AUDIO_MEDIA_TYPES = (
    "audio/wav",
    "audio/x-wav",
    "audio/wave",
    "audio/basic",
    "application/octet-stream",
)
AUDIO_BODY = {"type": "string", "format": "binary"}


@router.put(
    "/api/apps/{application_id}/audio/{name}",
    summary="Keep an audio prompt with the application (WAV, or raw µ-law as audio/basic)",
    responses=schemas.ERROR_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}} for t in AUDIO_MEDIA_TYPES
            },
        }
    },
)
async def put_audio(
    request: Request, application_id: AppId, name: AudioName, account: AccountDep
) -> Response:
    store = services(request).store
    app = await to_thread.run_sync(store.application_of, account, application_id)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in AUDIO_MEDIA_TYPES:
        raise UnsupportedMediaType(
            "Content-Type: send the prompt as audio/wav or audio/basic (µ-law), "
            f"not {kind or 'none'}"
        )
    data = await request.body()
    try:
        raw = kind == "audio/basic" or (kind == "application/octet-stream" and data[:4] != b"RIFF")
        ulaw = prompt_ulaw(data, raw_ulaw=raw)
    except AudioFormatError as error:
        raise BadRequest(f"body: {error}") from None
    seconds = await to_thread.run_sync(store.save_audio, app.id, name, ulaw)
    return render(
        request, {"application_id": app.id, "audio": name, "duration_s": round(seconds, 2)}
    )


@router.get(
    "/api/apps/{application_id}/audio",
    summary="The application's audio prompts",
    responses=schemas.ERROR_RESPONSES,
)
async def list_audio(request: Request, application_id: AppId, account: AccountDep) -> Response:
    store = services(request).store
    app = await to_thread.run_sync(store.application_of, account, application_id)
    prompts = await to_thread.run_sync(store.audio_prompts, app.id)
    return render(
        request,
        {"audio": [{"name": n, "duration_s": round(d, 2)} for n, d in prompts]},
    )


@router.get("/api/flow/schema", summary="The JSON Schema of flow documents")
async def schema() -> Response:
    return Response(json.dumps(flow_schema(), indent=2), media_type="application/schema+json")


@router.post(
    "/api/flow/check",
    summary="Validate a flow without saving it: every problem, with its path and line",
    responses=schemas.ERROR_RESPONSES,
    openapi_extra=FLOW_BODY,
)
async def check_flow(request: Request, account: AccountDep) -> Response:
    text = await _flow_text(request)
    problems = await to_thread.run_sync(check, text)
    errors = sum(1 for p in problems if p.severity is Severity.ERROR)
    return render(request, {"valid": errors == 0, "problems": [p.as_dict() for p in problems]})


@router.get(
    "/api/outbound/{call_id}/recordings/{recording_id}",
    summary="A recording a flow's record step took, as WAV (16-bit PCM, 8 kHz)",
    responses=schemas.ERROR_RESPONSES,
)
async def recording(
    request: Request, call_id: CallId, recording_id: RecordingId, account: AccountDep
) -> Response:
    store = services(request).store
    _, audio = await to_thread.run_sync(store.recording_audio, account, call_id, recording_id)
    return Response(
        ulaw_to_wav(audio),
        media_type="audio/wav",
        headers={"Content-Disposition": f'inline; filename="{recording_id}.wav"'},
    )
