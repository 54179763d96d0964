"""Calling hours judged in the callee's local time (SPEC §6), on a frozen clock."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import phonenumbers.tzdata
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outdial.dispatch import hours as hours_module
from outdial.dispatch.hours import (
    LEGACY_ZONE_NAMES,
    NEXT_OPEN_HORIZON,
    CallingHours,
    is_open,
    next_open,
    parse_calling_hours,
    time_zones_for,
)
from outdial.errors import InvalidField

BOSTON = "+16175551234"
SAN_FRANCISCO = "+14155551234"
ALASKA = "+19072531234"  # America/Adak and America/Anchorage, an hour apart
TOLL_FREE = "+18005551234"  # every zone of country code 1, Guam to American Samoa
AUSTRALIAN_MOBILE = "+61412345678"
FREEPHONE = "+80012345678"  # international freephone: no country, no zone

AUSTRALIA = (
    "Australia/Adelaide",
    "Australia/Brisbane",
    "Australia/Eucla",
    "Australia/Lord_Howe",
    "Australia/Perth",
    "Australia/Sydney",
    "Indian/Christmas",
    "Indian/Cocos",
)
DAY = parse_calling_hours("08:00-21:00")
WHOLE_DAY = parse_calling_hours("00:00-24:00")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def hours(text: str) -> CallingHours:
    return parse_calling_hours(text)


def error_of(text: str, field: str = "calling_hours") -> str:
    with pytest.raises(InvalidField) as caught:
        parse_calling_hours(text, field)
    return caught.value.message


def inside_everywhere(window: CallingHours, zones: tuple[str, ...], moment: datetime) -> bool:
    """An independent oracle, valid away from clock changes: the local wall clock of every
    zone reads a time inside the window."""
    for name in zones:
        wall = moment.astimezone(zoneinfo.ZoneInfo(name)).time()
        if wall < window.start or (window.end != time(0) and wall >= window.end):
            return False
    return True


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("08:00-21:00", time(8), time(21)),
        ("8:00-21:30", time(8), time(21, 30)),
        ("09:00 - 17:00", time(9), time(17)),
        ("  07:05-7:06 \t", time(7, 5), time(7, 6)),
        ("08:00\u201321:00", time(8), time(21)),  # the en dash SPEC §6 writes
        ("00:00-24:00", time(0), time(0)),
        ("23:59-24:00", time(23, 59), time(0)),
        ("00:00-00:01", time(0), time(0, 1)),
    ],
)
def test_parse_accepts(text: str, start: time, end: time) -> None:
    assert parse_calling_hours(text) == CallingHours(start, end)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("08:00-21:00", "08:00-21:00"),
        ("8:00-21:30", "08:00-21:30"),
        ("09:00 - 17:00", "09:00-17:00"),
        ("00:00-24:00", "00:00-24:00"),
        ("12:00-24:00", "12:00-24:00"),
    ],
)
def test_str(text: str, shown: str) -> None:
    assert str(parse_calling_hours(text)) == shown


FORM = "is not a window of the form HH:MM-HH:MM, such as 08:00-21:00"
OVERNIGHT = (
    "ends before it starts: overnight windows are refused, because calling at night is what"
    " calling hours exist to prevent"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("8am-9pm", f"calling_hours: '8am-9pm' {FORM}"),
        ("", f"calling_hours: '' {FORM}"),
        ("08:00", f"calling_hours: '08:00' {FORM}"),
        ("0800-2100", f"calling_hours: '0800-2100' {FORM}"),
        ("08:0-21:00", f"calling_hours: '08:0-21:00' {FORM}"),
        ("008:00-21:00", f"calling_hours: '008:00-21:00' {FORM}"),
        ("08:00-21:00-22:00", f"calling_hours: '08:00-21:00-22:00' {FORM}"),
        ("08.00-21.00", f"calling_hours: '08.00-21.00' {FORM}"),
        ("\u0660\u0668:00-21:00", f"calling_hours: '\u0660\u0668:00-21:00' {FORM}"),
        ("25:00-26:00", "calling_hours: '25:00-26:00': hour 25 is out of range (00 to 23)"),
        ("08:00-99:00", "calling_hours: '08:00-99:00': hour 99 is out of range (00 to 23)"),
        ("08:60-21:00", "calling_hours: '08:60-21:00': minute 60 is out of range (00 to 59)"),
        ("08:00-21:75", "calling_hours: '08:00-21:75': minute 75 is out of range (00 to 59)"),
        ("08:00-24:30", "calling_hours: '08:00-24:30': 24:30 is past the end of the day"),
        ("24:00-24:00", "calling_hours: '24:00-24:00': 24:00 can end a window but not start it"),
        (
            "08:00-08:00",
            "calling_hours: '08:00-08:00': the window is empty (it opens and closes at 08:00)",
        ),
        (
            "0:00-00:00",
            "calling_hours: '0:00-00:00': the window is empty (it opens and closes at 00:00)",
        ),
        ("21:00-08:00", f"calling_hours: '21:00-08:00' {OVERNIGHT}"),
        ("08:01-08:00", f"calling_hours: '08:01-08:00' {OVERNIGHT}"),
        (
            "08:00-00:00",
            "calling_hours: '08:00-00:00' ends before it starts; write 24:00 for midnight at the"
            " end of the day",
        ),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    assert error_of(text) == message


def test_parse_error_names_the_field_and_is_a_bad_request() -> None:
    with pytest.raises(InvalidField) as caught:
        parse_calling_hours("nope", field="deployment.calling_hours")
    assert caught.value.field == "deployment.calling_hours"
    assert caught.value.status == 400
    assert caught.value.message == f"deployment.calling_hours: 'nope' {FORM}"


def test_parse_error_cuts_a_long_value() -> None:
    text = "9" * 100
    assert error_of(text) == f"calling_hours: {'9' * 64 + '...'!r} {FORM}"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (time(21), time(8), "calling hours 21:00-08:00 must end after they start, on the same day"),
        (time(8), time(8), "calling hours 08:00-08:00 must end after they start, on the same day"),
        (time(8, 0, 30), time(9), "calling hours are whole minutes, not 08:00:30"),
        (time(8), time(9, tzinfo=UTC), "calling hours are local wall-clock times, not"),
    ],
)
def test_calling_hours_refuse_bad_windows(start: time, end: time, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        CallingHours(start, end)


minutes_of_day = st.integers(min_value=0, max_value=24 * 60 - 1)


@st.composite
def windows(draw: st.DrawFn) -> CallingHours:
    start = draw(minutes_of_day)
    end = draw(st.integers(min_value=start + 1, max_value=24 * 60))
    return CallingHours(
        time(start // 60, start % 60), time(0) if end == 24 * 60 else time(end // 60, end % 60)
    )


@given(windows())
def test_str_parses_back(window: CallingHours) -> None:
    assert parse_calling_hours(str(window)) == window


# --- time zones of a number --------------------------------------------------------------------


def test_zones_of_single_zone_numbers() -> None:
    assert time_zones_for(BOSTON) == ("America/New_York",)
    assert time_zones_for(SAN_FRANCISCO) == ("America/Los_Angeles",)
    assert time_zones_for("+442079460000") == ("Europe/London",)


def test_zones_of_numbers_spanning_several_zones() -> None:
    assert time_zones_for(ALASKA) == ("America/Adak", "America/Anchorage")
    # libphonenumber places mobiles and toll-free numbers at country level only.
    assert time_zones_for(AUSTRALIAN_MOBILE) == AUSTRALIA
    toll_free = time_zones_for(TOLL_FREE)
    assert len(toll_free) == 42
    assert {"America/New_York", "Pacific/Guam", "Pacific/Pago_Pago"} <= set(toll_free)


def test_number_libphonenumber_cannot_place_gets_its_whole_country() -> None:
    # Not valid numbers, so libphonenumber answers Etc/Unknown for them.
    assert time_zones_for("+15555551234") == time_zones_for(TOLL_FREE)
    assert time_zones_for("+61812345678") == AUSTRALIA


def test_number_without_a_country_has_no_zone() -> None:
    assert time_zones_for(FREEPHONE) == ()
    assert time_zones_for("+881612345678") == ()  # Iridium satellite phones


def test_zones_depend_on_the_whole_number_not_its_leading_digits() -> None:
    # Why time_zones_for is not cached by prefix: one digit less, and the London number is
    # no longer valid, so only the country is known.
    assert time_zones_for("+442079460000") == ("Europe/London",)
    assert time_zones_for("+44207946000") == (
        "Europe/Guernsey",
        "Europe/Isle_of_Man",
        "Europe/Jersey",
        "Europe/London",
    )


@pytest.mark.parametrize(
    "value", ["6175551234", "tel:+16175551234", "+1 617 555 1234", "+0123", "+999123456", ""]
)
def test_zones_refuse_what_is_not_e164(value: str) -> None:
    with pytest.raises(ValueError, match=r"is not an E\.164 number$"):
        time_zones_for(value)


def test_every_zone_list_libphonenumber_can_answer_is_usable() -> None:
    now = utc(2024, 6, 12, 12)
    for zones in set(phonenumbers.tzdata.TIMEZONE_DATA.values()):
        assert next_open(DAY, zones, now) is not None or not is_open(DAY, zones, now)


def test_legacy_zone_names_mean_the_same_rules() -> None:
    instants = [utc(2010, 1, 1) + timedelta(days=15 * i) for i in range(30 * 24)]
    for legacy, canonical in LEGACY_ZONE_NAMES.items():
        old, new = zoneinfo.ZoneInfo(legacy), zoneinfo.ZoneInfo(canonical)
        assert [t.astimezone(old).utcoffset() for t in instants] == [
            t.astimezone(new).utcoffset() for t in instants
        ], legacy


TZDATA_ZI = Path("/usr/share/zoneinfo/tzdata.zi")


@pytest.mark.skipif(not TZDATA_ZI.exists(), reason="no tzdata.zi to read the links from")
def test_every_link_name_libphonenumber_uses_has_a_canonical_name() -> None:
    links = {
        line.split()[2] for line in TZDATA_ZI.read_text().splitlines() if line.startswith("L ")
    }
    used = {name for zones in phonenumbers.tzdata.TIMEZONE_DATA.values() for name in zones}
    assert sorted(used & links) == sorted(LEGACY_ZONE_NAMES)


def test_legacy_zone_name_works_where_tzdata_legacy_is_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def without_links(key: str) -> zoneinfo.ZoneInfo:
        if key in LEGACY_ZONE_NAMES:
            raise zoneinfo.ZoneInfoNotFoundError(f"No time zone found with key {key}")
        return zoneinfo.ZoneInfo(key)

    monkeypatch.setattr(hours_module, "ZoneInfo", without_links)
    window = hours("09:00-17:00")
    # 09:00 in India (UTC+05:30) is 03:30 UTC.
    assert next_open(window, ("Asia/Calcutta",), utc(2024, 6, 12)) == utc(2024, 6, 12, 3, 30)
    with pytest.raises(zoneinfo.ZoneInfoNotFoundError):
        is_open(window, ("Asia/Nowhere",), utc(2024, 6, 12))


# --- open or closed ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "moment", "expected"),
    [
        # Boston in June is UTC-4: 08:00-21:00 is 12:00-01:00 UTC.
        (BOSTON, utc(2024, 6, 12, 11, 59, 59), False),
        (BOSTON, utc(2024, 6, 12, 12), True),
        (BOSTON, utc(2024, 6, 12, 12, 0, 1), True),
        (BOSTON, utc(2024, 6, 13, 0, 59, 59, 999999), True),
        (BOSTON, utc(2024, 6, 13, 1), False),
        # San Francisco in June is UTC-7: 15:00-04:00 UTC.
        (SAN_FRANCISCO, utc(2024, 6, 12, 14, 59, 59), False),
        (SAN_FRANCISCO, utc(2024, 6, 12, 15), True),
        (SAN_FRANCISCO, utc(2024, 6, 13, 3, 59, 59), True),
        (SAN_FRANCISCO, utc(2024, 6, 13, 4), False),
        # Alaska: Adak (UTC-9) opens last, at 17:00 UTC; Anchorage (UTC-8) closes first.
        (ALASKA, utc(2024, 6, 12, 16, 59, 59), False),
        (ALASKA, utc(2024, 6, 12, 17), True),
        (ALASKA, utc(2024, 6, 13, 4, 59, 59), True),
        (ALASKA, utc(2024, 6, 13, 5), False),
        # Boston in January is UTC-5.
        (BOSTON, utc(2024, 1, 12, 12), False),
        (BOSTON, utc(2024, 1, 12, 13), True),
    ],
)
def test_is_open_at_the_boundaries(number: str, moment: datetime, expected: bool) -> None:
    zones = time_zones_for(number)
    assert is_open(DAY, zones, moment) is expected
    assert inside_everywhere(DAY, zones, moment) is expected
    # The same instant written in another zone is the same answer.
    assert is_open(DAY, zones, moment.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))) is expected


def test_window_ending_at_midnight() -> None:
    zones = time_zones_for(BOSTON)
    window = hours("08:00-24:00")
    assert is_open(window, zones, utc(2024, 6, 13, 3, 59, 59))  # 23:59:59 EDT
    assert not is_open(window, zones, utc(2024, 6, 13, 4))  # 00:00 EDT


def test_whole_day_is_always_open() -> None:
    for moment in (utc(2024, 3, 10, 7), utc(2024, 11, 3, 6), utc(2024, 6, 12, 4)):
        assert is_open(WHOLE_DAY, time_zones_for(TOLL_FREE), moment)
        assert next_open(WHOLE_DAY, time_zones_for(TOLL_FREE), moment) == moment


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match=r"is a naive datetime; give an aware one$"):
        is_open(DAY, ("America/New_York",), datetime(2024, 6, 12, 12))
    with pytest.raises(ValueError, match=r"is a naive datetime; give an aware one$"):
        next_open(DAY, ("America/New_York",), datetime(2024, 6, 12, 12))


def test_a_zone_name_alone_is_refused() -> None:
    with pytest.raises(TypeError, match=r"not the string 'America/New_York'$"):
        is_open(DAY, "America/New_York", utc(2024, 6, 12, 12))


# --- next opening ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "now", "expected"),
    [
        (BOSTON, utc(2024, 6, 12, 14, 30, 15, 123456), utc(2024, 6, 12, 14, 30, 15, 123456)),
        (BOSTON, utc(2024, 6, 12, 12), utc(2024, 6, 12, 12)),
        (BOSTON, utc(2024, 6, 12, 10), utc(2024, 6, 12, 12)),  # same day
        (BOSTON, utc(2024, 6, 12, 11, 59, 59, 999999), utc(2024, 6, 12, 12)),
        (BOSTON, utc(2024, 6, 13, 1), utc(2024, 6, 13, 12)),  # closed at 21:00: next day
        (BOSTON, utc(2024, 6, 13, 2), utc(2024, 6, 13, 12)),
        (SAN_FRANCISCO, utc(2024, 6, 12, 12), utc(2024, 6, 12, 15)),
        (SAN_FRANCISCO, utc(2024, 6, 13, 4), utc(2024, 6, 13, 15)),
        (ALASKA, utc(2024, 6, 12, 12), utc(2024, 6, 12, 17)),
        # Australian mobiles: Cocos (UTC+06:30) opens last, at 01:30 UTC.
        (AUSTRALIAN_MOBILE, utc(2024, 6, 12, 12), utc(2024, 6, 13, 1, 30)),
        # Toll-free: Guam (UTC+10) opens at 22:00 UTC, St. John's (UTC-02:30) closes 23:30.
        (TOLL_FREE, utc(2024, 6, 12, 12), utc(2024, 6, 12, 22)),
        (TOLL_FREE, utc(2024, 6, 12, 23, 30), utc(2024, 6, 13, 22)),
    ],
)
def test_next_open(number: str, now: datetime, expected: datetime) -> None:
    zones = time_zones_for(number)
    found = next_open(DAY, zones, now)
    assert found == expected
    assert found is not None and found.tzinfo is UTC
    assert found is now or found > now
    assert inside_everywhere(DAY, zones, found)
    assert not inside_everywhere(DAY, zones, found - timedelta(microseconds=1)) or found == now


def test_next_open_is_now_itself_when_open() -> None:
    # 02:30 on 10 March 2024 does not exist in New York; at fold=0 it is 07:30 UTC (03:30
    # EDT). PEP 495 makes such a datetime unequal to every datetime in another zone, so
    # next_open returns now as given rather than its UTC twin.
    imaginary = datetime(2024, 3, 10, 2, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    assert imaginary != utc(2024, 3, 10, 7, 30)
    assert next_open(WHOLE_DAY, ("Europe/London",), imaginary) is imaginary
    assert next_open(WHOLE_DAY, (), imaginary) is imaginary
    # When closed, the answer is in UTC.
    assert next_open(DAY, ("Europe/London",), imaginary) == utc(2024, 3, 10, 8)


def test_toll_free_window_is_ninety_minutes_in_summer_and_longer_in_winter() -> None:
    zones = time_zones_for(TOLL_FREE)
    assert is_open(DAY, zones, utc(2024, 6, 12, 23, 29, 59))
    assert not is_open(DAY, zones, utc(2024, 6, 12, 23, 30))
    # In January St. John's is UTC-03:30, so the window lasts until 00:30 UTC.
    assert next_open(DAY, zones, utc(2024, 1, 12, 12)) == utc(2024, 1, 12, 22)
    assert is_open(DAY, zones, utc(2024, 1, 13, 0, 29, 59))
    assert not is_open(DAY, zones, utc(2024, 1, 13, 0, 30))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # New York springs forward on 10 March 2024: 08:00 is EDT (UTC-4), not EST.
        (utc(2024, 3, 10, 5), utc(2024, 3, 10, 12)),
        (utc(2024, 3, 10, 2), utc(2024, 3, 10, 12)),  # 21:00 EST the evening before
        (utc(2024, 3, 9, 12), utc(2024, 3, 9, 13)),  # the day before, still EST
        # It falls back on 3 November 2024: 08:00 is EST again.
        (utc(2024, 11, 3, 4), utc(2024, 11, 3, 13)),
        (utc(2024, 11, 2, 2), utc(2024, 11, 2, 12)),
        (utc(2024, 11, 3, 1), utc(2024, 11, 3, 13)),  # 21:00 EDT the evening before
    ],
)
def test_next_open_across_new_york_clock_changes(now: datetime, expected: datetime) -> None:
    assert next_open(DAY, ("America/New_York",), now) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # London springs forward on 31 March 2024: 08:00 BST is 07:00 UTC.
        (utc(2024, 3, 31), utc(2024, 3, 31, 7)),
        (utc(2024, 3, 30, 21), utc(2024, 3, 31, 7)),
        # It falls back on 27 October 2024: 08:00 GMT is 08:00 UTC.
        (utc(2024, 10, 27), utc(2024, 10, 27, 8)),
        (utc(2024, 10, 26, 20), utc(2024, 10, 27, 8)),
    ],
)
def test_next_open_across_london_clock_changes(now: datetime, expected: datetime) -> None:
    assert next_open(DAY, ("Europe/London",), now) == expected


def test_opening_time_skipped_by_spring_forward_uses_the_offset_before_it() -> None:
    # 02:30 does not exist in New York on 10 March 2024; at fold=0 it is 02:30 EST, which is
    # 03:30 EDT, and the window opens then (not when the clock jumps to 03:00).
    window = hours("02:30-05:00")
    zones = ("America/New_York",)
    assert next_open(window, zones, utc(2024, 3, 10, 5)) == utc(2024, 3, 10, 7, 30)
    assert not is_open(window, zones, utc(2024, 3, 10, 7))  # 03:00 EDT
    assert is_open(window, zones, utc(2024, 3, 10, 7, 30))
    assert next_open(window, zones, utc(2024, 3, 10, 9)) == utc(2024, 3, 11, 6, 30)  # EDT
    # London skips 01:00-02:00 on 31 March 2024: 01:30 opens at 02:30 BST (01:30 UTC).
    london = hours("01:30-06:00")
    assert next_open(london, ("Europe/London",), utc(2024, 3, 31)) == utc(2024, 3, 31, 1, 30)


def test_window_inside_the_skipped_hour_does_not_open_that_day() -> None:
    # 02:10-02:50 New York on 10 March 2024 reads as 03:10-03:50 EDT.
    window = hours("02:10-02:50")
    found = next_open(window, ("America/New_York",), utc(2024, 3, 10, 5))
    assert found == utc(2024, 3, 10, 7, 10)
    # 02:50-03:10 would run from 03:50 EDT back to 03:10 EDT: no window that day.
    backwards = hours("02:50-03:10")
    found = next_open(backwards, ("America/New_York",), utc(2024, 3, 10, 5))
    assert found == utc(2024, 3, 11, 6, 50)
    assert not is_open(backwards, ("America/New_York",), utc(2024, 3, 10, 7, 5))


def test_closing_time_that_repeats_on_fall_back_day_is_its_first_occurrence() -> None:
    # 01:30 happens twice in New York on 3 November 2024: 05:30 UTC (EDT), 06:30 UTC (EST).
    window = hours("00:00-01:30")
    zones = ("America/New_York",)
    assert is_open(window, zones, utc(2024, 11, 3, 5, 29, 59))
    assert not is_open(window, zones, utc(2024, 11, 3, 5, 30))
    assert not is_open(window, zones, utc(2024, 11, 3, 6, 15))  # 01:15 EST, the second time
    assert next_open(window, zones, utc(2024, 11, 3, 5, 30)) == utc(2024, 11, 4, 5)
    # London: 01:30 happens at 00:30 UTC (BST), then at 01:30 UTC (GMT) on 27 October 2024.
    london = hours("01:30-06:00")
    assert next_open(london, ("Europe/London",), utc(2024, 10, 27)) == utc(2024, 10, 27, 0, 30)


def test_window_whose_closing_time_is_skipped_runs_into_the_next_day() -> None:
    # Nuuk springs forward from 23:00 (UTC-2) to 00:00 (UTC-1) on 30 March 2024: 23:30 is
    # read as 23:30 UTC-2, which is 00:30 on the 31st.
    window = hours("08:00-23:30")
    assert is_open(window, ("America/Nuuk",), utc(2024, 3, 31, 1, 15))  # 00:15 on the 31st
    assert not is_open(window, ("America/Nuuk",), utc(2024, 3, 31, 1, 30))


def test_window_stays_open_when_the_clock_goes_back_across_midnight() -> None:
    # St. John's went back from 00:01 (UTC-02:30) to 23:01 the day before (UTC-03:30) on
    # 7 November 2010. The window of the 7th opened at 00:00 and stays open, though the clock
    # reads 23:30 on the 6th again.
    window = hours("00:00-06:00")
    zones = ("America/St_Johns",)
    assert next_open(window, zones, utc(2010, 11, 7)) == utc(2010, 11, 7, 2, 30)
    assert is_open(window, zones, utc(2010, 11, 7, 3))
    assert is_open(window, zones, utc(2010, 11, 7, 9, 29, 59))
    assert not is_open(window, zones, utc(2010, 11, 7, 9, 30))


def test_none_when_zones_are_too_far_apart() -> None:
    # Australian mobiles span UTC+06:30 (Cocos) to UTC+10:30 (Lord Howe in June): four hours.
    assert next_open(hours("09:00-12:00"), AUSTRALIA, utc(2024, 6, 12)) is None
    assert next_open(hours("09:00-13:00"), AUSTRALIA, utc(2024, 6, 12)) is None
    assert next_open(hours("09:00-13:01"), AUSTRALIA, utc(2024, 6, 12)) == utc(2024, 6, 12, 2, 30)
    # Tokyo and New York are 13 hours apart: office hours never meet.
    office = hours("09:00-17:00")
    assert next_open(office, ("Asia/Tokyo", "America/New_York"), utc(2024, 6, 12)) is None


def test_next_open_looks_eight_days_ahead_and_no_further() -> None:
    # London and New York are 5 hours apart, so an 08:00-13:00 window never holds in both,
    # except between the American and the British clock changes (10 to 31 March 2024), when
    # they are 4 hours apart: then it holds 08:00-09:00 in New York.
    window = hours("08:00-13:00")
    zones = ("Europe/London", "America/New_York")
    opens = utc(2024, 3, 10, 12)
    assert next_open(window, zones, utc(2024, 3, 4)) == opens
    assert next_open(window, zones, opens - NEXT_OPEN_HORIZON) == opens
    assert next_open(window, zones, opens - NEXT_OPEN_HORIZON - timedelta(microseconds=1)) is None
    assert next_open(window, zones, utc(2024, 3, 30, 13)) is None
    assert is_open(window, zones, utc(2024, 3, 30, 12, 59, 59))


def test_unknown_zone_is_never_inside_a_window_shorter_than_a_day() -> None:
    zones = time_zones_for(FREEPHONE)
    now = utc(2024, 6, 12, 12)
    assert not is_open(DAY, zones, now)
    assert next_open(DAY, zones, now) is None
    assert not is_open(hours("00:00-23:59"), zones, now)
    assert is_open(WHOLE_DAY, zones, now)
    assert next_open(WHOLE_DAY, zones, now) == now


# --- properties --------------------------------------------------------------------------------

ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Lord_Howe",  # half-hour daylight saving time
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/St_Johns",
    "America/Santiago",  # clocks change at midnight
    "America/Havana",  # clocks change at midnight
    "Antarctica/Troll",  # two-hour daylight saving time
    "Africa/Casablanca",  # clocks go back for Ramadan
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Asia/Tokyo",
]
CLOCK_CHANGE_DAYS = [
    utc(2024, 3, 10),
    utc(2024, 11, 3),
    utc(2024, 3, 31),
    utc(2024, 10, 27),
    utc(2024, 4, 6),
    utc(2024, 10, 6),
    utc(2024, 4, 7),
    utc(2024, 9, 8),
    utc(2024, 3, 17),
    utc(2024, 2, 18),
]
moments = st.one_of(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2037, 12, 31),
        timezones=st.sampled_from([UTC, zoneinfo.ZoneInfo("America/New_York")]),
    ),
    st.builds(
        lambda day, seconds: day + timedelta(seconds=seconds),
        st.sampled_from(CLOCK_CHANGE_DAYS),
        st.integers(min_value=-3 * 86_400, max_value=3 * 86_400),
    ),
)
zone_lists = st.lists(st.sampled_from(ZONES), min_size=1, max_size=3).map(tuple)


@settings(max_examples=300, deadline=None)
@given(windows(), zone_lists, moments, st.lists(st.floats(0, 1), min_size=1, max_size=20))
def test_next_open_is_the_first_open_instant(
    window: CallingHours, zones: tuple[str, ...], now: datetime, fractions: list[float]
) -> None:
    found = next_open(window, zones, now)
    if is_open(window, zones, now):
        assert found == now
    if found is None:
        probes = [now + NEXT_OPEN_HORIZON * f for f in fractions]
    else:
        assert now <= found <= now + NEXT_OPEN_HORIZON
        assert is_open(window, zones, found)
        probes = [now + (found - now) * f for f in fractions]
        if found > now:
            probes.append(found - timedelta(microseconds=1))
        probes = [t for t in probes if t < found]
    for probe in probes:
        assert not is_open(window, zones, probe), probe


@settings(max_examples=300, deadline=None)
@given(windows(), st.sampled_from(ZONES), moments)
def test_is_open_reads_the_local_clock_away_from_clock_changes(
    window: CallingHours, zone: str, now: datetime
) -> None:
    local = zoneinfo.ZoneInfo(zone)
    offsets = {(now + timedelta(hours=h)).astimezone(local).utcoffset() for h in range(-50, 51)}
    if len(offsets) == 1:
        assert is_open(window, (zone,), now) is inside_everywhere(window, (zone,), now)
