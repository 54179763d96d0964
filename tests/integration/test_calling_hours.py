"""Calling hours judged in the callee's local time, with a frozen clock, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from outdial.accounts import Account
from outdial.calls import CallStatus
from outdial.dispatch.hours_filter import hours_filter
from outdial.options import Schedule
from outdial.store.store import NewCall, Store, new_call_ids
from outdial.trunks import TrunkKind

BOSTON = "+16175550101"  # America/New_York
LOS_ANGELES = "+14155550101"  # America/Los_Angeles


def at(hour: int, minute: int = 0) -> float:
    return datetime(2026, 6, 10, hour, minute, tzinfo=UTC).timestamp()


def setup(store: Store, clock: Any) -> tuple[Account, list[str]]:
    account, _ = store.create_account("hours@example.com")
    app = store.create_application(account.email, "hours")
    trunk = store.create_trunk(
        "sim", TrunkKind.SIMULATED, lines=10, cps=100.0, config=json.dumps({"rules": []})
    )
    dep = store.create_deployment(app.id, trunk_id=trunk.id, calling_hours="08:00-21:00")
    ids = new_call_ids(2)
    store.queue_calls(
        dep,
        Schedule(start_at=clock()),
        [
            NewCall(ids[0], BOSTON, None, None, None, "{}", None),
            NewCall(ids[1], LOS_ANGELES, None, None, None, "{}", None),
        ],
    )
    return account, ids


def claim(store: Store, clock: Any) -> list[str]:
    got = store.claim("w", lease=30.0, limit=10, hours=hours_filter)
    return [c.phone_number for c in got]


def test_each_callee_is_called_inside_their_own_hours(store: Store, clock: Any) -> None:
    clock.now = at(13)  # 09:00 in Boston, 06:00 in Los Angeles
    account, (boston, los_angeles) = setup(store, clock)
    assert claim(store, clock) == [BOSTON]
    waiting = store.get_call(account, los_angeles)
    assert waiting.status is CallStatus.QUEUED  # outside its hours it waits; it does not fail
    clock.now = at(14, 59)
    assert claim(store, clock) == []
    clock.now = at(15)  # 08:00 in Los Angeles
    assert claim(store, clock) == [LOS_ANGELES]
    assert store.get_call(account, boston).status is CallStatus.DIALING


def test_nobody_is_called_at_night(store: Store, clock: Any) -> None:
    clock.now = at(3)  # 23:00 in Boston, 20:00 in Los Angeles (still open there)
    account, (boston, _) = setup(store, clock)
    assert claim(store, clock) == [LOS_ANGELES]
    clock.now = at(11, 59)  # 07:59 in Boston
    assert claim(store, clock) == []
    clock.now = at(12)  # 08:00 in Boston
    assert claim(store, clock) == [BOSTON]
    assert store.get_call(account, boston).attempts == 1


def test_hours_filter_reports_when_each_window_opens() -> None:
    allowed, later = hours_filter("08:00-21:00", [(1, BOSTON), (2, LOS_ANGELES)], at(13))
    assert allowed == [1]
    assert later == {2: at(15)}
