"""A flow's ``transfer`` step. ``bridge`` mode dials the target on the call's own trunk and,
once it answers, relays audio both ways until either side hangs up. ``refer`` mode asks the
far end to move the call to the target itself (``Leg.refer``: a SIP REFER); its outcome is the
far end's report of the transferee's call, and the far end then ends our leg as usual.

``sip:`` targets are not built yet: such a step ends ``failed`` with a logged reason, so the
flow's ``failed`` branch runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from outdial.calls import CalleeType
from outdial.flow import actions as a
from outdial.flow.driver import TransferOutcome
from outdial.numbers import parse_destination
from outdial.store.store import Claim
from outdial.telephony.carrier import (
    Answered,
    Carrier,
    DialRequest,
    Ended,
    HangupCause,
    Leg,
    close_audio,
)

log = logging.getLogger(__name__)


def _target(to: str) -> str:
    """The E.164 number of a ``tel:`` target (a bare number is read as one too)."""
    return parse_destination(to, field="to").e164


async def _relay(source: Leg, sink: Leg, *, end_sink: bool = False) -> None:
    """Play ``source``'s audio to ``sink`` until ``source`` ends; then hang ``sink`` up too
    when ``end_sink`` (the callee left: the agent's leg must not stay up)."""
    frames = source.audio()
    try:
        async for frame in frames:
            if not frame.early:
                sink.play(frame.samples)
    finally:
        await close_audio(frames)
    if end_sink:
        await sink.hangup(HangupCause.CALLEE_LEFT)


async def _refer(callee: Leg, number: str, action: a.Transfer, claim: Claim) -> TransferOutcome:
    """Ask the callee's far end to move the call to ``number`` (a SIP REFER)."""
    referred = await callee.refer(number, action.timeout_s)
    log.info("transfer of %s to %s by REFER: %s", claim.call_id, number, referred)
    return TransferOutcome(referred)


async def transfer_call(
    carrier: Carrier, callee: Leg, action: a.Transfer, claim: Claim
) -> TransferOutcome:
    """Transfer ``callee`` to ``action.to``: bridged (dial it, relay audio) or referred (the
    far end moves the call); the transfer's outcome."""
    if action.mode not in ("bridge", "refer"):
        log.warning("transfer of %s: mode %r is not supported yet", claim.call_id, action.mode)
        return TransferOutcome("failed")
    if action.to.startswith("sip:"):
        log.warning("transfer of %s: sip: targets are not supported yet", claim.call_id)
        return TransferOutcome("failed")
    try:
        number = _target(action.to)
    except Exception as error:
        log.warning("transfer of %s: %s", claim.call_id, error)
        return TransferOutcome("failed")
    if action.mode == "refer":
        return await _refer(callee, number, action, claim)
    request = DialRequest(
        call_id=f"{claim.call_id}-transfer",
        attempt=claim.attempt,
        phone_number=number,
        caller_id=(action.caller_id or claim.caller_id),
        postd=None,
        ring_timeout=action.timeout_s,
    )
    agent = carrier.dial(request)
    relays: list[asyncio.Task[None]] = []
    answered_at: float | None = None
    loop = asyncio.get_running_loop()
    outcome: TransferOutcome = TransferOutcome("failed")
    try:
        async for event in agent.events():
            if isinstance(event, Answered):
                answered_at = loop.time()
                relays = [
                    asyncio.create_task(
                        _relay(callee, agent, end_sink=True), name="bridge-to-agent"
                    ),
                    asyncio.create_task(_relay(agent, callee), name="bridge-to-callee"),
                ]
            elif isinstance(event, Ended):
                if answered_at is not None:
                    outcome = TransferOutcome("completed", loop.time() - answered_at)
                elif event.callee_type is CalleeType.BUSY:
                    outcome = TransferOutcome("busy")
                elif event.callee_type is CalleeType.NOANSWER:
                    outcome = TransferOutcome("noanswer")
                break
    except asyncio.CancelledError:
        await agent.hangup(HangupCause.FLOW_ENDED)
        raise
    finally:
        for task in relays:
            task.cancel()
        for task in relays:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    return outcome
