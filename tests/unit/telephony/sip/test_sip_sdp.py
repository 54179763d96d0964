from __future__ import annotations

import pytest

from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.sdp import (
    PCMA,
    PCMU,
    SessionDescription,
    make_answer,
    make_offer,
    negotiate,
)

SIPP_ANSWER = (
    b"v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n"
    b"c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 101\r\n"
    b"a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-11,16\r\n"
)


def test_offer_round_trips_and_offers_our_codecs() -> None:
    offer = make_offer("127.0.0.1", 40000, session_id=42)
    data = offer.serialize()
    assert SessionDescription.parse(data).serialize() == data
    assert b"m=audio 40000 RTP/AVP 0 8 101\r\n" in data
    assert b"a=rtpmap:101 telephone-event/8000\r\n" in data


def test_answer_golden() -> None:
    answer = SessionDescription.parse(SIPP_ANSWER)
    assert answer.serialize() == SIPP_ANSWER
    media = negotiate(answer)
    assert (media.address, media.port, media.payload_type, media.dtmf_payload_type) == (
        "127.0.0.1",
        6000,
        PCMA,
        101,
    )
    assert media.direction == "sendrecv"


def test_media_level_connection_wins_and_static_types_need_no_rtpmap() -> None:
    sdp = (
        b"v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nc=IN IP4 1.1.1.1\r\nt=0 0\r\n"
        b"m=audio 7000 RTP/AVP 0\r\nc=IN IP4 2.2.2.2\r\na=recvonly\r\n"
    )
    media = negotiate(SessionDescription.parse(sdp))
    assert (media.address, media.payload_type, media.dtmf_payload_type, media.direction) == (
        "2.2.2.2",
        PCMU,
        None,
        "recvonly",
    )


@pytest.mark.parametrize(
    ("sdp", "error"),
    [
        (b"x=1\r\n", "SDP does not start with v=0"),
        (b"v=0\r\nbogus\r\n", "SDP line 2 is not type=value: 'bogus'"),
        (b"v=0\r\nc=IN IP4 1.1.1.1\r\nm=video 5 RTP/AVP 31\r\n", "SDP answer has no audio stream"),
        (
            b"v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 5 RTP/AVP 18\r\n",
            "SDP answer accepts neither PCMU nor PCMA",
        ),
        (b"v=0\r\nm=audio 5 RTP/AVP 0\r\n", "SDP answer has no connection address (c=)"),
        (
            b"v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio x RTP/AVP 0\r\n",
            "bad media port in m='audio x RTP/AVP 0'",
        ),
    ],
)
def test_bad_answers(sdp: bytes, error: str) -> None:
    with pytest.raises(SipParseError) as info:
        negotiate(SessionDescription.parse(sdp))
    assert str(info.value) == error


def test_answer_to_a_reoffer_takes_only_offered_formats() -> None:
    offer = negotiate(SessionDescription.parse(SIPP_ANSWER))  # offers PCMA and event 101
    answer = make_answer("127.0.0.1", 40000, offer, session_id=42, version=2).serialize()
    assert b"m=audio 40000 RTP/AVP 8 101\r\n" in answer
    assert b"o=outdial 42 2 IN IP4 127.0.0.1\r\n" in answer
    assert negotiate(SessionDescription.parse(answer)).payload_type == PCMA
