"""Trunks: named ways out, each with its own line and rate limits, and the carrier behind it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from outdial.telephony.carrier import Carrier
from outdial.telephony.simulated import SimulatedCarrier, load_sim_config
from outdial.telephony.sip.carrier import SipCarrier
from outdial.telephony.sip.config import load_sip_config

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


def build_carrier(trunk: Trunk) -> Carrier:
    """The carrier that places this trunk's calls."""
    if trunk.kind is TrunkKind.SIMULATED:
        return SimulatedCarrier(load_sim_config(trunk.config))
    return SipCarrier(load_sip_config(trunk.config))
