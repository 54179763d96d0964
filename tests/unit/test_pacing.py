"""Call pacing (GCRA) and fair sharing of a trunk (SPEC §6): ``outdial.pacing``."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from outdial.pacing import PACING_SLACK, advance, allowance, next_start, share

T0 = 1_700_000_000.0  # a Unix time: the magnitudes the dialer works with


def start(tat: float, cps: float, now: float, limit: int | None = None) -> tuple[int, float]:
    """Start as many calls as pacing allows (at most ``limit``): how many, and the new tat."""
    n = allowance(tat, cps, now)
    if limit is not None:
        n = min(n, limit)
    return n, advance(tat, cps, now, n)


# allowance ----------------------------------------------------------------------------------------


def test_a_fresh_deployment_may_start_its_slack_s_worth_of_calls_at_once() -> None:
    # tat 0: never dialed. At 10 cps the slack (0.1 s) is worth one call, plus the one due now.
    assert allowance(0.0, 10.0, 1000.0) == 2
    assert allowance(0.0, 100.0, 1000.0) == 11
    assert allowance(0.0, 1.0, 1000.0) == 1
    assert allowance(0.0, 5.0, 1000.0) == 1  # half a call's worth of slack: none extra


@pytest.mark.parametrize(("cps", "burst"), [(10.0, 2), (20.0, 3), (100.0, 11)])
def test_the_slack_burst_does_not_depend_on_the_clock_s_magnitude(cps: float, burst: int) -> None:
    assert allowance(0.0, cps, 1000.0) == burst
    assert allowance(0.0, cps, T0) == burst


def test_no_call_may_start_before_tat() -> None:
    assert allowance(T0 + 0.001, 100.0, T0) == 0
    assert allowance(T0 + 5.0, 1.0, T0) == 0


def test_one_call_may_start_exactly_at_tat() -> None:
    assert allowance(T0, 1.0, T0) == 1
    assert allowance(T0, 1000.0, T0) == 1


def test_calls_fall_due_one_per_interval_after_tat() -> None:
    cps = 5.0  # a call every 0.2 s
    assert allowance(T0, cps, T0 + 0.05) == 1
    assert allowance(1000.0, cps, 1000.05) == 1
    assert allowance(1000.0, cps, 1000.1) == 1  # the slack caps it, however late
    assert allowance(1000.0, 20.0, 1000.05) == 2  # at 20 cps, the second is due at +0.05


@pytest.mark.parametrize("late", [0.5, 10.0, 3600.0])
@pytest.mark.parametrize("cps", [1.0, 4.0, 100.0])
def test_a_late_wake_up_catches_up_at_most_the_slack(late: float, cps: float) -> None:
    assert allowance(1000.0, cps, 1000.0 + late) == math.floor(PACING_SLACK * cps) + 1


@given(late=st.floats(PACING_SLACK, 1e9), cps=st.floats(0.1, 1000.0))
def test_a_late_wake_up_never_catches_up_more_than_the_slack(late: float, cps: float) -> None:
    assert allowance(T0 - late, cps, T0) <= PACING_SLACK * cps + 1


def test_the_slack_is_a_tenth_of_a_second() -> None:
    assert PACING_SLACK == 0.1


def starts_in_100_s(cps: float, every: float, base: float) -> int:
    """Calls started by a dispatcher that wakes every ``every`` seconds for 100 s."""
    tat, started, now = 0.0, 0, base
    while now < base + 100.0:
        n, tat = start(tat, cps, now)
        started += n
        now += every
    return started


def test_a_dispatcher_waking_late_is_held_to_its_slack() -> None:
    # Awake every 0.25 s at 10 cps: the due calls (2.5) are capped at the slack's burst (2).
    assert starts_in_100_s(10.0, 0.25, 1000.0) == 800


def test_a_dispatcher_waking_late_starts_as_many_calls_in_any_epoch() -> None:
    # Once 400 at real Unix times (one per wake-up): the slack was rounded away there.
    assert starts_in_100_s(10.0, 0.25, T0) == starts_in_100_s(10.0, 0.25, 1000.0)


# advance ------------------------------------------------------------------------------------------


def test_advance_moves_tat_on_by_one_interval_per_call() -> None:
    assert advance(1000.0, 4.0, 1000.0, 1) == 1000.25
    assert advance(1000.0, 4.0, 1000.0, 3) == 1000.75


def test_advance_without_starts_keeps_tat() -> None:
    assert advance(1000.0, 4.0, 1000.5, 0) == 1000.0
    assert advance(0.0, 4.0, 1000.5, 0) == 0.0  # idle: tat stays in the past


def test_advance_after_idle_counts_from_the_slack_not_from_the_old_tat() -> None:
    # Idle for an hour: the missed hour is not credited, only the slack.
    assert advance(1000.0, 10.0, 4600.0, 1) == pytest.approx(4600.0 - PACING_SLACK + 0.1)
    assert advance(1000.0, 10.0, 4600.0, 2) == pytest.approx(4600.0 - PACING_SLACK + 0.2)


def test_after_a_burst_the_next_call_waits_for_its_interval() -> None:
    n, tat = start(0.0, 10.0, 1000.0)
    assert n == 2
    assert tat == pytest.approx(1000.1)
    assert allowance(tat, 10.0, 1000.05) == 0
    assert next_start(tat, 1000.05) == tat
    assert allowance(tat, 10.0, tat) == 1


def test_next_start_is_now_when_a_call_may_start_already() -> None:
    assert next_start(999.0, 1000.0) == 1000.0
    assert next_start(1000.0, 1000.0) == 1000.0
    assert next_start(1000.5, 1000.0) == 1000.5


def test_a_steady_dialer_starts_cps_calls_a_second() -> None:
    cps, tat, started = 7.0, 0.0, 0
    now = 1000.0
    while now < 1100.0:  # wake every 10 ms for 100 s
        n, tat = start(tat, cps, now)
        started += n
        now += 0.01
    # 700 over 100 s, plus the slack's worth at the start.
    assert 700 <= started <= 700 + math.floor(cps * PACING_SLACK) + 1


def test_a_cps_change_applies_from_the_next_start() -> None:
    n, tat = start(0.0, 1.0, 1000.0)
    assert n == 1
    assert tat == pytest.approx(1000.9)  # from now - slack, one 1 s interval
    # Raised to 10 cps: tat was set at 1 cps, the next call still waits for it ...
    assert allowance(tat, 10.0, 1000.5) == 0
    # ... then calls come at the new rate.
    n, tat = start(tat, 10.0, tat + 0.1)
    assert n == 2
    assert tat == pytest.approx(1000.9 + 0.2)


def test_a_cps_lowered_makes_later_calls_wait_longer() -> None:
    n, tat = start(1000.0, 10.0, 1000.0)
    assert n == 1
    n, tat = start(tat, 0.5, tat)  # lowered to one call every 2 s
    assert n == 1
    assert tat == pytest.approx(1000.1 + 2.0)
    assert allowance(tat, 0.5, tat - 0.01) == 0


# the bound in any window ------------------------------------------------------------------------


@given(
    cps=st.sampled_from([0.5, 1.0, 3.0, 7.5, 10.0, 33.0, 100.0, 250.0]),
    gaps=st.lists(st.floats(0.0, 2.0, allow_nan=False), min_size=1, max_size=200),
    limits=st.lists(st.integers(0, 50), min_size=1, max_size=200),
    base=st.sampled_from([0.0, 1000.0, T0]),
)
def test_no_window_of_t_seconds_holds_more_than_cps_t_plus_slack_plus_one_starts(
    cps: float, gaps: list[float], limits: list[int], base: float
) -> None:
    """The module's promise: in any window of ``t`` seconds at most ``cps * (t + slack) + 1``
    calls start, whatever the wake-up times and however many calls each wake-up wants."""
    tat, now = 0.0, base
    starts: list[float] = []
    for i, gap in enumerate(gaps):
        now += gap
        n, tat = start(tat, cps, now, limits[i % len(limits)])
        assert n >= 0
        starts += [now] * n
    # The densest windows start and end on a start time: starts i..j, t = s[j] - s[i], must
    # hold j - i + 1 <= cps * (t + slack) + 1, that is  a[j] - a[i] <= cps * slack  with
    # a[k] = k - cps * s[k]. Checked for every pair in one pass, against the lowest a[i] so far.
    tolerance = 1e-6  # seconds: the float rounding of Unix times near T0
    lowest = math.inf
    for k, at in enumerate(starts):
        a = k - cps * (at - base)  # at - base is exact: both are near base
        lowest = min(lowest, a)
        assert a - lowest <= cps * (PACING_SLACK + tolerance)


@given(
    cps=st.floats(0.1, 1000.0),
    tat=st.floats(-10.0, 10.0),
    now=st.floats(0.0, 10.0),
)
def test_allowance_and_advance_agree(cps: float, tat: float, now: float) -> None:
    """Each call allowed has its own interval before ``now`` (within the slack): starting them
    all leaves tat at most one interval past now, and starting one more would not be allowed."""
    n = allowance(tat, cps, now)
    assert n >= 0
    assert (n == 0) == (tat > now)
    if n:
        new_tat = advance(tat, cps, now, n)
        assert new_tat >= tat
        assert new_tat <= now + 1 / cps + 1e-9
        assert allowance(new_tat, cps, now) == 0 or new_tat <= now


# fair sharing -------------------------------------------------------------------------------------


def test_a_huge_campaign_does_not_starve_a_small_one() -> None:
    assert share(10, [("huge", 100_000), ("small", 3)]) == {"huge": 7, "small": 3}
    assert share(10, [("small", 3), ("huge", 100_000)]) == {"small": 3, "huge": 7}


def test_equal_demands_get_equal_shares() -> None:
    assert share(9, [(1, 50), (2, 50), (3, 50)]) == {1: 3, 2: 3, 3: 3}


def test_the_remainder_goes_to_those_first_in_order() -> None:
    # "Put the least recently served first": they get the odd slots.
    assert share(5, [(1, 50), (2, 50), (3, 50)]) == {1: 2, 2: 2, 3: 1}
    assert share(5, [(3, 50), (2, 50), (1, 50)]) == {3: 2, 2: 2, 1: 1}
    assert share(1, [("b", 9), ("a", 9)]) == {"b": 1, "a": 0}


def test_capacity_beyond_every_demand_grants_every_demand() -> None:
    assert share(100, [(1, 3), (2, 0), (3, 7)]) == {1: 3, 2: 0, 3: 7}


def test_zero_demand_gets_nothing_but_is_listed() -> None:
    assert share(10, [(1, 0), (2, 4)]) == {1: 0, 2: 4}
    assert share(10, [(1, -2), (2, 4)]) == {1: 0, 2: 4}  # over its lines: wants < 0


def test_no_capacity_grants_nothing() -> None:
    assert share(0, [(1, 5), (2, 5)]) == {1: 0, 2: 0}
    assert share(-3, [(1, 5)]) == {1: 0}


def test_no_claimants() -> None:
    assert share(10, []) == {}


def test_a_demand_met_early_passes_its_slots_on() -> None:
    assert share(12, [(1, 1), (2, 2), (3, 100)]) == {1: 1, 2: 2, 3: 9}


@given(
    capacity=st.integers(-5, 300),
    wants=st.lists(st.integers(-5, 200), max_size=12),
)
def test_share_is_max_min_fair(capacity: int, wants: list[int]) -> None:
    claims = list(enumerate(wants))
    granted = share(capacity, claims)
    assert set(granted) == {key for key, _ in claims}
    demand = sum(max(0, w) for w in wants)
    assert sum(granted.values()) == max(0, min(capacity, demand))  # nothing idle, nothing over
    for key, want in claims:
        assert 0 <= granted[key] <= max(0, want)
    for key, want in claims:
        if granted[key] < want:  # left wanting: nobody got more than one slot more
            for other, _ in claims:
                assert granted[other] <= granted[key] + 1
                if other > key:  # and those after it in order got no more than it
                    assert granted[other] <= granted[key]


@given(wants=st.lists(st.integers(1, 10_000), min_size=2, max_size=6), capacity=st.integers(0, 60))
def test_every_claimant_gets_at_least_its_fair_share(wants: list[int], capacity: int) -> None:
    assume(capacity <= sum(wants))
    granted = share(capacity, list(enumerate(wants)))
    fair = capacity // len(wants)
    for key, want in enumerate(wants):
        assert granted[key] >= min(want, fair)


@pytest.mark.parametrize("cps", [10.0, 20.0, 100.0, 1000.0])
def test_a_call_due_now_is_not_rounded_away_at_unix_times(cps: float) -> None:
    # tat and now as advance() and the clock make them near 1.7e9 s: both rounded to 2.4e-7 s
    tat = advance(T0, cps, T0, 1)  # one interval after T0
    now = T0 + 2 / cps  # a second interval later: two calls are due
    assert allowance(tat, cps, now) == 2
