"""A flow's transfer in ``refer`` mode asks the callee's leg to refer the call and reports the
leg's outcome; a carrier that cannot refer says ``failed``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from outdial.dispatch.transfer import transfer_call
from outdial.flow import actions as a
from outdial.flow.driver import TransferOutcome
from outdial.store.store import Claim
from outdial.telephony.carrier import (
    Carrier,
    DialRequest,
    HangupCause,
    Leg,
    LegEvent,
    TransferOutcomeName,
)

CLAIM = Claim(
    call_pk=7,
    call_id="c-7",
    deployment_id=2,
    trunk_id=1,
    attempt=1,
    phone_number="+16175551234",
    caller_id=None,
    postd=None,
    ring_timeout=30.0,
)


class _Leg(Leg):
    """A leg that cannot refer (the base ``Leg.refer``)."""

    def __init__(self) -> None:
        super().__init__(DialRequest("c-7", 1, "+16175551234", None, None, 30.0))

    async def _progress(self) -> AsyncGenerator[LegEvent, None]:
        return
        yield

    async def hangup(self, cause: HangupCause) -> None:
        pass

    async def send_dtmf(self, digits: str) -> None:
        pass


class _ReferringLeg(_Leg):
    def __init__(self, outcome: TransferOutcomeName) -> None:
        super().__init__()
        self.outcome = outcome
        self.referred: list[tuple[str, float]] = []

    async def refer(self, target: str, timeout_s: float) -> TransferOutcomeName:
        self.referred.append((target, timeout_s))
        return self.outcome


class _NoDial(Carrier):
    def dial(self, request: DialRequest) -> Leg:
        raise AssertionError("a transfer by REFER dials nothing")


@pytest.mark.parametrize("outcome", ["completed", "busy", "noanswer", "failed"])
def test_refer_mode_reports_the_legs_outcome(outcome: TransferOutcomeName) -> None:
    leg = _ReferringLeg(outcome)
    action = a.Transfer("tel:+16175550100", None, 12.0, "refer")
    got = asyncio.run(transfer_call(_NoDial(), leg, action, CLAIM))
    assert got == TransferOutcome(outcome)
    assert leg.referred == [("+16175550100", 12.0)]


def test_a_leg_that_cannot_refer_fails() -> None:
    action = a.Transfer("tel:+16175550100", None, 12.0, "refer")
    assert asyncio.run(transfer_call(_NoDial(), _Leg(), action, CLAIM)) == TransferOutcome("failed")


def test_refer_to_a_sip_target_is_not_built_yet() -> None:
    leg = _ReferringLeg("completed")
    action = a.Transfer("sip:agent@example.com", None, 12.0, "refer")
    assert asyncio.run(transfer_call(_NoDial(), leg, action, CLAIM)) == TransferOutcome("failed")
    assert leg.referred == []
