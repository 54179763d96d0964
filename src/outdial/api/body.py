"""Request bodies: JSON, urlencoded or multipart, with a size limit enforced while reading."""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outdial.api.nesting import prune
from outdial.api.render import render
from outdial.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_FORM_FIELDS = 1000
MAX_FORM_FILES = 1


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("body: is empty; send a JSON value")
    try:
        body = _parse(raw)
    except UnicodeDecodeError:
        raise BadRequest("body: is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise BadRequest(
            f"body: is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    except RecursionError:
        raise BadRequest("body: JSON nested too deeply") from None
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        raise BadRequest(f"body: JSON value out of range ({error})") from None
    try:
        # A \ud800 escape decodes to a lone surrogate, which no database can store.
        json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise BadRequest("body: contains an unpaired Unicode surrogate (\\ud800-\\udfff)") from None
    return body


def _parse(raw: bytes) -> Any:
    """JSON; arrays and objects nested past what any field needs are emptied (``nesting``),
    so one such value is refused by its field's check, not the whole body."""
    try:
        return json.loads(raw)
    except RecursionError:
        return json.loads(prune(raw.decode()))


async def read_form(request: Request) -> FormData:
    try:
        return await request.form(max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS)
    except PayloadTooLarge:
        raise
    except Exception as error:  # starlette raises its own HTTPException/MultiPartException
        detail = getattr(error, "detail", None) or getattr(error, "message", None) or str(error)
        raise BadRequest(f"body: malformed form data ({detail})") from None


def form_fields(form: FormData, *, files: tuple[str, ...] = ()) -> dict[str, Any]:
    """Form fields as a dict; a field given twice is an error, files only where expected."""
    fields: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key in fields:
            raise BadRequest(f"{key}: given more than once")
        if isinstance(value, UploadFile) and key not in files:
            raise BadRequest(f"{key}: a file was sent where a text field is expected")
        fields[key] = value
    return fields


async def read_fields(request: Request) -> dict[str, Any]:
    """The fields of a single-object body in any of the three accepted media types."""
    kind = media_type(request)
    if kind == "application/json":
        body = await read_json(request)
        if not isinstance(body, dict):
            raise BadRequest("body: must be a JSON object")
        return body
    if kind in FORM_TYPES:
        form = await read_form(request)
        try:
            return form_fields(form)
        finally:
            await form.close()
    if kind == "" and not (await request.body()):
        return {}
    raise UnsupportedMediaType(
        f"Content-Type {kind!r} is not accepted: send application/json, "
        "application/x-www-form-urlencoded or multipart/form-data"
    )


class BodyLimit:
    """ASGI middleware: refuse bodies over the limit (413), counting bytes as they arrive.

    ``large_suffixes`` name the paths (uploads) that get ``large_limit`` instead of ``limit``.
    """

    def __init__(
        self, app: ASGIApp, *, limit: int, large_limit: int, large_suffixes: tuple[str, ...]
    ) -> None:
        self.app = app
        self.limit = limit
        self.large_limit = large_limit
        self.large_suffixes = large_suffixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.large_limit if path.endswith(self.large_suffixes) else self.limit
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(_too_large(limit))
            return message

        await self.app(scope, counting_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = render(Request(scope, receive), {"error": _too_large(limit)}, 413)
        await response(scope, receive, send)


def _too_large(limit: int) -> str:
    return f"body: larger than the limit of {limit} bytes"
