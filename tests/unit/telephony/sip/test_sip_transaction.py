"""Client transactions against a network double that loses, repeats or never answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from outdial.telephony.sip import message
from outdial.telephony.sip.errors import SipTimeout
from outdial.telephony.sip.message import Request
from outdial.telephony.sip.transaction import ClientTransaction, State, Timers, TransactionEvent

GOLDEN = Path(__file__).parent / "golden"
TIMERS = Timers(t1=0.01, t2=0.04, t4=0.02, d=0.05)


def _invite() -> Request:
    invite = message.parse((GOLDEN / "invite.sip").read_bytes())
    assert isinstance(invite, Request)
    return invite


class Wire:
    def __init__(self) -> None:
        self.sent: list[Request] = []
        self.events: list[TransactionEvent] = []
        self.terminated = False

    def tx(self, request: Request) -> ClientTransaction:
        return ClientTransaction(
            request,
            self.sent.append,
            lambda _, event: self.events.append(event),
            lambda _: setattr(self, "terminated", True),
            TIMERS,
        )


def test_silence_retransmits_then_times_out() -> None:
    async def main() -> Wire:
        wire = Wire()
        tx = wire.tx(_invite())
        tx.start()
        while not wire.terminated:
            await asyncio.sleep(0.01)
        return wire

    wire = asyncio.run(main())
    assert len(wire.sent) >= 5  # Timer A: 10, 20, 40, 80, 160, 320 ms within Timer B (640 ms)
    assert {r.serialize() for r in wire.sent} == {_invite().serialize()}
    assert len(wire.events) == 1 and isinstance(wire.events[0], SipTimeout)


def test_provisional_stops_retransmission_and_repeated_finals_are_reacked_once_reported() -> None:
    async def main() -> tuple[Wire, ClientTransaction]:
        wire = Wire()
        invite = _invite()
        tx = wire.tx(invite)
        tx.start()
        tx.receive(message.response_to(invite, 180, "Ringing", to_tag="t"))
        await asyncio.sleep(0.1)
        sent_while_ringing = len(wire.sent)
        busy = message.response_to(invite, 486, "Busy Here", to_tag="t")
        tx.receive(busy)
        tx.receive(busy)  # retransmitted by the far end
        tx.receive(busy)
        assert sent_while_ringing == 1
        while not wire.terminated:
            await asyncio.sleep(0.01)
        return wire, tx

    wire, tx = asyncio.run(main())
    assert [r.method for r in wire.sent] == ["INVITE", "ACK", "ACK", "ACK"]
    assert [getattr(e, "status", None) for e in wire.events] == [180, 486]
    assert tx.state is State.TERMINATED


def test_2xx_ends_the_invite_transaction_without_an_ack() -> None:
    async def main() -> Wire:
        wire = Wire()
        invite = _invite()
        tx = wire.tx(invite)
        tx.start()
        tx.receive(message.response_to(invite, 200, "OK", to_tag="t"))
        while not wire.terminated:
            await asyncio.sleep(0.01)
        return wire

    wire = asyncio.run(main())
    assert [r.method for r in wire.sent] == ["INVITE"]  # the dialog ACKs 2xx, not us
    assert [getattr(e, "status", None) for e in wire.events] == [200]
