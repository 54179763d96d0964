from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outdial.telephony.rtp.dtmf import DtmfReceiver, TelephoneEvent, digit_payloads
from outdial.telephony.rtp.packet import RtpPacket, RtpParseError

# A PCMU packet as sipp sends it: V=2, M=1, PT=0, seq 0x1234, ts 0x00000a00, SSRC 0xdeadbeef
GOLDEN = bytes.fromhex("8080123400000a00deadbeef") + b"\xff" * 160
# RFC 4733 event '5', end bit, volume 10, duration 1600
GOLDEN_EVENT = bytes.fromhex("806500010000032001020304058a0640")


def test_golden_pcmu_packet() -> None:
    packet = RtpPacket.parse(GOLDEN)
    assert (packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc) == (
        0,
        0x1234,
        0xA00,
        0xDEADBEEF,
    )
    assert packet.marker and len(packet.payload) == 160
    assert packet.serialize() == GOLDEN


def test_golden_telephone_event() -> None:
    packet = RtpPacket.parse(GOLDEN_EVENT)
    assert packet.payload_type == 101
    event = TelephoneEvent.parse(packet.payload)
    assert (event.digit, event.end, event.volume, event.duration) == ("5", True, 10, 1600)
    assert packet.serialize() == GOLDEN_EVENT


def test_csrc_extension_and_padding_round_trip() -> None:
    packet = RtpPacket(
        0, 1, 2, 3, b"abc", csrc=(7, 8), extension=b"\xbe\xde\x00\x01abcd", padding=b"\x00\x00\x03"
    )
    data = packet.serialize()
    assert RtpPacket.parse(data) == packet


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\x80\x00", "RTP packet of 2 bytes is shorter than its header"),
        (b"\x40" + bytes(11), "RTP version 1, expected 2"),
        (b"\x82" + bytes(11), "RTP packet truncated in its CSRC list"),
        (b"\xa0" + bytes(10) + b"\x00", "bad RTP padding length 0"),
    ],
)
def test_bad_packets(data: bytes, error: str) -> None:
    with pytest.raises(RtpParseError) as info:
        RtpPacket.parse(data)
    assert str(info.value) == error


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_rtp(data: bytes) -> None:
    try:
        packet = RtpPacket.parse(data)
    except RtpParseError:
        return
    assert RtpPacket.parse(packet.serialize()) == packet


def test_digit_payloads_and_receiver_report_each_digit_once() -> None:
    events = digit_payloads("#")
    assert all(e.event == 11 for e in events)
    assert [e.end for e in events[-3:]] == [True, True, True]
    assert not any(e.end for e in events[:-3])
    receiver = DtmfReceiver()
    heard = [receiver.feed(800, e.serialize()) for e in events]
    assert heard == ["#"] + [None] * (len(events) - 1)
    assert receiver.feed(2400, events[0].serialize()) == "#"
    with pytest.raises(ValueError, match="'x' is not a DTMF digit"):
        digit_payloads("x")
