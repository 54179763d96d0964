"""Times in the operator's zone, durations and the SVG charts' accessible text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outdial.errors import InvalidField
from outdial.store.reportstore import HourCount
from outdial.web import charts, display

JULY = 1_783_000_000.0  # 2026-07-02T... UTC, in New York's summer time


def test_local_input_is_read_in_the_zone_across_daylight_saving() -> None:
    winter = display.from_local_input("start", "2026-01-15T09:00", "America/New_York")
    summer = display.from_local_input("start", "2026-07-15T09:00", "America/New_York")
    assert display.iso_time(winter) == "2026-01-15T14:00:00+00:00"
    assert display.iso_time(summer) == "2026-07-15T13:00:00+00:00"
    assert display.to_local_input(summer, "America/New_York") == "2026-07-15T09:00"
    assert display.from_local_input("start", " ", "UTC") is None


def test_a_bad_local_input_names_its_field() -> None:
    with pytest.raises(InvalidField) as raised:
        display.from_local_input("end_timestamp", "next tuesday", "UTC")
    assert raised.value.field == "end_timestamp"


def test_zones_are_named_with_their_offset() -> None:
    assert display.zone_label("UTC") == "UTC"
    assert display.zone_label("America/New_York", JULY) == "America/New_York (EDT, UTC-04:00)"
    assert display.valid_zone("Mars/Olympus") == "UTC"
    assert display.valid_zone("../../etc/passwd") == "UTC"


@pytest.mark.parametrize(
    ("seconds", "shown"), [(None, ""), (4.4, "4 s"), (65, "1 min 05 s"), (3725, "1 h 02 min")]
)
def test_durations(seconds: float | None, shown: str) -> None:
    assert display.duration(seconds) == shown


def test_charts_describe_their_figures_and_escape_labels() -> None:
    svg = charts.outcomes_chart({"voice": 3, "<busy>": 1})
    assert "voice: 3; <busy>: 1" not in svg  # escaped
    assert "&lt;busy&gt;" in svg and "3 (75%)" in svg
    assert 'role="img"' in svg
    assert "No completed calls yet." in charts.outcomes_chart({})
    hours = [HourCount(0.0, 2, 1), HourCount(3600.0, 0, 0)]
    assert "00:00: 2 answered, 1 not answered" in charts.hours_chart(hours, "UTC")
    assert "No calls finished" in charts.hours_chart([HourCount(0.0, 0, 0)], "UTC")
    assert "67% of attempted calls were answered." in charts.rate_chart(2 / 3)
    assert "No attempted calls yet." in charts.rate_chart(None)


LAST_SECOND_OF_9999 = 253_402_300_799.0  # 9999-12-31T23:59:59Z, accepted before 2200 was the bound


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Pacific/Kiritimati", "America/New_York", "UTC"])
def test_a_time_past_the_calendar_in_the_zone_is_shown_as_its_number(zone: str) -> None:
    shown = display.local_time(LAST_SECOND_OF_9999, zone)

    assert shown in ("9999-12-31 23:59:59", "9999-12-31 18:59:59", "253402300799 (Unix seconds)")
    if zone in ("Asia/Tokyo", "Pacific/Kiritimati"):  # year 10000 there
        assert shown == "253402300799 (Unix seconds)"
        assert display.to_local_input(LAST_SECOND_OF_9999, zone) == ""
        assert display.zone_label(zone, LAST_SECOND_OF_9999).startswith(zone)


@given(
    st.floats(min_value=0, max_value=LAST_SECOND_OF_9999 * 10, allow_nan=False),
    st.sampled_from(display.time_zones()),
)
def test_every_time_in_every_zone_renders(seconds: float, zone: str) -> None:
    assert display.local_time(seconds, zone)
    display.iso_time(seconds)
    display.to_local_input(seconds, zone)
    assert display.to_iso_in_zone(seconds, zone)


def test_an_attempts_later_times_drop_the_date_on_the_same_local_day() -> None:
    started = JULY
    assert (
        display.later_time(started + 65, "UTC", started)
        == display.local_time(started + 65, "UTC").split(" ")[1]
    )
    next_day = started + 86_400
    assert display.later_time(next_day, "UTC", started) == display.local_time(next_day, "UTC")
    assert display.later_time(None, "UTC", started) == ""
    assert display.later_time(started, "UTC", None) == display.local_time(started, "UTC")
