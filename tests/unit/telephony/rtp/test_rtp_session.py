from __future__ import annotations

import asyncio
import itertools
from typing import Any, cast

from outdial.audio import g711
from outdial.telephony.rtp.dtmf import TelephoneEvent
from outdial.telephony.rtp.packet import RtpPacket
from outdial.telephony.rtp.session import PortPool, RtpSession
from outdial.telephony.sip.sdp import PCMU, MediaParams


class FakeTransport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendto(self, data: bytes, addr: object) -> None:
        self.sent.append(data)

    def close(self) -> None:
        pass


def _session() -> tuple[RtpSession, list[bytes], list[str], FakeTransport]:
    audio: list[bytes] = []
    digits: list[str] = []
    session = RtpSession(on_audio=audio.append, on_digit=digits.append)
    transport = FakeTransport()
    session.connection_made(cast(Any, transport))
    session.set_remote(MediaParams("127.0.0.1", 4000, PCMU, 101, "sendrecv"))
    return session, audio, digits, transport


def _frame(seq: int) -> bytes:
    return RtpPacket(PCMU, seq, seq * 160, 1234, _payload(seq)).serialize()


def _payload(seq: int) -> bytes:
    return bytes([0x10 + seq % 7]) * 160


def test_reordered_duplicated_and_late_packets() -> None:
    session, audio, _, _ = _session()
    for seq in (65534, 0, 65535, 0, 1, 2, 3, 65533):  # wraps; a duplicate; a late one
        session.datagram_received(_frame(seq), ("127.0.0.1", 4000))
    session.flush()
    expected = [
        g711.decode(_payload(s)).astype("<i2").tobytes() for s in (65534, 65535, 0, 1, 2, 3)
    ]
    assert audio == expected


def test_sending_is_paced_per_tick_with_continuous_timestamps_and_dtmf() -> None:
    session, _, _, transport = _session()
    session.sending = True
    session.send_digits("5")
    for _ in range(20):
        session.tick()
    packets = [RtpPacket.parse(p) for p in transport.sent]
    assert len(packets) == 20
    assert len({p.ssrc for p in packets}) == 1
    assert all((b.sequence - a.sequence) & 0xFFFF == 1 for a, b in itertools.pairwise(packets))
    events = [p for p in packets if p.payload_type == 101]
    assert events[0].marker and len({p.timestamp for p in events}) == 1
    ends = [TelephoneEvent.parse(p.payload) for p in events if p.payload[1] & 0x80]
    assert len(ends) == 3 and ends[0].digit == "5"
    audio = [p for p in packets if p.payload_type == PCMU]
    assert all(
        (b.timestamp - a.timestamp) & 0xFFFFFFFF == 160 for a, b in itertools.pairwise(audio)
    )
    assert session.digits_sent == 1


def test_received_dtmf_is_reported_once() -> None:
    session, _, digits, _ = _session()
    for duration in (160, 320, 480):
        payload = TelephoneEvent(11, duration == 480, 10, duration).serialize()
        session.datagram_received(RtpPacket(101, duration, 8000, 9, payload).serialize(), ("h", 1))
    assert digits == ["#"]


def test_ports_come_back_on_close() -> None:
    async def main() -> PortPool:
        pool = PortPool(41000, 41010)
        sessions = [RtpSession(on_audio=lambda _: None, on_digit=lambda _: None) for _ in range(3)]
        for s in sessions:
            await s.open("127.0.0.1", pool)
        assert pool.in_use == 3
        for s in sessions:
            s.close()
            s.close()
        return pool

    assert asyncio.run(main()).in_use == 0
