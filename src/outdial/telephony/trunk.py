"""The carrier behind a trunk (the trunk's settings are ``outdial.trunks.Trunk``)."""

from __future__ import annotations

from outdial.telephony.carrier import Carrier
from outdial.telephony.simulated import SimulatedCarrier, load_sim_config
from outdial.telephony.sip.carrier import SipCarrier
from outdial.telephony.sip.config import load_sip_config
from outdial.trunks import Trunk, TrunkKind


def build_carrier(trunk: Trunk) -> Carrier:
    """The carrier that places this trunk's calls."""
    if trunk.kind is TrunkKind.SIMULATED:
        return SimulatedCarrier(load_sim_config(trunk.config))
    return SipCarrier(load_sip_config(trunk.config))
