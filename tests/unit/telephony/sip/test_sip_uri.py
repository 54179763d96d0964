from __future__ import annotations

import pytest

from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.uri import NameAddr, SipUri, Via


@pytest.mark.parametrize(
    "text",
    [
        "sip:+16175551234@127.0.0.1:5070;user=phone",
        "sip:p1.example.com;lr",
        "sips:alice:secret@example.com?subject=project",
        "sip:[::1]:5062;transport=udp",
        "sip:alice@example.com;maddr=239.255.255.1;ttl=15",
    ],
)
def test_uris_round_trip(text: str) -> None:
    assert SipUri.parse(text).serialize() == text


def test_uri_fields() -> None:
    uri = SipUri.parse("sip:+16175551234@127.0.0.1:5070;user=phone")
    assert (uri.user, uri.host, uri.port) == ("+16175551234", "127.0.0.1", 5070)
    assert uri.host_port == ("127.0.0.1", 5070)
    assert SipUri.parse("sips:x@[::1]").host_port == ("::1", 5061)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("tel:+1617", "not a sip: or sips: URI: 'tel:+1617'"),
        ("sip:a@host:99999", "bad port '99999' in URI 'sip:a@host:99999'"),
        ("sip:a@", "bad host in URI 'sip:a@'"),
        ("sip:@host", "empty user part in URI 'sip:@host'"),
        ("sip:[::1", "unterminated IPv6 reference in URI 'sip:[::1'"),
    ],
)
def test_bad_uris(text: str, error: str) -> None:
    with pytest.raises(SipParseError) as info:
        SipUri.parse(text)
    assert str(info.value) == error


@pytest.mark.parametrize(
    "text",
    [
        '"Ann, B" <sip:ann@example.com>;tag=1f2e',
        "<sip:p1.example.com;lr>",
        "sip:bob@example.com;tag=88",
        'Anonymous <sip:anonymous@anonymous.invalid>;tag=x;foo="a;b"',
    ],
)
def test_name_addr_round_trip(text: str) -> None:
    assert NameAddr.parse(text).serialize() == text


def test_params_of_an_unbracketed_address_belong_to_the_header() -> None:
    addr = NameAddr.parse("sip:bob@example.com;tag=88")
    assert addr.tag == "88"
    assert addr.uri.params == ()
    assert NameAddr.parse("<sip:a@b>").with_tag("t1").serialize() == "<sip:a@b>;tag=t1"


def test_via() -> None:
    via = Via.parse("SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKabc;rport=5062;received=10.0.0.1")
    assert (via.transport, via.host, via.port, via.branch) == (
        "UDP",
        "127.0.0.1",
        5062,
        "z9hG4bKabc",
    )
    assert (
        via.serialize()
        == "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKabc;rport=5062;received=10.0.0.1"
    )
    with pytest.raises(SipParseError) as info:
        Via.parse("HTTP/1.1 host")
    assert str(info.value) == "bad Via protocol in 'HTTP/1.1 host'"
