"""Outbound parameters (SPEC §3): validation of the fields of a queue request.

Pure functions over a mapping of field names to values, as they come from a
JSON body (numbers, strings, objects) or a form (strings only). Every error is
an ``InvalidField`` naming the field and the value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from outdial.errors import InvalidField

MIN_ATTEMPTS = 1
MAX_ATTEMPTS = 10
MAX_RETRIES = 10  # Plum's older alias: up to 11 attempts (SPEC §3 keeps its range)
MIN_REATTEMPT_WAIT = 60  # seconds
MAX_REATTEMPT_WAIT = 86_400  # seconds
MAX_RETRY_INTERVAL = 172_800  # seconds, the older Plum alias allows two days
MAX_MESSAGE_REFERENCE = 255  # characters
MAX_RESULT_URL = 2048  # characters
MAX_CALL_PARAMETERS_BYTES = 16_384  # serialized JSON
MAX_PARAMETER_NAME = 128  # characters
# 2200-01-01T00:00:00Z. Later is a mistake (milliseconds sent as seconds, a year typed wrong),
# and every later time must still show as a date in every time zone.
LATEST_TIMESTAMP = 7_258_118_400
MILLISECONDS_FROM = 1_000_000_000_000  # Unix seconds this large are milliseconds (year 33658)
_OUT_OF_RANGE = "is out of range (Unix seconds from 0 to 7258118400, the start of 2200)"

SCHEDULE_FIELDS = frozenset(
    {
        "start_timestamp",
        "end_timestamp",
        "max_attempts",
        "reattempt_wait",
        "result_url",
        "max_retries",
        "retry_interval",
        "scheduled_timestamp",
        "expiration_timestamp",
    }
)
CALL_FIELDS = frozenset({"phone_number", "call_parameters", "message_reference"})
IGNORED_FIELDS = frozenset({"is_pci"})  # accepted from Plum clients, no effect here
QUEUE_FIELDS = SCHEDULE_FIELDS | CALL_FIELDS | IGNORED_FIELDS

_INTEGER = re.compile(r"[+-]?\d{1,12}")
_NUMBER = re.compile(r"[+-]?(\d{1,12}(\.\d*)?|\.\d+)")
_PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


@dataclass(frozen=True, slots=True)
class Schedule:
    """When and how often a call may be attempted, and where its result goes."""

    max_attempts: int = 1
    reattempt_wait: int | None = None
    start_at: float = 0.0
    end_at: float | None = None
    result_url: str | None = None


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return repr(text if len(text) <= 64 else text[:61] + "...")


def _present(fields: Mapping[str, Any], name: str) -> bool:
    value = fields.get(name)
    return value is not None and not (isinstance(value, str) and value.strip() == "")


def parse_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise InvalidField(name, f"{_shown(value)} is not an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise InvalidField(name, f"{_shown(value)} is not an integer")
    if not low <= number <= high:
        raise InvalidField(name, f"{number} is out of range ({low} to {high})")
    return number


def parse_timestamp(name: str, value: Any) -> float:
    """Unix seconds (number or numeric string) or an ISO 8601 time with its offset."""
    if isinstance(value, bool):
        raise InvalidField(name, f"{_shown(value)} is not a timestamp")
    if isinstance(value, int) and not 0 <= value <= LATEST_TIMESTAMP:
        raise InvalidField(name, _out_of_range(value))
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        seconds = float(value.strip())
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise InvalidField(
                name, f"{_shown(value)} is neither Unix seconds nor an ISO 8601 time"
            ) from None
        if parsed.tzinfo is None:
            raise InvalidField(
                name,
                f"{_shown(value)} has no time zone: add an offset such as Z or -05:00",
            )
        try:
            seconds = parsed.astimezone(UTC).timestamp()
        except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is before year 1 in UTC
            raise InvalidField(name, _out_of_range(value)) from None
    else:
        raise InvalidField(name, f"{_shown(value)} is not a timestamp")
    if not math.isfinite(seconds) or not 0 <= seconds <= LATEST_TIMESTAMP:
        raise InvalidField(name, _out_of_range(value, seconds))
    return seconds


def _out_of_range(value: Any, seconds: float | None = None) -> str:
    if seconds is None and isinstance(value, int):
        seconds = float(value) if abs(value) < 2**1000 else math.inf
    hint = ""
    if seconds is not None and MILLISECONDS_FROM <= seconds < MILLISECONDS_FROM * 1000:
        hint = "; this looks like milliseconds: send seconds"
    return f"{_shown(value)} {_OUT_OF_RANGE}{hint}"


def parse_result_url(value: Any, name: str = "result_url") -> str:
    if not isinstance(value, str):
        raise InvalidField(name, f"{_shown(value)} is not a URL")
    url = value.strip()
    if len(url) > MAX_RESULT_URL:
        raise InvalidField(name, f"is longer than {MAX_RESULT_URL} characters")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise InvalidField(name, f"{_shown(value)} contains spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidField(name, f"{_shown(value)} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidField(name, f"{_shown(value)} must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidField(
            name, "must not hold a user name or password: send credentials in headers"
        )
    return url


def redact_url(url: str) -> str:
    """``url`` with any user name and password in it shown as ``***``: for logs, the API and
    the UI (URLs with credentials are refused now; rows stored before may hold some)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"***@{host}").geturl()


