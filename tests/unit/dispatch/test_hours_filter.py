"""Calling hours applied to claim candidates (SPEC §6): ``dispatch.hours_filter``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from outdial.dispatch.hours_filter import NEVER, hours_filter
from outdial.errors import InvalidField

BOSTON = "+16175551234"  # America/New_York
SAN_FRANCISCO = "+14155551234"  # America/Los_Angeles
ALASKA = "+19072531234"  # America/Adak and America/Anchorage, an hour apart
TOLL_FREE = "+18005551234"  # every zone of country code 1, Guam to American Samoa
FREEPHONE = "+80012345678"  # no country, no zone
DAY = "08:00-21:00"


def utc(hour: int, minute: int = 0, day: int = 1) -> float:
    return datetime(2024, 7, day, hour, minute, tzinfo=UTC).timestamp()


NOW = utc(13)  # 09:00 in Boston (EDT), 06:00 in San Francisco (PDT), 05:00 in Anchorage


def test_a_number_inside_its_window_may_be_dialed() -> None:
    assert hours_filter(DAY, [(1, BOSTON)], NOW) == ([1], {})


def test_a_number_outside_its_window_waits_until_it_opens() -> None:
    assert hours_filter(DAY, [(2, SAN_FRANCISCO)], NOW) == ([], {2: utc(15)})  # 08:00 PDT


def test_candidates_are_split_and_keep_their_order() -> None:
    candidates = [(5, BOSTON), (3, SAN_FRANCISCO), (9, BOSTON), (1, BOSTON)]
    allowed, later = hours_filter(DAY, candidates, NOW)
    assert allowed == [5, 9, 1]
    assert later == {3: utc(15)}


def test_the_window_must_hold_in_every_zone_of_the_number() -> None:
    # 08:00 in Anchorage (AKDT, UTC-8) is 07:00 on Adak (HDT, UTC-9): Adak decides.
    assert hours_filter(DAY, [(1, ALASKA)], utc(16, 30)) == ([], {1: utc(17)})
    assert hours_filter(DAY, [(1, ALASKA)], utc(17)) == ([1], {})
    # 21:00 in Anchorage is 20:00 on Adak: now Anchorage decides.
    assert hours_filter(DAY, [(1, ALASKA)], utc(5, 30, day=2)) == ([], {1: utc(17, day=2)})


def test_a_number_spanning_many_zones_waits_for_their_common_window() -> None:
    # 22:00 UTC: 08:00 on Guam (UTC+10), 18:00 in New York: the first instant open everywhere.
    assert hours_filter(DAY, [(1, TOLL_FREE)], NOW) == ([], {1: utc(22)})


def test_a_number_with_no_zone_waits_ten_years_unless_the_window_is_the_whole_day() -> None:
    assert hours_filter(DAY, [(1, FREEPHONE)], NOW) == ([], {1: NOW + NEVER})
    assert hours_filter("00:00-24:00", [(1, FREEPHONE), (2, TOLL_FREE)], NOW) == ([1, 2], {})


def test_the_window_s_end_is_exclusive() -> None:
    # 21:00 EDT is 01:00 UTC the next day; the next opening is 08:00 EDT that day.
    assert hours_filter(DAY, [(1, BOSTON)], utc(0, 59, day=2)) == ([1], {})
    assert hours_filter(DAY, [(1, BOSTON)], utc(1, day=2)) == ([], {1: utc(12, day=2)})


def test_no_candidates() -> None:
    assert hours_filter(DAY, [], NOW) == ([], {})


def test_a_bad_window_is_an_error_naming_the_field() -> None:
    with pytest.raises(InvalidField, match="calling_hours"):
        hours_filter("8 to 9", [(1, BOSTON)], NOW)
