"""Calling hours applied to claim candidates (the HoursFilter the claim query calls)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from outdial.dispatch.hours import is_open, next_open, parse_calling_hours, time_zones_for

NEVER = 10 * 365 * 86_400.0  # seconds: look again in ten years (no common window exists)


def hours_filter(
    calling_hours: str, candidates: Sequence[tuple[int, str]], now: float
) -> tuple[list[int], dict[int, float]]:
    """Split candidates into those inside the window in every zone of their number, and the
    others with the Unix time their window next opens (they wait; they do not fail)."""
    hours = parse_calling_hours(calling_hours)
    moment = datetime.fromtimestamp(now, UTC)
    allowed: list[int] = []
    later: dict[int, float] = {}
    for pk, phone_number in candidates:
        zones = time_zones_for(phone_number)
        if is_open(hours, zones, moment):
            allowed.append(pk)
            continue
        opens = next_open(hours, zones, moment)
        later[pk] = opens.timestamp() if opens is not None else now + NEVER
    return allowed, later
