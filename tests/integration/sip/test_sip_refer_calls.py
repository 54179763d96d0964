"""A transfer by REFER (RFC 3515) from ``SipLeg.refer`` to sipp on 127.0.0.1: sipp accepts or
refuses the REFER, reports the transferee's call in NOTIFYs, then hangs up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sip_support import TEST_TIMERS, Sipp, place_call, request, run, trunk_config

from outdial.telephony.carrier import Ended, Leg
from outdial.telephony.sip.carrier import SipCarrier

TARGET = "+16175550100"


async def _refer_call(port: int, timeout_s: float = 5.0) -> tuple[list[str], Ended, int]:
    """Answer, refer to TARGET; the outcomes, the leg's end and the transactions left."""
    outcomes: list[str] = []

    async def refer(leg: Leg) -> None:
        outcomes.append(await leg.refer(TARGET, timeout_s))

    carrier = SipCarrier(trunk_config(port), timers=TEST_TIMERS)
    try:
        record = await place_call(carrier, request(), on_answer=refer)
        await asyncio.sleep(max(TEST_TIMERS.d, TEST_TIMERS.t4) + 0.1)
        left = len(carrier._transactions)
    finally:
        await carrier.close()
    return outcomes, record.ended, left


def _refer_to(peer: Sipp) -> list[str]:
    return [
        line.strip()
        for line in peer.messages().splitlines()
        if line.lower().startswith(("refer-to:", "referred-by:"))
    ]


@pytest.mark.parametrize(
    ("final", "outcome"),
    [
        ("SIP/2.0 200 OK", "completed"),
        ("SIP/2.0 486 Busy Here", "busy"),
        ("SIP/2.0 480 Temporarily Unavailable", "noanswer"),
        ("SIP/2.0 404 Not Found", "failed"),
    ],
)
def test_accepted_refer_ends_as_the_transferees_call_did(
    sipp: Callable[..., Sipp], final: str, outcome: str
) -> None:
    peer = sipp("refer_accept.xml", final=final)
    outcomes, ended, left = run(_refer_call(peer.port))
    assert outcomes == [outcome]
    assert ended == Ended(None, "callee hung up")  # the transferor leaves the call
    assert peer.wait() == 0, peer.output()
    assert _refer_to(peer) == [
        f"Refer-To: <sip:{TARGET}@127.0.0.1:{peer.port}>",
        "Referred-By: <sip:8009957586@127.0.0.1>",
    ]
    assert left == 0


def test_refused_refer_fails(sipp: Callable[..., Sipp]) -> None:
    peer = sipp("refer_decline.xml")
    outcomes, ended, left = run(_refer_call(peer.port))
    assert outcomes == ["failed"]
    assert ended == Ended(None, "callee hung up")
    assert peer.wait() == 0, peer.output()
    assert left == 0
