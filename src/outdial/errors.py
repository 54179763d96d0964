"""Exceptions that reach users, each with its HTTP status.

The docstring of each class is its default message; the API maps every
``OutdialError`` to ``{"error": message}`` with ``status`` in one place
(``outdial.api.errors``).
"""

from __future__ import annotations


class OutdialError(Exception):
    """Something went wrong."""

    status: int = 500

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (self.__doc__ or "").strip()
        super().__init__(self.message)

    def details(self) -> dict[str, object]:
        """Fields the API adds beside ``error`` (a flow's list of problems, say)."""
        return {}


class BadRequest(OutdialError):
    """The request is malformed."""

    status = 400


class InvalidField(BadRequest):
    """A field has a bad value; the message names the field and the value."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class Unauthorized(OutdialError):
    """Authentication failed: send HTTP Basic auth with your account e-mail and developer key."""

    status = 401
    challenge = 'Basic realm="outdial"'  # the WWW-Authenticate header sent with it


class BearerUnauthorized(Unauthorized):
    """A bearer token was needed (the metrics scraper's) and none, or a wrong one, came."""

    challenge = 'Bearer realm="outdial metrics"'


class Forbidden(OutdialError):
    """This object belongs to another account."""

    status = 403


class NotFound(OutdialError):
    """No such object."""

    status = 404


class MethodNotAllowed(OutdialError):
    """This method is not allowed here."""

    status = 405


class Conflict(OutdialError):
    """The object was deleted or is in a state that does not allow this."""

    status = 409


class PayloadTooLarge(OutdialError):
    """The request body is too large."""

    status = 413


class UnsupportedMediaType(OutdialError):
    """Send application/json, application/x-www-form-urlencoded or multipart/form-data."""

    status = 415


class TooManyRequests(OutdialError):
    """Too many requests."""

    status = 429

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        self.retry_after = retry_after
        super().__init__(message)
