"""Every error the API returns, mapped in one place to ``{"error": ...}`` and a status."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from outdial.api.render import render
from outdial.errors import OutdialError, TooManyRequests, Unauthorized

log = logging.getLogger(__name__)

HTTP_MESSAGES = {
    404: "no such resource: see /docs for the API",
    405: "method not allowed",
}


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        location = [str(p) for p in item.get("loc", ()) if p not in ("path", "query", "body")]
        where = ".".join(location) or "request"
        given = item.get("input")
        shown = f" (got {given!r})" if isinstance(given, str | int | float) else ""
        parts.append(f"{where}: {item.get('msg', 'is invalid')}{shown}")
    return "; ".join(parts) or "the request is invalid"


def install(app: FastAPI) -> None:
    async def outdial_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OutdialError)
        headers: dict[str, str] = {}
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, Unauthorized):
            headers["WWW-Authenticate"] = exc.challenge
        return render(request, {"error": exc.message, **exc.details()}, exc.status, headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = HTTP_MESSAGES.get(exc.status_code) or str(exc.detail)
        return render(request, {"error": message}, exc.status_code, exc.headers)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return render(request, {"error": _validation_message(exc)}, 400)

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return render(request, {"error": "internal error; it has been logged"}, 500)

    app.add_exception_handler(OutdialError, outdial_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)
