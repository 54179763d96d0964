from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import pytest

from outdial.telephony.sip import message
from outdial.telephony.sip.dialog import Dialog
from outdial.telephony.sip.errors import SipTimeout
from outdial.telephony.sip.host import LegHost
from outdial.telephony.sip.message import Request
from outdial.telephony.sip.refer import Referral, outcome_for, sipfrag_status
from outdial.telephony.sip.transaction import ClientTransaction, TransactionEvent
from outdial.telephony.sip.uri import NameAddr, SipUri

Callback = Callable[[ClientTransaction, TransactionEvent], None]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"SIP/2.0 200 OK\r\n", 200),
        (b"SIP/2.0 100 Trying", 100),
        (b"\r\nSIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP x\r\n\r\n", 486),
        (b"sip/2.0 180 Ringing", 180),
        (b"SIP/2.0 603", 603),
        (b"", None),
        (b"hello there", None),
        (b"SIP/2.0 20 OK", None),
        (b"SIP/2.0 abc OK", None),
        (b"INVITE sip:x@y SIP/2.0", None),
    ],
)
def test_sipfrag_status_line(body: bytes, status: int | None) -> None:
    assert sipfrag_status(body) == status


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (100, None),
        (180, None),
        (183, None),
        (200, "completed"),
        (202, "completed"),
        (486, "busy"),
        (600, "busy"),
        (408, "noanswer"),
        (480, "noanswer"),
        (487, "noanswer"),
        (404, "failed"),
        (503, "failed"),
        (603, "failed"),
    ],
)
def test_outcome_of_the_transferees_status(status: int, outcome: str | None) -> None:
    assert outcome_for(status) == outcome


@dataclass
class _Config:
    uri: SipUri = field(default_factory=lambda: SipUri("trunk.example.com", port=5080))


@dataclass
class _Host:
    """The parts of ``LegHost`` a ``Referral`` uses."""

    config: _Config = field(default_factory=_Config)
    peer: tuple[str, int] = ("192.0.2.1", 5080)
    sent: list[tuple[Request, tuple[str, int], Callback]] = field(default_factory=list)

    def via(self) -> str:
        return "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKnew;rport"

    def contact(self) -> str:
        return "<sip:outdial@127.0.0.1:5062>"

    def start_transaction(
        self, request: Request, addr: tuple[str, int], on_event: Callback
    ) -> ClientTransaction:
        self.sent.append((request, addr, on_event))
        return cast(ClientTransaction, object())


def _dialog() -> Dialog:
    return Dialog(
        call_id="abc@outdial",
        local=NameAddr.parse('"8009957586" <sip:8009957586@trunk.example.com>;tag=ours'),
        remote=NameAddr.parse("<sip:+16175551234@trunk.example.com>;tag=theirs"),
        remote_target="sip:callee@192.0.2.9:5070",
        route_set=[],
        local_seq=1,
    )


def _referral(host: _Host) -> Referral:
    referral = Referral(cast(LegHost, host), _dialog(), "+16175550100")
    referral.send()
    return referral


def _notify(body: bytes, *, state: str = "active", event: str = "refer") -> Request:
    return message.request(
        "NOTIFY",
        "sip:outdial@127.0.0.1:5062",
        [
            ("Via", "SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKn1"),
            ("From", "<sip:+16175551234@trunk.example.com>;tag=theirs"),
            ("To", "<sip:8009957586@trunk.example.com>;tag=ours"),
            ("Call-ID", "abc@outdial"),
            ("CSeq", "7 NOTIFY"),
            ("Event", event),
            ("Subscription-State", state),
            ("Content-Type", "message/sipfrag"),
        ],
        body,
    )


def test_refer_names_the_target_on_the_trunk_and_who_refers() -> None:
    async def main() -> None:
        host = _Host()
        _referral(host)
        [(refer, addr, _)] = host.sent
        assert refer.method == "REFER"
        assert refer.uri == "sip:callee@192.0.2.9:5070"
        assert addr == ("192.0.2.9", 5070)
        assert refer.headers.get("Refer-To") == "<sip:+16175550100@trunk.example.com:5080>"
        assert refer.headers.get("Referred-By") == "<sip:8009957586@trunk.example.com>"
        assert refer.headers.get("Contact") == "<sip:outdial@127.0.0.1:5062>"
        assert refer.cseq == (2, "REFER")
        assert refer.to.tag == "theirs"

    asyncio.run(main())


def test_provisional_notifies_wait_and_a_final_one_decides() -> None:
    async def main() -> None:
        referral = _referral(_Host())
        ok = referral.on_notify(_notify(b"SIP/2.0 100 Trying\r\n"))
        assert ok.status == 200
        assert referral.on_notify(_notify(b"SIP/2.0 180 Ringing\r\n")).status == 200
        assert not referral.outcome.done()
        final = _notify(b"SIP/2.0 486 Busy Here\r\n", state="terminated;reason=noresource")
        assert referral.on_notify(final).status == 200
        assert await referral.wait(1) == "busy"

    asyncio.run(main())


def test_refused_refer_fails() -> None:
    async def main() -> None:
        host = _Host()
        referral = _referral(host)
        [(refer, _, callback)] = host.sent
        callback(cast(ClientTransaction, object()), message.response_to(refer, 202, "Accepted"))
        assert not referral.outcome.done()
        callback(cast(ClientTransaction, object()), message.response_to(refer, 603, "Decline"))
        assert await referral.wait(1) == "failed"

    asyncio.run(main())


def test_unanswered_refer_fails() -> None:
    async def main() -> None:
        host = _Host()
        referral = _referral(host)
        [(_, _, callback)] = host.sent
        callback(cast(ClientTransaction, object()), SipTimeout("Timer F"))
        assert await referral.wait(1) == "failed"

    asyncio.run(main())


def test_no_final_notify_in_time_fails() -> None:
    async def main() -> None:
        referral = _referral(_Host())
        referral.on_notify(_notify(b"SIP/2.0 100 Trying\r\n"))
        assert await referral.wait(0.05) == "failed"

    asyncio.run(main())


def test_terminated_subscription_without_a_final_status_fails() -> None:
    async def main() -> None:
        referral = _referral(_Host())
        referral.on_notify(_notify(b"SIP/2.0 180 Ringing\r\n", state="terminated;reason=timeout"))
        assert await referral.wait(1) == "failed"

    asyncio.run(main())


def test_call_ending_first_fails() -> None:
    async def main() -> None:
        referral = _referral(_Host())
        referral.ended()
        assert await referral.wait(1) == "failed"

    asyncio.run(main())


def test_notify_of_another_event_or_subscription_is_refused() -> None:
    async def main() -> None:
        referral = _referral(_Host())
        assert referral.on_notify(_notify(b"", event="presence")).status == 489
        assert referral.on_notify(_notify(b"SIP/2.0 200 OK", event="refer;id=99")).status == 481
        assert not referral.outcome.done()
        assert referral.on_notify(_notify(b"SIP/2.0 200 OK", event="refer;id=2")).status == 200
        assert await referral.wait(1) == "completed"

    asyncio.run(main())
