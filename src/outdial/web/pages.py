"""What every UI route shares: templates, the session, sign-in and CSRF checks, HTML errors."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from anyio import to_thread
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from outdial.accounts import Account, Deployment
from outdial.api.routes import services
from outdial.api.throttle import SignInThrottle
from outdial.errors import Conflict, Forbidden, NotFound, OutdialError
from outdial.options import redact_url
from outdial.web import charts, display, flowview
from outdial.web.session import CSRF_FIELD, CSRF_HEADER, Session, SessionCodec, csrf_ok

WEB_DIR = Path(__file__).parent
UI = "/ui"  # every page lives under this prefix; static files under /ui/static
SECURITY_HEADERS = {
    # Every script and style is served by outdial itself; nothing inline, nothing elsewhere.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

NO_PAGE = "There is no such page in your account."

templates = Jinja2Templates(directory=WEB_DIR / "templates")
templates.env.filters["local_time"] = display.local_time
templates.env.filters["later_time"] = display.later_time
templates.env.filters["redacted"] = redact_url
templates.env.filters["iso_time"] = display.iso_time
templates.env.filters["duration"] = display.duration
templates.env.filters["results_text"] = flowview.results_text
templates.env.filters["value_text"] = flowview.value_text
templates.env.globals["charts"] = charts
templates.env.globals["UI"] = UI


class SignInRequired(Exception):
    """The page needs a signed-in operator."""


class PageNotFound(Exception):
    """No such page, or not this account's."""

    def __init__(self, message: str = NO_PAGE) -> None:
        self.message = message
        super().__init__(message)


class CsrfRefused(Exception):
    """A form came without this session's CSRF token."""


@dataclass(frozen=True, slots=True)
class Operator:
    """A signed-in operator: the account, the session and where they read times."""

    account: Account
    session: Session

    @property
    def zone(self) -> str:
        return self.session.time_zone


def codec(request: Request) -> SessionCodec:
    found: SessionCodec = request.app.state.session_codec
    return found


def session_of(request: Request) -> Session:
    """The request's session, decoded once and kept on the request."""
    cached: Session | None = getattr(request.state, "session", None)
    if cached is None:
        cached = codec(request).decode(request.cookies.get("outdial_session"))
        request.state.session = cached
    return cached


async def operator(request: Request) -> Operator:
    """The signed-in operator, or SignInRequired (a redirect to the sign-in page)."""
    session = session_of(request)
    if not session.email or not session.token:
        raise SignInRequired()
    store = services(request).store
    # The server's record decides: a sign-in ended (signed out, everywhere, or by a password
    # change) or expired signs no one in, whatever cookie comes back.
    account = await to_thread.run_sync(store.session_account, session.token)
    if account is None or account.email != session.email:
        raise SignInRequired()
    return Operator(account, session)


def sign_in_throttle(request: Request) -> SignInThrottle:
    """Failed sign-ins, web and API alike: slows guessing without locking the owner out."""
    found: SignInThrottle = request.app.state.sign_in_throttle
    return found


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def check_csrf(request: Request, form_token: str | None = None) -> None:
    """Refuse (403) a state-changing request without the session's CSRF token."""
    sent = request.headers.get(CSRF_HEADER) or form_token
    if sent is None and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not csrf_ok(session_of(request), sent):
        raise CsrfRefused()


def finish(request: Request, response: Response) -> Response:
    """Add the security headers, and the session cookie if the session changed."""
    response.headers.update(SECURITY_HEADERS)
    response.headers.setdefault("Cache-Control", "no-store")
    codec(request).save(request, response, session_of(request))
    return response


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    session = session_of(request)
    zone = display.valid_zone(session.time_zone)
    page: dict[str, Any] = {
        "csrf_token": session.csrf,
        "signed_in_as": session.email,
        "zone": zone,
        "zone_label": display.zone_label(zone),
        "htmx": is_htmx(request),
    }
    page.update(context or {})
    response = templates.TemplateResponse(request, template, page, status_code=status)
    if headers:
        response.headers.update(headers)
    return finish(request, response)


def redirect(request: Request, url: str) -> Response:
    """303 to ``url``; an htmx request is told to navigate there instead."""
    if is_htmx(request):
        return finish(request, Response(status_code=200, headers={"HX-Redirect": url}))
    return finish(request, RedirectResponse(url, status_code=303))


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a page of this UI, never another site."""
    if target and target.startswith(UI + "/") and not target.startswith("//"):
        return target
    return UI + "/deployments"


def queue_url(deployment: Deployment) -> str:
    """The deployment's Outbound Queue page."""
    return f"{UI}/deployments/{deployment.application_id}/{deployment.id}"


async def deployment_of(request: Request, who: Operator, app_id: int, dep_id: int) -> Deployment:
    """The operator's deployment; another account's, a deleted or a missing one is a 404."""
    store = services(request).store
    try:
        return await to_thread.run_sync(store.deployment_for, who.account, app_id, dep_id)
    except (NotFound, Forbidden, Conflict):
        raise PageNotFound() from None


def install(app: FastAPI) -> None:
    """Register the UI's error pages: HTML for people, not the API's JSON."""

    async def sign_in_required(request: Request, exc: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        url = f"{UI}/login?next={quote(target)}"
        if is_htmx(request):
            return finish(request, Response(status_code=401, headers={"HX-Redirect": url}))
        return finish(request, RedirectResponse(url, status_code=303))

    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageNotFound)
        return render(request, "error.html", {"title": "Not found", "message": exc.message}, 404)

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        message = (
            "This form has expired or did not come from this site. Go back, reload the page "
            "and try again."
        )
        return render(request, "error.html", {"title": "Refused", "message": message}, 403)

    api_http_error = app.exception_handlers[HTTPException]
    api_validation_error = app.exception_handlers[RequestValidationError]

    async def http_error(request: Request, exc: Exception) -> Response:
        """Under /ui/ a person gets a page; elsewhere the API's JSON (or XML) error."""
        if not request.url.path.startswith(UI + "/"):
            return await _delegate(api_http_error, request, exc)
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return render(request, "error.html", {"title": "Not found", "message": NO_PAGE}, 404)
        message = "This page cannot do that. Go back and try again."
        return render(request, "error.html", {"title": "Refused", "message": message}, 400)

    async def validation_error(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith(UI + "/"):
            return await _delegate(api_validation_error, request, exc)
        return render(request, "error.html", {"title": "Not found", "message": NO_PAGE}, 404)

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(PageNotFound, not_found)
    app.add_exception_handler(CsrfRefused, csrf_refused)


async def _delegate(handler: Any, request: Request, exc: Exception) -> Response:
    """Call another exception handler, sync or async."""
    result = handler(request, exc)
    response: Response = await result if inspect.isawaitable(result) else result
    return response


def field_errors(error: OutdialError, fields: tuple[str, ...]) -> tuple[dict[str, str], str | None]:
    """An error placed next to the form field it names; otherwise a message for the form."""
    field = getattr(error, "field", None)
    reason = getattr(error, "reason", None)
    if field in fields and reason:
        return {field: reason}, None
    message = error.message
    for name in fields:
        if message.startswith(name + ": "):
            return {name: message[len(name) + 2 :]}, None
    return {}, message
