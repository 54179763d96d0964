"""Real SIP calls from ``SipCarrier`` to sipp on 127.0.0.1, one scenario per outcome."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from sip_support import (
    TEST_TIMERS,
    CallRecord,
    Sipp,
    dominant_frequency,
    free_block,
    place_call,
    request,
    run,
    tone_file,
    trunk_config,
)

from outdial.audio import g711
from outdial.calls import CalleeType
from outdial.telephony.carrier import Answered, Ended, Leg, Ringing
from outdial.telephony.sip import message
from outdial.telephony.sip.carrier import SipCarrier
from outdial.telephony.sip.config import SipTrunkConfig
from outdial.telephony.sip.message import Request

SIT = [(913.8, 0.274), (1370.6, 0.274), (1776.7, 0.380)]  # the three SIT tones (ANSI T1.209)
DTMF_PCAP = Path("/usr/share/sip-tester/dtmf_2833_9.pcap")


def _carrier(config: SipTrunkConfig, media_timeout: float = 30.0) -> SipCarrier:
    return SipCarrier(config, timers=TEST_TIMERS, media_timeout=media_timeout)


async def _call(
    config: SipTrunkConfig,
    *,
    carrier: Mapping[str, float] | None = None,
    dial: Mapping[str, Any] | None = None,
    **options: Any,
) -> tuple[CallRecord, SipCarrier]:
    """Place one call; afterwards, once Timer D/K have run out, count the transactions the
    carrier still holds (``record.transactions_left``: a leak if not 0). ``carrier`` and
    ``dial`` override the carrier's and the request's settings; ``options`` go to
    ``place_call``."""
    sip = _carrier(config, **(carrier or {}))
    try:
        record = await place_call(sip, request(**(dial or {})), **options)
        await asyncio.sleep(max(TEST_TIMERS.d, TEST_TIMERS.t4) + 0.1)
        record.transactions_left = len(sip._transactions)
    finally:
        await sip.close()
    return record, sip


def _types(record: CallRecord) -> list[str]:
    return [type(e).__name__ for e in record.events]


def test_answered_call_streams_audio_both_ways_and_callee_hangs_up(
    sipp: Callable[..., Sipp], tmp_path: Path
) -> None:
    tone = tone_file(tmp_path / "tone.ul", [(1000, 1.0)])
    peer = sipp("answer_callee_bye.xml", audio=tone, talk_ms=1500)
    record, carrier = run(_call(trunk_config(peer.port)))
    assert _types(record) == ["Ringing", "Answered", "Ended"]
    assert record.ended == Ended(None, "callee hung up")
    heard = record.audio(early=False)
    assert len(heard) >= 8000 * 0.8  # most of the second of tone
    assert abs(dominant_frequency(heard) - 1000) < 20
    assert record.rtp_sent > 20  # we sent RTP too
    assert peer.wait() == 0, peer.output()
    assert carrier.ports.in_use == 0
    assert record.transactions_left == 0


def _sound(kind: str) -> npt.NDArray[np.int16]:
    """Test audio for each kind of callee detection will meet (synthetic, deterministic)."""
    rng = np.random.default_rng(5)
    t = np.arange(8000) / 8000
    if kind == "person":  # syllable-like bursts of shaped noise
        envelope = (np.sin(2 * np.pi * 3 * t) > 0).astype(float)
        signal = rng.normal(0, 3000, t.size) * envelope
    elif kind == "voicemail_beep":  # a greeting, then the 1 kHz beep
        signal = np.concatenate(
            [rng.normal(0, 3000, 6000), 8000 * np.sin(2 * np.pi * 1000 * t[:2000])]
        )
    elif kind == "fax":  # CNG: 1100 Hz for 0.5 s
        signal = 8000 * np.sin(2 * np.pi * 1100 * t) * (t < 0.5)
    else:  # SIT
        signal = np.concatenate([8000 * np.sin(2 * np.pi * f * t[: int(8000 * d)]) for f, d in SIT])
    pcm: npt.NDArray[np.int16] = np.clip(signal, -32768, 32767).astype(np.int16)
    return pcm


@pytest.mark.parametrize("kind", ["person", "voicemail_beep", "fax", "sit"])
def test_answered_audio_arrives_sample_for_sample(
    sipp: Callable[..., Sipp], tmp_path: Path, kind: str
) -> None:
    encoded = g711.encode(_sound(kind))
    path = tmp_path / f"{kind}.ul"
    path.write_bytes(encoded)
    peer = sipp("answer_callee_bye.xml", audio=path, talk_ms=1400)
    record, _ = run(_call(trunk_config(peer.port)))
    assert record.ended == Ended(None, "callee hung up")
    sent = g711.decode(encoded)
    heard = record.audio(early=False)
    # µ-law end to end is lossless: what sipp streamed is in what we heard, in order
    starts = [i for i in range(0, len(heard) - len(sent) + 1, 160) if heard[i] == sent[0]]
    assert any(np.array_equal(heard[i : i + len(sent)], sent) for i in starts), kind
    assert peer.wait() == 0, peer.output()


def test_reinvite_is_answered_with_our_session(sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    tone = tone_file(tmp_path / "tone.ul", [(440, 0.5)])
    peer = sipp("reinvite.xml", audio=tone)
    record, _ = run(_call(trunk_config(peer.port)))
    assert _types(record) == ["Ringing", "Answered", "Ended"]
    assert record.ended == Ended(None, "callee hung up")
    assert peer.wait() == 0, peer.output()  # sipp checked our SDP answers its offer (0 101)
    assert record.transactions_left == 0


def test_we_hang_up_with_bye(sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    tone = tone_file(tmp_path / "tone.ul", [(440, 0.5)])
    peer = sipp("answer_we_bye.xml", audio=tone)
    record, carrier = run(_call(trunk_config(peer.port), hangup_after=0.3))
    assert _types(record) == ["Answered", "Ended"]
    assert record.ended == Ended(None, "canceled", local=True)
    assert peer.wait() == 0, peer.output()
    assert carrier.ports.in_use == 0
    assert record.transactions_left == 0


def test_answered_call_without_media_is_hung_up(sipp: Callable[..., Sipp]) -> None:
    peer = sipp("answer_we_bye.xml")  # answers, never sends RTP, never hangs up
    record, carrier = run(_call(trunk_config(peer.port), carrier={"media_timeout": 1.0}))
    assert _types(record) == ["Answered", "Ended"]
    assert record.ended == Ended(None, "no media from the callee", local=True)
    assert peer.wait() == 0, peer.output()  # it got our BYE
    assert carrier.ports.in_use == 0
    assert record.transactions_left == 0


@pytest.mark.parametrize(
    ("code", "reason", "callee_type"),
    [
        (486, "Busy Here", CalleeType.BUSY),
        (600, "Busy Everywhere", CalleeType.BUSY),
        (480, "Temporarily Unavailable", CalleeType.NOANSWER),
        (404, "Not Found", CalleeType.INFORMATIONTONE),
        (484, "Address Incomplete", CalleeType.INFORMATIONTONE),
        (403, "Forbidden", CalleeType.LINEFAILURE),
        (503, "Service Unavailable", CalleeType.LINEFAILURE),
    ],
)
def test_rejections_map_to_callee_types(
    sipp: Callable[..., Sipp], code: int, reason: str, callee_type: CalleeType
) -> None:
    peer = sipp("reject.xml", code=code, reason=reason)
    record, carrier = run(_call(trunk_config(peer.port)))
    assert record.events == [Ringing(False), Ended(callee_type, f"{code} {reason}", code)]
    assert peer.wait() == 0, peer.output()
    assert peer.messages().count("\nACK sip:") == 1  # hop-by-hop ACK of the final
    assert carrier.ports.in_use == 0
    assert record.transactions_left == 0


def test_caller_id_in_from_and_p_asserted_identity(sipp: Callable[..., Sipp]) -> None:
    peer = sipp("caller_id.xml", caller="8009957586")
    record, _ = run(_call(trunk_config(peer.port), dial={"caller_id": "8009957586"}))
    assert record.ended.sip_code == 486
    assert peer.wait() == 0, peer.output()  # sipp found the caller ID in both headers


def test_a_wrong_caller_id_fails_the_check(sipp: Callable[..., Sipp]) -> None:
    peer = sipp("caller_id.xml", caller="8009957586")
    run(_call(trunk_config(peer.port), dial={"caller_id": "6175550000"}))
    assert peer.wait() != 0  # the check above can fail


def test_ring_timeout_cancels_and_is_noanswer(sipp: Callable[..., Sipp]) -> None:
    peer = sipp("ring_until_cancel.xml")
    record, _ = run(_call(trunk_config(peer.port), dial={"ring_timeout": 0.5}))
    assert record.events == [
        Ringing(False),
        Ended(CalleeType.NOANSWER, "canceled: ring timeout", 487, local=True),
    ]
    assert peer.wait() == 0, peer.output()
    assert record.transactions_left == 0


def test_hangup_while_ringing_cancels(sipp: Callable[..., Sipp]) -> None:
    peer = sipp("ring_until_cancel.xml")
    record, _ = run(_call(trunk_config(peer.port), hangup_when_ringing=0.2))
    assert record.events == [Ringing(False), Ended(None, "canceled", 487, local=True)]
    assert peer.wait() == 0, peer.output()


def test_digest_challenge_is_answered(sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    tone = tone_file(tmp_path / "tone.ul", [(440, 0.5)])
    peer = sipp("auth_then_answer.xml", audio=tone, username="acme", password="s3cret")
    config = trunk_config(peer.port, username="acme", password="s3cret")
    record, _ = run(_call(config, hangup_after=0.2))
    assert _types(record) == ["Answered", "Ended"]
    assert peer.wait() == 0, peer.output()


def test_wrong_password_is_linefailure(sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    tone = tone_file(tmp_path / "tone.ul", [(440, 0.5)])
    peer = sipp("auth_then_answer.xml", audio=tone, username="acme", password="s3cret")
    config = trunk_config(peer.port, username="acme", password="wrong")
    record, _ = run(_call(config))
    assert record.events == [Ended(CalleeType.LINEFAILURE, "403 Forbidden", 403)]
    peer.wait()


def test_challenge_without_credentials_is_linefailure(
    sipp: Callable[..., Sipp], tmp_path: Path
) -> None:
    tone = tone_file(tmp_path / "tone.ul", [(440, 0.5)])
    peer = sipp("auth_then_answer.xml", audio=tone, username="acme", password="s3cret")
    record, _ = run(_call(trunk_config(peer.port)))
    assert record.events == [Ended(CalleeType.LINEFAILURE, "401 Unauthorized", 401)]


def test_early_media_then_404(sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    sit = tone_file(tmp_path / "sit.ul", SIT)
    peer = sipp("early_media_then_404.xml", audio=sit, talk_ms=1200)
    record, carrier = run(_call(trunk_config(peer.port)))
    assert record.events == [
        Ringing(early_media=True),
        Ended(CalleeType.INFORMATIONTONE, "404 Not Found", 404),
    ]
    early = record.audio(early=True)
    assert len(early) >= 8000 * 0.7  # the SIT reached whoever listens for it
    first = early[: int(8000 * 0.25)]
    assert abs(dominant_frequency(first) - 913.8) < 40
    assert record.audio(early=False).size == 0
    assert peer.wait() == 0, peer.output()
    assert carrier.ports.in_use == 0
    assert record.transactions_left == 0


def test_record_route_is_followed_by_ack_and_bye(sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    tone = tone_file(tmp_path / "tone.ul", [(440, 0.5)])
    peer = sipp("record_route.xml", audio=tone)
    record, _ = run(_call(trunk_config(peer.port), hangup_after=0.2))
    assert _types(record) == ["Answered", "Ended"]
    assert peer.wait() == 0, peer.output()  # sipp checked the Route of our ACK and BYE


def test_retransmitted_200_is_acked_again(sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    tone = tone_file(tmp_path / "tone.ul", [(440, 0.5)])
    peer = sipp("retransmit_200.xml", audio=tone)
    record, _ = run(_call(trunk_config(peer.port), hangup_after=0.5))
    assert [type(e) for e in record.events] == [Answered, Ended]
    assert peer.wait() == 0, peer.output()
    acks = peer.messages().count("\nACK sip:")
    assert acks >= 2  # the retransmitted 200 was ACKed again


def test_dtmf_both_ways(sipp: Callable[..., Sipp]) -> None:
    peer = sipp("dtmf_echo.xml", echo=True, digit_pcap=DTMF_PCAP)

    async def send_postd(leg: Leg) -> None:
        await leg.send_dtmf("12#")

    record, _ = run(_call(trunk_config(peer.port), on_answer=send_postd, hangup_after=2.0))
    assert _types(record) == ["Answered", "Ended"]
    # sipp played a '9' to us, and echoed our postd digits back
    assert "9" in record.digits
    assert [d for d in record.digits if d != "9"] == ["1", "2", "#"]
    peer.wait()


def test_through_kamailio_answering_its_407(
    sipp: Callable[..., Sipp], kamailio: Callable[..., int], tmp_path: Path
) -> None:
    tone = tone_file(tmp_path / "tone.ul", [(440, 0.5)])
    peer = sipp("answer_we_bye.xml", audio=tone)
    proxy = kamailio(peer.port, username="acme", password="s3cret")
    config = trunk_config(proxy, username="acme", password="s3cret")
    record, carrier = run(_call(config, hangup_after=0.3))
    assert _types(record) == ["Answered", "Ended"], record.events
    assert record.ended == Ended(None, "canceled", local=True)
    assert peer.wait() == 0, peer.output()  # our ACK and BYE reached sipp through the proxy
    assert carrier.ports.in_use == 0
    assert record.transactions_left == 0


def test_proxy_407_then_far_end_401(
    sipp: Callable[..., Sipp], kamailio: Callable[..., int], tmp_path: Path
) -> None:
    tone = tone_file(tmp_path / "tone.ul", [(440, 0.5)])
    peer = sipp("auth_then_answer.xml", audio=tone, username="acme", password="s3cret")
    proxy = kamailio(peer.port, username="acme", password="s3cret")
    config = trunk_config(proxy, username="acme", password="s3cret")
    record, _ = run(_call(config, hangup_after=0.2))
    assert _types(record) == ["Answered", "Ended"], record.events
    assert peer.wait() == 0, peer.output()  # sipp verified the credentials kamailio passed on


def test_kamailio_refuses_a_wrong_password(
    sipp: Callable[..., Sipp], kamailio: Callable[..., int], tmp_path: Path
) -> None:
    tone = tone_file(tmp_path / "tone.ul", [(440, 0.5)])
    peer = sipp("answer_we_bye.xml", audio=tone)
    proxy = kamailio(peer.port, username="acme", password="s3cret")
    record, _ = run(_call(trunk_config(proxy, username="acme", password="wrong")))
    assert record.events == [
        Ended(CalleeType.LINEFAILURE, "407 Proxy Authentication Required", 407)
    ]


def test_over_tcp(sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    tone = tone_file(tmp_path / "tone.ul", [(1000, 1.0)])
    peer = sipp("answer_callee_bye.xml", tcp=True, audio=tone, talk_ms=1200)
    record, _ = run(_call(trunk_config(peer.port, transport="tcp")))
    assert _types(record) == ["Ringing", "Answered", "Ended"]
    assert record.ended == Ended(None, "callee hung up")  # sipp's BYE came over the connection
    assert abs(dominant_frequency(record.audio(early=False)) - 1000) < 20
    assert peer.wait() == 0, peer.output()
    assert "SIP/2.0/TCP" in peer.messages()


def test_busy_over_tcp(sipp: Callable[..., Sipp]) -> None:
    peer = sipp("reject.xml", tcp=True, code=486, reason="Busy Here")
    record, _ = run(_call(trunk_config(peer.port, transport="tcp")))
    assert record.events == [Ringing(False), Ended(CalleeType.BUSY, "486 Busy Here", 486)]
    assert peer.wait() == 0, peer.output()


def test_tcp_trunk_that_refuses_the_connection_is_linefailure() -> None:
    record, _ = run(_call(trunk_config(free_block(2), transport="tcp")))
    ended = record.ended
    assert ended.callee_type is CalleeType.LINEFAILURE
    assert ended.cause.startswith("cannot reach the trunk")


# -- peers that misbehave ----------------------------------------------------------------------


@pytest.fixture
def udp_peer() -> Iterator[Callable[[Callable[[bytes], Any]], int]]:
    """A UDP server on 127.0.0.1 answering each datagram with ``reply(data)``: bytes, a list
    of datagrams, or None."""
    sockets: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(reply: Callable[[bytes], Any]) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.1)
        sockets.append(sock)

        def serve() -> None:
            while sock.fileno() >= 0:
                try:
                    data, addr = sock.recvfrom(65535)
                except TimeoutError:
                    continue
                except OSError:
                    return
                answer = reply(data)
                for datagram in [answer] if isinstance(answer, bytes) else answer or []:
                    sock.sendto(datagram, addr)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return int(sock.getsockname()[1])

    yield start
    for sock in sockets:
        sock.close()
    for thread in threads:
        thread.join(2)


def test_silent_peer_is_linefailure_and_frees_the_port(udp_peer: Callable[..., int]) -> None:
    received: list[bytes] = []
    port = udp_peer(lambda data: received.append(data))
    record, carrier = run(_call(trunk_config(port)))
    assert record.events == [Ended(CalleeType.LINEFAILURE, "no response from the trunk")]
    assert len(received) > 3  # Timer A retransmitted the INVITE
    assert len({r for r in received}) == 1  # ... unchanged
    assert carrier.ports.in_use == 0
    assert record.transactions_left == 0


def test_garbage_is_ignored_and_the_call_still_ends(udp_peer: Callable[..., int]) -> None:
    port = udp_peer(lambda data: b"\x00\xffNOT SIP AT ALL\r\n\r\n")
    record, carrier = run(_call(trunk_config(port)))
    assert record.events == [Ended(CalleeType.LINEFAILURE, "no response from the trunk")]
    assert carrier.transport.garbage > 0
    assert carrier.ports.in_use == 0
    assert record.transactions_left == 0


def test_tcp_peer_sending_garbage_drops_the_connection_and_the_call() -> None:
    async def main() -> tuple[CallRecord, SipCarrier]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(100)  # the INVITE arrives
            writer.write(b"HELLO\r\n\r\n")
            await writer.drain()
            await reader.read()  # until the carrier hangs up on us
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await _call(trunk_config(port, transport="tcp"))
        finally:
            server.close()
            await server.wait_closed()

    record, carrier = asyncio.run(main())
    ended = record.ended
    assert ended.callee_type is CalleeType.LINEFAILURE
    assert ended.cause == (
        "no response from the trunk (transport error: unparseable SIP on the TCP connection: "
        "bad start line 'HELLO')"
    )
    assert carrier.transport.garbage == 1
    assert carrier.ports.in_use == 0


def test_a_second_forked_answer_is_acked_and_ended(udp_peer: Callable[..., int]) -> None:
    received: list[Request] = []
    port_box: list[int] = []
    sdp = (
        b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        b"m=audio 9 RTP/AVP 0\r\n"
    )

    def peer(data: bytes) -> Any:
        request = message.parse(data)
        assert isinstance(request, Request)
        received.append(request)
        if request.method == "INVITE":
            answers = []
            for tag in ("fork-a", "fork-b"):
                ok = message.response_to(request, 200, "OK", to_tag=tag)
                ok.headers.add("Contact", f"<sip:callee@127.0.0.1:{port_box[0]}>")
                ok.headers.add("Content-Type", "application/sdp")
                ok.body = sdp
                ok.headers.set("Content-Length", str(len(sdp)))
                answers.append(ok.serialize())
            return answers
        if request.method == "BYE":
            return message.response_to(request, 200, "OK").serialize()
        return None

    port_box.append(udp_peer(peer))
    record, _ = run(_call(trunk_config(port_box[0]), hangup_after=0.3))
    assert _types(record) == ["Answered", "Ended"]
    assert record.ended == Ended(None, "canceled", local=True)
    seen = {(r.method, r.to.tag) for r in received if r.method in ("ACK", "BYE")}
    assert seen == {("ACK", "fork-a"), ("ACK", "fork-b"), ("BYE", "fork-a"), ("BYE", "fork-b")}


def test_unresolvable_trunk_is_linefailure() -> None:
    config = trunk_config(5060)
    from dataclasses import replace

    from outdial.telephony.sip.uri import SipUri

    config = replace(config, uri=SipUri("no-such-host.invalid"))
    record, _ = run(_call(config))
    ended = record.ended
    assert ended.callee_type is CalleeType.LINEFAILURE
    assert ended.cause.startswith("cannot reach the trunk")


def test_options_ping(udp_peer: Callable[..., int]) -> None:
    def answer(data: bytes) -> bytes | None:
        request = message.parse(data)
        assert isinstance(request, Request) and request.method == "OPTIONS"
        return message.response_to(request, 200, "OK", to_tag="x").serialize()

    async def ping(port: int) -> int | None:
        carrier = _carrier(trunk_config(port))
        try:
            return await carrier.options()
        finally:
            await carrier.close()

    assert asyncio.run(ping(udp_peer(answer))) == 200
    assert asyncio.run(ping(udp_peer(lambda data: None))) is None


def _rtp_pcap(path: Path, packets: list[tuple[int, bytes]]) -> Path:
    """A pcap (Ethernet, IPv4, UDP) of RTP packets 20 ms apart, each (payload type, payload),
    for sipp's ``play_pcap_audio``."""
    import struct

    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for index, (payload_type, payload) in enumerate(packets):
        rtp = struct.pack("!BBHII", 0x80, payload_type, index, index * 160, 0x5EED) + payload
        udp = struct.pack("!HHHH", 6000, 6002, 8 + len(rtp), 0) + rtp
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), index, 0, 64, 17, 0,
            bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]),
        ) + udp  # fmt: skip
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        micros = index * 20_000
        out.append(
            struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame), len(frame))
        )
        out.append(frame)
    path.write_bytes(b"".join(out))
    return path


