from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outdial.telephony.sip import message
from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.message import Request, Response

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_FILES = sorted(GOLDEN.glob("*.sip"))

BASE = (
    "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKx\r\n"
    "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x@y\r\nCSeq: 1 OPTIONS\r\n"
)


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.name)
def test_golden_messages_round_trip_byte_for_byte(path: Path) -> None:
    data = path.read_bytes()
    assert message.parse(data).serialize() == data


def test_invite_fields() -> None:
    msg = message.parse((GOLDEN / "invite.sip").read_bytes())
    assert isinstance(msg, Request)
    assert msg.method == "INVITE"
    assert msg.request_uri.user == "+16175551234"
    assert msg.request_uri.param("user") == "phone"
    assert msg.cseq == (314159, "INVITE")
    assert msg.from_.tag == "1928301774"
    assert msg.from_.display == '"8009957586"'
    assert msg.to.tag is None
    assert msg.top_via.branch == "z9hG4bK776asdhds"
    assert msg.body.startswith(b"v=0\r\n")
    assert msg.headers.get("content-length") == str(len(msg.body))


def test_compact_headers_are_found_by_long_names() -> None:
    msg = message.parse((GOLDEN / "ringing_compact.sip").read_bytes())
    assert isinstance(msg, Response)
    assert (msg.status, msg.reason) == (180, "Ringing")
    assert msg.call_id == "a84b4c76e66710@127.0.0.1"
    assert msg.to.tag == "a6c85cf"
    assert msg.headers.get("Contact") == "<sip:callee@127.0.0.1:5070>"
    assert msg.top_via.port == 5062
    assert msg.headers.get("l") == msg.headers.get("Content-Length") == "0"


def test_list_headers_split_over_lines_and_commas() -> None:
    msg = message.parse((GOLDEN / "ok_record_route.sip").read_bytes())
    assert msg.headers.values("record-route") == [
        "<sip:p2.example.com;lr>",
        "<sip:p1.example.com;lr>",
        "<sip:p0.example.com;lr>",
    ]
    assert len(msg.headers.get_all("Record-Route")) == 2


def test_commas_inside_quotes_do_not_split() -> None:
    data = (
        "SIP/2.0 200 OK\r\n" + BASE + 'Contact: "Smith, J" <sip:j@x>, <sip:k@y;a="1,2">\r\n\r\n'
    ).encode()
    assert message.parse(data).headers.values("Contact") == [
        '"Smith, J" <sip:j@x>',
        '<sip:k@y;a="1,2">',
    ]


def test_folded_lines_are_unfolded() -> None:
    data = (
        "SIP/2.0 200 OK\r\n" + BASE + "Subject: I know you're there,\r\n\tpick up\r\n\r\n"
    ).encode()
    msg = message.parse(data)
    assert msg.headers.get("s") == "I know you're there, pick up"
    unfolded = msg.serialize()
    assert b"there, pick up\r\n" in unfolded
    assert message.parse(unfolded).serialize() == unfolded


def test_body_without_content_length_runs_to_the_end() -> None:
    data = ("SIP/2.0 200 OK\r\n" + BASE + "\r\nhello").encode()
    assert message.parse(data).body == b"hello"