def parse_schedule(fields: Mapping[str, Any], now: float) -> Schedule:
    """The shared options of a queue request, with the older Plum aliases."""
    max_attempts = 1
    if _present(fields, "max_attempts"):
        max_attempts = parse_int("max_attempts", fields["max_attempts"], MIN_ATTEMPTS, MAX_ATTEMPTS)
    if _present(fields, "max_retries"):
        from_retries = parse_int("max_retries", fields["max_retries"], 0, MAX_RETRIES) + 1
        if _present(fields, "max_attempts") and from_retries != max_attempts:
            raise InvalidField(
                "max_retries", "disagrees with max_attempts (attempts = retries + 1); send one"
            )
        max_attempts = from_retries

    reattempt_wait: int | None = None
    if _present(fields, "reattempt_wait"):
        reattempt_wait = parse_int(
            "reattempt_wait", fields["reattempt_wait"], MIN_REATTEMPT_WAIT, MAX_REATTEMPT_WAIT
        )
    if _present(fields, "retry_interval"):
        interval = parse_int(
            "retry_interval", fields["retry_interval"], MIN_REATTEMPT_WAIT, MAX_RETRY_INTERVAL
        )
        if reattempt_wait is not None and interval != reattempt_wait:
            raise InvalidField("retry_interval", "disagrees with reattempt_wait; send one")
        reattempt_wait = interval
    if max_attempts > 1 and reattempt_wait is None:
        raise InvalidField(
            "reattempt_wait", f"is required when max_attempts is more than 1 ({max_attempts})"
        )

    start = _aliased_timestamp(fields, "start_timestamp", "scheduled_timestamp")
    start_at = max(start, now) if start else now  # absent, 0 or past: now
    end_at: float | None = None
    end = _aliased_timestamp(fields, "end_timestamp", "expiration_timestamp")
    if end:  # absent or 0: never
        name = "end_timestamp" if _present(fields, "end_timestamp") else "expiration_timestamp"
        if end <= now:
            raise InvalidField(name, f"{_shown(fields[name])} is in the past")
        if end <= start_at:
            raise InvalidField(name, "must be after the start timestamp")
        end_at = end

    result_url = parse_result_url(fields["result_url"]) if _present(fields, "result_url") else None
    return Schedule(max_attempts, reattempt_wait, start_at, end_at, result_url)


def _aliased_timestamp(fields: Mapping[str, Any], name: str, alias: str) -> float | None:
    """The timestamp under ``name`` or its older ``alias``; both given must agree."""
    value = parse_timestamp(name, fields[name]) if _present(fields, name) else None
    if _present(fields, alias):
        aliased = parse_timestamp(alias, fields[alias])
        if value is not None and aliased != value:
            raise InvalidField(alias, f"disagrees with {name}; send one")
        value = aliased
    return value


def parse_message_reference(value: Any, name: str = "message_reference") -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidField(name, f"{_shown(value)} is not a finite number")
        value = str(value)
    if not isinstance(value, str):
        raise InvalidField(name, f"{_shown(value)} is not a string")
    text = value.strip()
    if len(text) > MAX_MESSAGE_REFERENCE:
        raise InvalidField(name, f"is longer than {MAX_MESSAGE_REFERENCE} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidField(name, "contains control characters")
    return text or None


def check_parameter_name(key: str, name: str = "call_parameters") -> None:
    if not _PARAMETER_NAME.fullmatch(key) or len(key) > MAX_PARAMETER_NAME:
        raise InvalidField(
            name,
            f"{_shown(key)} is not a valid variable name (letters, digits, '_', '.', '-'; "
            f"starting with a letter or '_'; at most {MAX_PARAMETER_NAME} characters)",
        )


def parse_call_parameters(value: Any, name: str = "call_parameters") -> dict[str, Any]:
    """A JSON object (or its text, from a form) of scalar values; keys become flow variables."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidField(name, f"{_shown(value)} is not a JSON object") from None
        except RecursionError:
            raise InvalidField(
                name, "is nested too deeply: values are strings, numbers, booleans or null"
            ) from None
    if not isinstance(value, dict):
        raise InvalidField(name, f"{_shown(value)} is not a JSON object")
    for key, item in value.items():
        check_parameter_name(key, name)
        if isinstance(item, float) and not math.isfinite(item):
            raise InvalidField(name, f"value of {key!r} is not a finite number")
        if not (item is None or isinstance(item, str | int | float | bool)):
            raise InvalidField(name, f"value of {key!r} must be a string, number, boolean or null")
    if len(json.dumps(value)) > MAX_CALL_PARAMETERS_BYTES:
        raise InvalidField(name, f"is larger than {MAX_CALL_PARAMETERS_BYTES} bytes as JSON")
    return dict(value)


def check_known_fields(fields: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise InvalidField(
            unknown[0],
            f"unknown field (allowed: {', '.join(sorted(allowed - IGNORED_FIELDS))})",
        )
