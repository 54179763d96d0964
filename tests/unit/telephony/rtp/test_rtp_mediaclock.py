"""The callee's side on the media clock: a gap in the far end's RTP becomes silence, in real
time, once the call is up; audio that flows (with jitter) is never padded."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pytest

from outdial.telephony.rtp.mediaclock import (
    MEDIA_GAP,
    SILENT_FRAME,
    GapFiller,
    comfort_noise,
    comfort_noise_level,
)
from outdial.telephony.rtp.packet import RtpPacket
from outdial.telephony.rtp.session import RtpSession
from outdial.telephony.sip.sdp import PCMU, MediaParams

TICK = 0.020


def _ticks(filler: GapFiller, start: float, count: int, packets: list[int]) -> list[int]:
    """Frames owed at each of ``count`` ticks; ``packets[i]``: audio packets seen by tick i."""
    return [filler.tick(start + (i + 1) * TICK, packets[i]) for i in range(count)]


def test_nothing_is_owed_before_the_call_is_up() -> None:
    filler = GapFiller()
    assert _ticks(filler, 0.0, 20, [0] * 20) == [0] * 20


def test_audio_that_flows_is_never_padded_even_with_jitter() -> None:
    filler = GapFiller()
    filler.start(0.0, 0)
    # a packet most ticks; bursts and 60 ms holes, as jitter and the reorder buffer make
    counts = [1, 2, 3, 3, 3, 6, 7, 8, 8, 8, 11, 12, 13, 14, 14, 14, 14, 18, 19, 20]
    assert _ticks(filler, 0.0, len(counts), counts) == [0] * len(counts)


def test_a_far_end_gone_quiet_is_silence_from_its_last_packet_on() -> None:
    filler = GapFiller()
    filler.start(0.0, 0)
    counts = [1, 2, 3] + [3] * 50  # three packets, then nothing for a second
    owed = _ticks(filler, 0.0, len(counts), counts)
    gap = int(MEDIA_GAP / TICK + 0.5)
    # nothing while it may be jitter, then the whole gap at once, then a frame a tick
    assert owed[: 2 + gap] == [0] * (2 + gap)
    assert owed[2 + gap] == gap
    assert owed[3 + gap :] == [1] * (len(counts) - 3 - gap)
    # every 20 ms after the last packet is accounted for: no more, no less
    assert sum(owed) == len(counts) - 3


def test_audio_coming_back_stops_the_filling() -> None:
    filler = GapFiller()
    filler.start(0.0, 0)
    counts = [0] * 10 + [1, 2, 3] + [3] * 3
    owed = _ticks(filler, 0.0, len(counts), counts)
    assert sum(owed[:10]) == 10 and owed[10:] == [0] * 6  # a callee who never sent, then did


def test_comfort_noise_fills_at_once_at_its_level() -> None:
    filler = GapFiller()
    filler.start(0.0, 0)
    assert filler.tick(0.02, 1) == 0
    filler.comfort(60)
    assert filler.tick(0.04, 1) == 1  # no waiting for the gap: the far end said it is silent
    assert filler.noise_dbov == 60
    assert filler.tick(0.06, 2) == 0 and filler.noise_dbov is None  # audio again


@pytest.mark.parametrize(("level", "dbfs"), [(30, -30.0), (60, -60.0)])
def test_comfort_noise_has_the_level_the_packet_gives(level: int, dbfs: float) -> None:
    rng = np.random.default_rng(1)
    frames = [np.frombuffer(comfort_noise(level, rng), "<i2") for _ in range(50)]
    samples = np.concatenate(frames).astype(np.float64)
    measured = 20 * np.log10(np.sqrt(np.mean(samples**2)) / 32767.0)
    assert abs(measured - dbfs) < 1.0


def test_comfort_noise_payloads() -> None:
    assert comfort_noise_level(bytes([0x80 | 40, 1, 2])) == 40  # top bit reserved
    assert comfort_noise_level(b"") is None
    assert comfort_noise(127, np.random.default_rng(0)) == SILENT_FRAME


class _Transport:
    def sendto(self, data: bytes, addr: object) -> None:
        pass

    def close(self) -> None:
        pass


def _listening_session() -> tuple[RtpSession, list[bytes]]:
    audio: list[bytes] = []
    session = RtpSession(on_audio=audio.append, on_digit=lambda _: None)
    session.connection_made(cast(Any, _Transport()))
    session.set_remote(MediaParams("127.0.0.1", 4000, PCMU, 101, "sendrecv"))
    session.sending = True
    session.listen(0.0)
    return session, audio


def _packet(seq: int, payload_type: int = PCMU, payload: bytes = b"\x10" * 160) -> bytes:
    return RtpPacket(payload_type, seq, seq * 160, 99, payload).serialize()


def test_a_session_delivers_silence_on_its_clock_after_the_callee_stops() -> None:
    session, audio = _listening_session()
    session.tick(0.0)  # the answer's first tick
    for seq in range(5):
        session.datagram_received(_packet(seq), ("127.0.0.1", 4000))
        session.tick((seq + 1) * TICK)
    assert len(audio) == 5 and SILENT_FRAME not in audio
    for i in range(50):  # a second with no packet
        session.tick((6 + i) * TICK)
    assert audio[5:] == [SILENT_FRAME] * 50  # real time: a frame per 20 ms, none lost
    session.datagram_received(_packet(5), ("127.0.0.1", 4000))
    assert len(audio) == 56 and audio[-1] != SILENT_FRAME  # and the callee again


def test_comfort_noise_packets_become_noise_and_use_up_their_sequence_number() -> None:
    session, audio = _listening_session()
    session.tick(0.0)
    session.datagram_received(_packet(0), ("127.0.0.1", 4000))
    session.tick(TICK)
    session.datagram_received(_packet(1, payload_type=13, payload=bytes([50])), ("h", 1))
    for i in range(10):
        session.tick((2 + i) * TICK)
    noise = audio[1:]
    assert len(noise) == 10 and all(frame != SILENT_FRAME for frame in noise)
    level = np.sqrt(np.mean(np.frombuffer(b"".join(noise), "<i2").astype(np.float64) ** 2))
    assert abs(20 * np.log10(level / 32767.0) + 50) < 1.5
    session.datagram_received(_packet(2), ("127.0.0.1", 4000))  # the next audio: played at once
    assert len(audio) == 12 and audio[-1] == audio[0]


def test_no_silence_before_the_answer() -> None:
    audio: list[bytes] = []
    session = RtpSession(on_audio=audio.append, on_digit=lambda _: None)
    for i in range(50):
        session.tick(i * TICK)
    assert audio == []