def test_content_length_cuts_trailing_bytes() -> None:
    data = ("SIP/2.0 200 OK\r\n" + BASE + "Content-Length: 2\r\n\r\nhello").encode()
    assert message.parse(data).body == b"he"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "empty message"),
        (b"\r\n\r\n", "empty message"),
        (b"INVITE sip:a@b SIP/2.0\r\n", "no blank line (CRLF CRLF) after the headers"),
        ("SIP/2.0 99 Low\r\n" + BASE + "\r\n", "bad status code '99'"),
        ("SIP/2.0 abc OK\r\n" + BASE + "\r\n", "bad status code 'abc'"),
        (
            "OPTIONS sip:a@b SIP/3.0\r\n" + BASE + "\r\n",
            "unsupported version 'SIP/3.0' (only SIP/2.0)",
        ),
        ("OPTIONS sip:a@b\r\n" + BASE + "\r\n", "bad start line 'OPTIONS sip:a@b'"),
        ("OPT(ONS sip:a@b SIP/2.0\r\n" + BASE + "\r\n", "bad method 'OPT(ONS'"),
        ("OPTIONS nouri SIP/2.0\r\n" + BASE + "\r\n", "bad Request-URI 'nouri'"),
        (
            "INVITE sip:a@b SIP/2.0\r\n" + BASE + "\r\n",
            "CSeq method 'OPTIONS' does not match 'INVITE'",
        ),
        ("SIP/2.0 200 OK\r\n" + BASE + "Bogus\r\n\r\n", "header line without a colon: 'Bogus'"),
        ("SIP/2.0 200 OK\r\n" + BASE + "Bad Name: x\r\n\r\n", "bad header name 'Bad Name'"),
        ("SIP/2.0 200 OK\r\n continued\r\n" + BASE + "\r\n", "continuation line before any header"),
        (
            "SIP/2.0 200 OK\r\n" + BASE.replace("CSeq: 1 OPTIONS", "CSeq: x OPTIONS") + "\r\n",
            "bad CSeq 'x OPTIONS'",
        ),
        (
            "SIP/2.0 200 OK\r\n" + BASE.replace("Call-ID: x@y\r\n", "") + "\r\n",
            "missing header: Call-ID",
        ),
        (
            "SIP/2.0 200 OK\r\n" + BASE + "Content-Length: 9\r\n\r\nabc",
            "Content-Length 9 but only 3 bytes of body",
        ),
        ("SIP/2.0 200 OK\r\n" + BASE + "Content-Length: -1\r\n\r\n", "bad Content-Length '-1'"),
        (b"SIP/2.0 200 OK\r\nX: \xff\r\n\r\n", "header section is not UTF-8"),
    ],
)
def test_malformed_messages_are_refused_with_exact_errors(data: str | bytes, error: str) -> None:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(SipParseError) as info:
        message.parse(raw)
    assert str(info.value) == error


def test_frame_length_finds_message_boundaries_in_a_stream() -> None:
    one = (GOLDEN / "invite.sip").read_bytes()
    two = (GOLDEN / "bye.sip").read_bytes()
    assert message.frame_length(one[:10]) is None
    assert message.frame_length(one[:-3]) is None
    assert message.frame_length(one + two) == len(one)


def test_response_to_copies_the_transaction_headers() -> None:
    bye = message.parse((GOLDEN / "bye.sip").read_bytes())
    assert isinstance(bye, Request)
    ok = message.response_to(bye, 200, "OK")
    assert ok.cseq == (2, "BYE")
    assert ok.headers.get_all("Via") == bye.headers.get_all("Via")
    assert ok.to.tag == "1928301774"
    again = message.parse(ok.serialize())
    assert again.serialize() == ok.serialize()


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_random_bytes_parse_or_fail_cleanly(data: bytes) -> None:
    with contextlib.suppress(SipParseError):
        message.parse(data)


header_value = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=","),
    min_size=1,
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(
    golden=st.sampled_from(GOLDEN_FILES),
    cut=st.integers(min_value=0, max_value=2000),
    flip=st.integers(min_value=0, max_value=255),
    extra=st.lists(
        st.tuples(st.sampled_from(["X-A", "Subject", "s", "Allow"]), header_value), max_size=4
    ),
)
def test_fuzz_mutated_golden_messages(
    golden: Path, cut: int, flip: int, extra: list[tuple[str, str]]
) -> None:
    data = bytearray(golden.read_bytes())
    if cut < len(data):
        data[cut] = flip
    try:
        msg = message.parse(bytes(data))
    except SipParseError:
        return
    for name, value in extra:
        msg.headers.add(name, value)
    out = msg.serialize()
    # Anything we parse, we write back in a form that parses to the same message.
    again = message.parse(out)
    assert again.serialize() == out
    assert again.headers == msg.headers
