from __future__ import annotations

from pathlib import Path

from outdial.telephony.sip import message
from outdial.telephony.sip.dialog import Dialog
from outdial.telephony.sip.message import Request, Response
from outdial.telephony.sip.transaction import ack_for_non_2xx, cancel_for

GOLDEN = Path(__file__).parent / "golden"


def _invite() -> Request:
    invite = message.parse((GOLDEN / "invite.sip").read_bytes())
    assert isinstance(invite, Request)
    return invite


def _ok() -> Response:
    ok = message.parse((GOLDEN / "ok_record_route.sip").read_bytes())
    assert isinstance(ok, Response)
    return ok


def test_dialog_from_2xx_reverses_record_route_and_targets_contact() -> None:
    dialog = Dialog.from_response(_invite(), _ok())
    assert dialog.route_set == [
        "<sip:p0.example.com;lr>",
        "<sip:p1.example.com;lr>",
        "<sip:p2.example.com;lr>",
    ]
    assert dialog.remote_target == "sip:callee@127.0.0.1:5070;transport=udp"
    assert dialog.remote_tag == "a6c85cf"
    assert dialog.next_hop().host == "p0.example.com"


def test_ack_for_2xx_is_end_to_end_through_the_route_set() -> None:
    invite = _invite()
    dialog = Dialog.from_response(invite, _ok())
    ack = dialog.ack("SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKnew;rport", invite)
    assert ack.uri == "sip:callee@127.0.0.1:5070;transport=udp"
    assert ack.headers.values("Route") == dialog.route_set
    assert ack.cseq == (314159, "ACK")
    assert ack.top_via.branch == "z9hG4bKnew"
    assert ack.to.tag == "a6c85cf"
    assert message.parse(ack.serialize()).serialize() == ack.serialize()


def test_bye_takes_the_next_cseq() -> None:
    dialog = Dialog.from_response(_invite(), _ok())
    bye = dialog.request("BYE", "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKb")
    assert bye.cseq == (314160, "BYE")
    assert bye.from_.tag == "1928301774"


def test_strict_router_becomes_the_request_uri() -> None:
    ok = _ok()
    ok.headers.set("Record-Route", "<sip:strict.example.com>")
    dialog = Dialog.from_response(_invite(), ok)
    bye = dialog.request("BYE", "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKb")
    assert bye.uri == "sip:strict.example.com"
    assert bye.headers.values("Route") == ["<sip:callee@127.0.0.1:5070;transport=udp>"]


def test_ack_for_non_2xx_and_cancel_reuse_the_invite_branch() -> None:
    invite = _invite()
    busy = message.response_to(invite, 486, "Busy Here", to_tag="xyz")
    ack = ack_for_non_2xx(invite, busy)
    assert ack.uri == invite.uri
    assert ack.top_via.branch == invite.top_via.branch
    assert ack.to.tag == "xyz"
    assert ack.cseq == (314159, "ACK")
    cancel = cancel_for(invite)
    assert (cancel.uri, cancel.top_via.branch) == (invite.uri, invite.top_via.branch)
    assert cancel.cseq == (314159, "CANCEL")
    assert cancel.to.tag is None