def test_a_far_end_that_goes_quiet_with_comfort_noise_is_heard_as_that_noise(
    sipp: Callable[..., Sipp], tmp_path: Path
) -> None:
    """sipp plays 0.6 s of tone, then one RFC 3389 comfort noise packet (-40 dBov), then sends
    nothing while the call stays up: the callee's audio goes on, in real time, as noise at
    that level until the call ends; it does not stop at the last packet."""
    tone = g711.encode((6000 * np.sin(2 * np.pi * 440 * np.arange(4800) / 8000)).astype(np.int16))
    packets = [(0, tone[i : i + 160]) for i in range(0, len(tone), 160)]
    pcap = _rtp_pcap(tmp_path / "tone-then-cn.pcap", [*packets, (13, bytes([40]))])
    peer = sipp("comfort_noise.xml", pcap=pcap, talk_ms=1500)
    record, _ = run(_call(trunk_config(peer.port)))
    assert record.ended == Ended(None, "callee hung up")
    heard = record.audio(early=False).astype(np.float64)
    assert len(heard) >= 8000 * 1.2  # 0.6 s of tone, then the quiet went on being heard
    tail = heard[-4000:]  # the last half second: long after the last packet
    level = 20 * np.log10(np.sqrt(np.mean(tail**2)) / 32767.0)
    assert -42.0 < level < -38.0, level
    assert peer.wait() == 0, peer.output()
