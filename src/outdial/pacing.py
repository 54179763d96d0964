"""Call pacing and fair sharing: pure arithmetic the claim query applies.

Pacing is a generic cell-rate algorithm (GCRA): each deployment and trunk keeps a theoretical
arrival time (``tat``); a call may start when ``tat`` has come, and each start moves it on by
``1 / cps``. The state lives in the database row, so every worker sharing a trunk shares its
rate. A worker that wakes late may catch up by at most ``PACING_SLACK`` seconds' worth of calls,
so in any window of ``t`` seconds at most ``cps * (t + PACING_SLACK) + 1`` calls start.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import TypeVar

PACING_SLACK = 0.1  # seconds of missed starts a late dispatcher may make up at once
# Times a double's spacing at ``now`` (2.4e-7 s near 1.7e9): how far apart two Unix times that
# should be a whole interval apart can come out, so a call due now is not floored away.
ROUNDING_ULPS = 4

K = TypeVar("K", bound=Hashable)


def allowance(tat: float, cps: float, now: float) -> int:
    """How many calls may start at ``now``."""
    if tat > now:
        return 0
    if tat <= now - PACING_SLACK:
        # Late by the slack or more: the full burst. Computed from the constant, not from
        # ``now - (now - PACING_SLACK)``, which at Unix-time magnitudes (ulp 2.4e-7 s) comes
        # out a hair under PACING_SLACK and would floor away the burst's last call.
        return math.floor(PACING_SLACK * cps + 1e-9) + 1
    rounding = ROUNDING_ULPS * math.ulp(now) * cps + 1e-9  # in calls
    return math.floor((now - tat) * cps + rounding) + 1


def advance(tat: float, cps: float, now: float, started: int) -> float:
    """The new ``tat`` after ``started`` calls started at ``now``."""
    if started == 0:
        return tat
    return max(tat, now - PACING_SLACK) + started / cps


def next_start(tat: float, now: float) -> float:
    """When the next call may start (``now`` if one may start already)."""
    return max(tat, now)


def share(capacity: int, wants: Sequence[tuple[K, int]]) -> dict[K, int]:
    """Split ``capacity`` between claimants round-robin, one call at a time, in the given order.

    A small deployment gets as many slots as a huge one while both want more, so one campaign
    cannot starve another on a shared trunk (SPEC §6). Put the least recently served first.
    """
    granted = {key: 0 for key, _ in wants}
    remaining = {key: want for key, want in wants if want > 0}
    while capacity > 0 and remaining:
        for key in list(remaining):
            if capacity == 0:
                break
            granted[key] += 1
            capacity -= 1
            remaining[key] -= 1
            if remaining[key] == 0:
                del remaining[key]
    return granted
