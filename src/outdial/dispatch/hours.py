"""Calling hours: when a callee may be called, judged in the callee's local time (SPEC §6).

A deployment may restrict dialing to a daily window such as ``08:00-21:00``. The window is
judged in the callee's local time, which comes from the number: libphonenumber maps a number to
one or more IANA time zones (``time_zones_for``), and when it gives several the window must hold
in all of them at once (``is_open``). Outside the window calls wait; ``next_open`` says until
when.

Local wall-clock times become instants with ``zoneinfo`` at ``fold=0`` (PEP 495), so on the days
clocks change:

- a time that happens twice (fall-back day) means its first occurrence: a window closing at
  01:30 in New York on 3 November 2024 closes at 01:30 EDT, not 01:30 EST;
- a time that does not exist (spring-forward day) is read with the offset in force before the
  change: a window opening at 02:30 in New York on 10 March 2024 opens at 03:30 EDT.

The window of local day D runs from D's opening instant to D's closing instant (an end of 24:00
is the next day's 00:00); a zone is open at an instant inside the window of any day. Windows
such as 08:00-21:00 never meet a clock change in New York or London (those happen at night),
so these rules only matter for windows that reach into the night.

Everything here is pure: no I/O besides ``zoneinfo`` reading the system's time zone files, and no
cache of our own (``ZoneInfo`` caches its instances itself).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import phonenumbers.timezone
import phonenumbers.tzdata

from outdial.errors import InvalidField

__all__ = [
    "NEXT_OPEN_HORIZON",
    "CallingHours",
    "is_open",
    "next_open",
    "parse_calling_hours",
    "time_zones_for",
]

NEXT_OPEN_HORIZON = timedelta(days=8)  # next_open looks this far ahead, then gives up
SHOWN_VALUE_LENGTH = 64  # characters of a value quoted in an error message
MIDNIGHT = time(0, 0)

_WINDOW = re.compile(r"\s*([0-9]{1,2}):([0-9]{2})\s*[-\u2013]\s*([0-9]{1,2}):([0-9]{2})\s*")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")

# libphonenumber still answers with some names the tz database keeps only as backward-compatible
# links (Asia/Calcutta for every Indian number). Debian 13 and Ubuntu 24.04 moved those links to
# the optional tzdata-legacy package, where ZoneInfo cannot find them; read them as the zone
# they link to (tzdata 2025b `backward`), which has the same rules.
LEGACY_ZONE_NAMES = {
    "Africa/Asmera": "Africa/Nairobi",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Godthab": "America/Nuuk",
    "America/Kralendijk": "America/Puerto_Rico",
    "America/Lower_Princes": "America/Puerto_Rico",
    "Arctic/Longyearbyen": "Europe/Berlin",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Choibalsan": "Asia/Ulaanbaatar",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Atlantic/Faeroe": "Atlantic/Faroe",
    "Europe/Bratislava": "Europe/Prague",
    "Europe/Mariehamn": "Europe/Helsinki",
    "Europe/Podgorica": "Europe/Belgrade",
    "Europe/San_Marino": "Europe/Rome",
    "Europe/Vatican": "Europe/Rome",
    "Pacific/Enderbury": "Pacific/Kanton",
    "Pacific/Ponape": "Pacific/Guadalcanal",
    "Pacific/Truk": "Pacific/Port_Moresby",
}

_Span = tuple[datetime, datetime]  # [opens, closes) in UTC


@dataclass(frozen=True, slots=True)
class CallingHours:
    """A daily window of local wall-clock times, ``start`` inclusive, ``end`` exclusive.

    Both are naive whole-minute times. An ``end`` of 00:00 means midnight at the end of the day
    (written 24:00), so ``CallingHours(time(0), time(0))`` is the whole day. A window never runs
    overnight: calling at night is what calling hours exist to prevent.
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        for edge in (self.start, self.end):
            if edge.tzinfo is not None:
                raise ValueError(f"calling hours are local wall-clock times, not {edge!r}")
            if edge.second or edge.microsecond:
                raise ValueError(f"calling hours are whole minutes, not {edge.isoformat()}")
        if self.end != MIDNIGHT and self.end <= self.start:
            raise ValueError(f"calling hours {self} must end after they start, on the same day")

    def __str__(self) -> str:
        end = "24:00" if self.end == MIDNIGHT else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


