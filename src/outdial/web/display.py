"""How the UI shows times, durations and time ranges, in the operator's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from outdial.errors import InvalidField

DEFAULT_ZONE = "UTC"


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """Every IANA zone name tzdata knows, sorted (for the time zone picker)."""
    return tuple(sorted(available_timezones()))


def valid_zone(name: str | None) -> str:
    """``name`` if it is an IANA zone, else UTC."""
    if not name or len(name) > 64:
        return DEFAULT_ZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_ZONE
    return name


def zone_label(zone: str, at: float | None = None) -> str:
    """``Europe/Paris (CET, UTC+01:00)``: the zone's name, abbreviation and offset now."""
    local = _local(at, zone) if at is not None else None
    if local is None:
        local = datetime.now(UTC).astimezone(ZoneInfo(zone))
    offset = local.strftime("%z")
    shown = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    abbreviation = local.tzname() or ""
    if zone == "UTC":
        return "UTC"
    if abbreviation and not abbreviation.startswith(("+", "-")):
        return f"{zone} ({abbreviation}, {shown})"
    return f"{zone} ({shown})"


def local_time(seconds: float | None, zone: str, *, with_date: bool = True) -> str:
    """Unix seconds as ``2026-11-30 14:05:09`` in ``zone``; an empty string for None."""
    if seconds is None:
        return ""
    local = _local(seconds, zone)
    if local is None:
        return f"{seconds:.0f} (Unix seconds)"
    return local.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M")


def _local(seconds: float, zone: str) -> datetime | None:
    """The moment in ``zone``; None where the calendar ends (past year 9999 there: rows kept
    from before timestamps were bounded)."""
    try:
        return datetime.fromtimestamp(seconds, UTC).astimezone(ZoneInfo(zone))
    except (OverflowError, ValueError, OSError):
        return None


def later_time(seconds: float | None, zone: str, since: float | None) -> str:
    """``seconds`` in ``zone`` as ``14:05:09`` when it falls on the same local day as
    ``since`` (an attempt's answer and end beside its start), else with its date."""
    if seconds is None:
        return ""
    local = _local(seconds, zone)
    start = _local(since, zone) if since is not None else None
    if local is not None and start is not None and local.date() == start.date():
        return local.strftime("%H:%M:%S")
    return local_time(seconds, zone)


def iso_time(seconds: float | None) -> str:
    """Machine-readable time for ``<time datetime=...>``."""
    if seconds is None:
        return ""
    moment = _local(seconds, "UTC")
    return moment.isoformat(timespec="seconds") if moment is not None else ""


def duration(seconds: float | None) -> str:
    """``1 min 05 s``, ``42 s``; empty for None."""
    if seconds is None:
        return ""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def from_local_input(field: str, value: str | None, zone: str) -> float | None:
    """A ``<input type=datetime-local>`` value (no offset) read in ``zone``, as Unix seconds."""
    if value is None or not value.strip():
        return None
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidField(field, f"{value!r} is not a date and time") from None
    if naive.tzinfo is not None:
        return naive.timestamp()
    return naive.replace(tzinfo=ZoneInfo(zone)).timestamp()


def to_local_input(seconds: float | None, zone: str) -> str:
    """Unix seconds as a ``datetime-local`` value in ``zone``."""
    local = _local(seconds, zone) if seconds is not None else None
    return local.strftime("%Y-%m-%dT%H:%M") if local is not None else ""


def to_iso_in_zone(seconds: float, zone: str) -> str:
    """``2026-11-30T14:05:09+01:00``: unambiguous, and in the operator's own time."""
    local = _local(seconds, zone)
    return local.isoformat(timespec="seconds") if local is not None else f"{seconds:.0f}"
