"""Signed session cookies and CSRF tokens for the web UI.

The session is a small JSON object in a cookie, signed with HMAC-SHA256 so it cannot be
forged or altered; it holds the sign-in's token (the server keeps its hash: ``store.sessions``,
so signing out ends it at once and a replayed cookie signs no one in), the e-mail it was made
for, the CSRF token and the operator's time zone.
Every form carries the CSRF token (htmx requests send it as a header); a POST without the
session's token is refused. The cookie is HttpOnly and SameSite=Lax, and Secure when the
page was served over https.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

COOKIE_NAME = "outdial_session"
SESSION_LIFETIME = 12 * 3600  # seconds a sign-in lasts
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
TOKEN_BYTES = 32


@dataclass(slots=True)
class Session:
    """The decoded cookie; ``changed`` sessions are written back on the response."""

    email: str | None = None
    signed_in_at: float = 0.0
    csrf: str = ""
    time_zone: str = "UTC"
    token: str | None = None  # the server-side sign-in's token
    changed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "e": self.email,
            "t": self.signed_in_at,
            "c": self.csrf,
            "z": self.time_zone,
            "s": self.token,
        }


class SessionCodec:
    """Signs and checks session cookies with one secret."""

    def __init__(self, secret: str, clock: Any = time.time) -> None:
        self._key = hashlib.sha256(b"outdial-session:" + secret.encode()).digest()
        self._clock = clock

    def _sign(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, payload, "sha256").digest()).decode()

    def encode(self, session: Session) -> str:
        payload = base64.urlsafe_b64encode(
            json.dumps(session.as_dict(), separators=(",", ":")).encode()
        )
        return f"{payload.decode()}.{self._sign(payload)}"

    def decode(self, cookie: str | None) -> Session:
        """The session in ``cookie``; a fresh one if it is absent, forged or expired."""
        fresh = Session(csrf=secrets.token_urlsafe(TOKEN_BYTES), changed=True)
        if not cookie or "." not in cookie:
            return fresh
        payload, signature = cookie.rsplit(".", 1)
        if not hmac.compare_digest(self._sign(payload.encode()), signature):
            return fresh
        try:
            data = json.loads(base64.urlsafe_b64decode(payload.encode()))
            session = Session(
                email=data["e"],
                signed_in_at=float(data["t"]),
                csrf=str(data["c"]),
                time_zone=str(data["z"]),
                token=str(data["s"]) if data.get("s") else None,
            )
        except (ValueError, KeyError, TypeError):
            return fresh
        if session.email and self._clock() - session.signed_in_at > SESSION_LIFETIME:
            return fresh
        if not session.csrf:
            return fresh
        return session

    def save(self, request: Request, response: Response, session: Session) -> None:
        """Write the session cookie if it changed."""
        if not session.changed:
            return
        response.set_cookie(
            COOKIE_NAME,
            self.encode(session),
            max_age=SESSION_LIFETIME,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )


def sign_in(session: Session, email: str, now: float, token: str) -> None:
    """A new sign-in (``token``: the server's record of it) gets a new CSRF token, so a token
    seen before it is worthless after."""
    session.email = email
    session.token = token
    session.signed_in_at = now
    session.csrf = secrets.token_urlsafe(TOKEN_BYTES)
    session.changed = True


def sign_out(session: Session) -> None:
    session.email = None
    session.token = None
    session.signed_in_at = 0.0
    session.csrf = secrets.token_urlsafe(TOKEN_BYTES)
    session.changed = True


def csrf_ok(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf, sent or "")