def parse_calling_hours(text: str, field: str = "calling_hours") -> CallingHours:
    """Read a window written ``HH:MM-HH:MM`` (``08:00-21:00``, ``8:00-21:30``, ``09:00 - 17:00``).

    ``24:00`` may end a window. Raises ``InvalidField(field, ...)`` naming the value for a bad
    format, an hour or minute out of range, an empty window and an overnight one.
    """
    match = _WINDOW.fullmatch(text)
    if match is None:
        raise InvalidField(
            field, f"{_show(text)} is not a window of the form HH:MM-HH:MM, such as 08:00-21:00"
        )
    start_hour, start_minute, end_hour, end_minute = (int(group) for group in match.groups())
    shown = _show(text)
    for hour, minute in ((start_hour, start_minute), (end_hour, end_minute)):
        if minute > 59:
            raise InvalidField(field, f"{shown}: minute {minute} is out of range (00 to 59)")
        if hour > 24:
            raise InvalidField(field, f"{shown}: hour {hour} is out of range (00 to 23)")
        if hour == 24 and minute != 0:
            raise InvalidField(field, f"{shown}: 24:{minute:02d} is past the end of the day")
    if start_hour == 24:
        raise InvalidField(field, f"{shown}: 24:00 can end a window but not start it")
    start = time(start_hour, start_minute)
    end = MIDNIGHT if end_hour == 24 else time(end_hour, end_minute)
    if end_hour != 24 and end == start:
        raise InvalidField(
            field, f"{shown}: the window is empty (it opens and closes at {start:%H:%M})"
        )
    if end_hour != 24 and end < start:
        if end == MIDNIGHT:
            raise InvalidField(
                field,
                f"{shown} ends before it starts; write 24:00 for midnight at the end of the day",
            )
        raise InvalidField(
            field,
            f"{shown} ends before it starts: overnight windows are refused, because calling at"
            " night is what calling hours exist to prevent",
        )
    return CallingHours(start, end)


def time_zones_for(e164: str) -> tuple[str, ...]:
    """The IANA time zones a number may ring in, as libphonenumber gives them.

    When libphonenumber cannot place the number (its ``Etc/Unknown``: numbers that are not valid
    for their country), the answer is every zone of the number's country calling code, so the
    call waits until it is daytime everywhere that code spans. A number with no country at all
    (international freephone +800, satellite +881, networks +882 and +883, ...) gives ``()``:
    ``is_open`` and ``next_open`` then hold the call back unless the window is the whole day,
    because nothing tells us when it is night where the callee is.

    No cache by leading digits: the answer depends on the whole number (its validity and its
    type, mobile or fixed line), not on a prefix. Raises ``ValueError`` for a string that is
    not an E.164 number.
    """
    if _E164.fullmatch(e164) is None:
        raise ValueError(f"{_show(e164)} is not an E.164 number")
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{_show(e164)} is not an E.164 number") from None
    zones = phonenumbers.timezone.time_zones_for_number(number)
    if zones == (phonenumbers.timezone.UNKNOWN_TIMEZONE,):
        # The same country-level entry libphonenumber itself answers for numbers it cannot
        # place more precisely (mobiles in most countries, toll-free numbers).
        return phonenumbers.tzdata.TIMEZONE_DATA.get(str(number.country_code), ())
    return zones


