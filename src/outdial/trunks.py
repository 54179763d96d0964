"""Trunks as settings: named ways out, each with its own line and rate limits.

The store keeps these; ``outdial.telephony.trunk.build_carrier`` turns one into the carrier
that places its calls.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

DEFAULT_TRUNK_LINES = 30  # calls a trunk carries at once
DEFAULT_TRUNK_CPS = 10.0  # calls a trunk starts per second


class TrunkKind(enum.StrEnum):
    SIMULATED = "simulated"
    SIP = "sip"


@dataclass(frozen=True, slots=True)
class Trunk:
    id: int
    name: str
    kind: TrunkKind
    lines: int
    cps: float
    config: str  # JSON: the simulation rules, or the SIP peer's settings