def is_open(hours: CallingHours, zones: Sequence[str], now: datetime) -> bool:
    """Whether the aware instant ``now`` falls inside ``hours`` in every one of ``zones``.

    With no zone at all (a number nobody can place), only a whole-day window is open.
    """
    instant = _utc(now)
    names = _names(zones)
    if not names:
        return _whole_day(hours)
    return all(
        any(opens <= instant < closes for opens, closes in _spans(hours, name, instant, instant))
        for name in names
    )


def next_open(hours: CallingHours, zones: Sequence[str], now: datetime) -> datetime | None:
    """The earliest instant at or after ``now`` at which ``is_open`` holds.

    That is ``now`` itself when the window is open, else a UTC datetime: returning ``now`` as
    given keeps ``next_open(...) == now`` true even for a ``now`` in a skipped or repeated local
    hour, which PEP 495 makes unequal to any datetime in another zone. ``None`` when there is
    none within ``NEXT_OPEN_HORIZON``: the zones are too far apart for the window to hold in all
    of them at once, or no zone is known and the window is not the whole day.

    Exact to the microsecond: the answer is ``now`` or the opening instant of some zone's
    window, found by intersecting each zone's windows, not by stepping through time.
    """
    instant = _utc(now)
    names = _names(zones)
    if not names:
        return now if _whole_day(hours) else None
    limit = instant + NEXT_OPEN_HORIZON
    common = _spans(hours, names[0], instant, limit)
    for name in names[1:]:
        common = _intersect(common, _spans(hours, name, instant, limit))
    for opens, closes in common:
        if closes > instant:
            if opens <= instant:
                return now
            return opens if opens <= limit else None
    return None


def _spans(hours: CallingHours, name: str, first: datetime, last: datetime) -> list[_Span]:
    """The windows in zone ``name`` of every local day that can overlap ``[first, last]``,
    merged into sorted, disjoint UTC spans.

    A clock change can push a window past midnight into the neighbouring local day (America/Nuuk
    skips 23:00-00:00, St. John's used to go back from 00:01 to 23:01), never further: hence the
    days on either side.
    """
    zone = _zone(name)
    day = first.astimezone(zone).date() - timedelta(days=1)
    final = last.astimezone(zone).date() + timedelta(days=1)
    raw: list[_Span] = []
    while day <= final:
        tomorrow = day + timedelta(days=1)
        opens = _instant(day, hours.start, zone)
        closes = _instant(tomorrow if hours.end == MIDNIGHT else day, hours.end, zone)
        # On a spring-forward day a window inside the skipped hour can come out empty.
        if opens < closes:
            raw.append((opens, closes))
        day = tomorrow
    raw.sort()
    merged: list[_Span] = []
    for opens, closes in raw:
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


def _intersect(left: list[_Span], right: list[_Span]) -> list[_Span]:
    """The instants in both lists of sorted, disjoint spans."""
    common: list[_Span] = []
    i = j = 0
    while i < len(left) and j < len(right):
        opens = max(left[i][0], right[j][0])
        closes = min(left[i][1], right[j][1])
        if opens < closes:
            common.append((opens, closes))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return common


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time, by zoneinfo's rules at fold=0."""
    local = datetime(day.year, day.month, day.day, wall.hour, wall.minute, tzinfo=zone)
    return local.astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        canonical = LEGACY_ZONE_NAMES.get(name)
        if canonical is None:
            raise
        return ZoneInfo(canonical)


def _names(zones: Sequence[str]) -> list[str]:
    if isinstance(zones, str):
        raise TypeError(f"zones must be a sequence of zone names, not the string {zones!r}")
    return list(dict.fromkeys(zones))


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} is a naive datetime; give an aware one")
    return moment.astimezone(UTC)


def _whole_day(hours: CallingHours) -> bool:
    return hours.start == MIDNIGHT and hours.end == MIDNIGHT


def _show(value: str) -> str:
    """Quote a value for an error message: repr-style, escaped, cut to a readable length."""
    if len(value) > SHOWN_VALUE_LENGTH:
        return repr(value[:SHOWN_VALUE_LENGTH] + "...")
    return repr(value)
