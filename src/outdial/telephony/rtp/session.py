"""One RTP audio stream over UDP: paced sending, a small reorder buffer, RFC 4733 both ways.

Every session of a carrier is driven by one ``RtpClock`` that ticks every 20 ms (one task
for hundreds of calls, not one each). On each tick a session sends one packet: a pending
DTMF event, else queued audio, else the prompt playing, else silence, so the far end (and
NATs) see a steady stream with timestamps advancing 160 samples a packet (RFC 3550 §5.1,
RFC 3551 §4.5.14). The same tick keeps the callee's side on the media clock once the call is
up (``listen``): when the far end sends no audio (silence suppression, RFC 3389 comfort
noise, a callee gone quiet), readers get 20 ms frames of silence (or of the comfort noise)
in real time instead of nothing (``mediaclock.GapFiller``). No timer of its own: a session
costs a few comparisons a tick while audio flows.
Ports come from a ``PortPool`` and go back to it when the session closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import struct
from collections import deque
from collections.abc import Callable
from typing import cast

import numpy as np

from outdial.audio import g711
from outdial.telephony.carrier import Playback
from outdial.telephony.rtp.dtmf import PAUSE_FRAMES, DtmfReceiver, TelephoneEvent, digit_payloads
from outdial.telephony.rtp.mediaclock import (
    COMFORT_NOISE,
    SILENT_FRAME,
    GapFiller,
    comfort_noise,
    comfort_noise_level,
)
from outdial.telephony.rtp.packet import HEADER, RTP_VERSION, RtpPacket, RtpParseError, is_rtcp
from outdial.telephony.sip.sdp import PCMA, PCMU, MediaParams

log = logging.getLogger(__name__)

FRAME = 0.020  # seconds of audio per packet
SAMPLES = 160  # per 20 ms frame at 8 kHz
REORDER_DEPTH = 3  # packets held to put reordered ones back in order (60 ms)
SEQ_TS = struct.Struct("!HI")  # an RTP header's sequence number and timestamp, at offset 2
MAX_LAG_FRAMES = 5  # the clock skips ahead rather than burst after a stall this long


class NoFreePort(Exception):
    """Every RTP port of the configured range is in use."""


class PortPool:
    """Even UDP ports in [low, high) handed out for RTP (the odd one above is RTCP's)."""

    def __init__(self, low: int, high: int) -> None:
        first = low + (low % 2)
        self._free: deque[int] = deque(range(first, high, 2))
        self._used: set[int] = set()

    def acquire(self) -> int:
        if not self._free:
            raise NoFreePort(f"all {len(self._used)} RTP ports are in use")
        port = self._free.popleft()
        self._used.add(port)
        return port

    def release(self, port: int) -> None:
        if port in self._used:
            self._used.remove(port)
            self._free.append(port)

    @property
    def in_use(self) -> int:
        return len(self._used)


class RtpClock:
    """Ticks every registered session once per 20 ms from one task."""

    def __init__(self) -> None:
        self._sessions: set[RtpSession] = set()
        self._task: asyncio.Task[None] | None = None

    def add(self, session: RtpSession) -> None:
        self._sessions.add(session)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="rtp-clock")

    def discard(self, session: RtpSession) -> None:
        self._sessions.discard(session)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while self._sessions:
            due += FRAME
            delay = due - loop.time()
            if delay < -MAX_LAG_FRAMES * FRAME:
                due = loop.time()  # we stalled: skip ahead instead of bursting
            await asyncio.sleep(max(0.0, delay))
            now = loop.time()
            for session in list(self._sessions):
                session.tick(now)

    async def close(self) -> None:
        self._sessions.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class RtpSession(asyncio.DatagramProtocol):
    """Audio to and from one remote RTP address; received audio is decoded to 16-bit PCM."""

    def __init__(
        self,
        *,
        on_audio: Callable[[bytes], None],
        on_digit: Callable[[str], None],
    ) -> None:
        self.on_audio = on_audio
        self.on_digit = on_digit
        self.ssrc = secrets.randbits(32)
        self.sequence = secrets.randbits(16)
        self.timestamp = secrets.randbits(32)
        self.remote: tuple[str, int] | None = None
        self.direction = "sendrecv"  # the far end's, from its SDP
        self.payload_type = 0
        self.dtmf_payload_type: int | None = None
        self.sending = False
        self.port = 0
        self.packets_sent = 0
        self.packets_received = 0
        self.digits_sent = 0
        self._transport: asyncio.DatagramTransport | None = None
        self._first = True
        self._outgoing: deque[bytes] = deque()  # encoded 160-byte frames
        self._prompts: deque[_Prompt] = deque()  # prompts to play, in order, after _outgoing
        self._events: deque[tuple[TelephoneEvent, bool] | None] = deque()  # None: a pause
        self._event_timestamp = 0
        self._dtmf = DtmfReceiver()
        self._buffer: dict[int, tuple[int, bytes]] = {}  # sequence -> (type, payload)
        self._next_seq: int | None = None
        self._pool: PortPool | None = None
        self.audio_packets = 0  # audio (PCMU/PCMA) packets received
        self._gaps = GapFiller()  # the callee's silence on the media clock, once listening
        self._listen = False
        self._noise: np.random.Generator | None = None  # made at the first comfort noise

    async def open(self, host: str, pool: PortPool, attempts: int = 20) -> int:
        """Bind a port from ``pool``; ports another program holds are skipped."""
        loop = asyncio.get_running_loop()
        for _ in range(attempts):
            port = pool.acquire()
            try:
                await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
            except OSError:
                pool.release(port)
                continue
            self.port = port
            self._pool = pool
            return port
        raise NoFreePort(f"no free RTP port after {attempts} tries")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def set_remote(self, media: MediaParams) -> None:
        self.remote = (media.address, media.port) if media.port else None
        self.direction = media.direction
        self.payload_type = media.payload_type
        self.dtmf_payload_type = media.dtmf_payload_type

    # -- sending ----------------------------------------------------------------------------

    @property
    def _silence(self) -> bytes:
        """One sample of silence in the negotiated codec."""
        return bytes([g711.ALAW_SILENCE if self.payload_type == PCMA else g711.ULAW_SILENCE])

    def play(self, samples: bytes) -> None:
        """Queue 16-bit little-endian PCM at 8 kHz; it goes out in 20 ms packets."""
        pcm = np.frombuffer(samples, dtype="<i2").astype(np.int16)
        encoded = g711.encode(pcm, alaw=self.payload_type == PCMA)
        for start in range(0, len(encoded), SAMPLES):
            frame = encoded[start : start + SAMPLES]
            self._outgoing.append(frame.ljust(SAMPLES, self._silence))

    def play_prompt(self, ulaw: bytes) -> Playback:
        """Queue a prompt (µ-law 8 kHz) to play after what is queued; its ``Playback`` is done
        when the prompt's last packet has gone out, and ``stop()`` silences it at once."""
        payload = ulaw if self.payload_type != PCMA else g711.encode(g711.decode(ulaw), alaw=True)
        prompt = _Prompt(payload, Playback(self._stopped))
        self._prompts.append(prompt)
        if not payload:
            self._advance_prompts()
        return prompt.playback

    def _stopped(self, playback: Playback) -> None:
        for prompt in self._prompts:
            if prompt.playback is playback:
                self._prompts.remove(prompt)
                return

    def _advance_prompts(self) -> None:
        """Finish the prompts at the head that have nothing more to send."""
        while self._prompts and self._prompts[0].position >= len(self._prompts[0].payload):
            self._prompts.popleft().playback.finish()

    def _prompt_frame(self) -> bytes | None:
        if not self._prompts:
            return None
        prompt = self._prompts[0]
        frame = prompt.payload[prompt.position : prompt.position + SAMPLES]
        prompt.position += SAMPLES
        if len(frame) < SAMPLES:
            frame = frame.ljust(SAMPLES, self._silence)
        self._advance_prompts()
        return frame

    def send_digits(self, digits: str) -> None:
        """Queue RFC 4733 events; raises ValueError for a character that is not DTMF."""
        queued: list[tuple[TelephoneEvent, bool] | None] = []
        for digit in digits:
            payloads = digit_payloads(digit)
            queued += [(event, index == 0) for index, event in enumerate(payloads)]
            queued += [None] * PAUSE_FRAMES
        self._events.extend(queued)

    @property
    def idle(self) -> bool:
        """Nothing queued to send."""
        return not self._events and not self._outgoing and not self._prompts

    def listen(self, now: float) -> None:
        """The call is up (at loop time ``now``): from then on, time without the callee's
        audio is silence (``on_audio`` gets silent frames, or comfort noise, in real time)."""
        self._listen = True
        self._gaps.start(now, self.audio_packets)

    def tick(self, now: float | None = None) -> None:
        """This 20 ms frame: send its packet; and, when listening (``now`` is the clock's
        time), fill a gap in the callee's audio with silence."""
        if self._listen and now is not None:
            self._fill_gap(now)
        self._send_frame()

    def _fill_gap(self, now: float) -> None:
        frames = self._gaps.tick(now, self.audio_packets)
        if not frames:
            return
        self.flush()  # what the reorder buffer holds came before the gap
        level = self._gaps.noise_dbov
        for _ in range(frames):
            if level is None:
                self.on_audio(SILENT_FRAME)
            else:
                if self._noise is None:
                    self._noise = np.random.default_rng(self.ssrc)
                self.on_audio(comfort_noise(level, self._noise))

    def _send_frame(self) -> None:
        if not self.sending or self.remote is None or self._transport is None:
            if self.sending:
                self._prompt_frame()  # nowhere to send it: a prompt still takes its time
            return
        self.timestamp = (self.timestamp + SAMPLES) & 0xFFFFFFFF
        if self._events and self.dtmf_payload_type is not None:
            item = self._events.popleft()
            if item is not None:
                event, first = item
                if first:
                    self._event_timestamp = self.timestamp
                self._send(self.dtmf_payload_type, event.serialize(), self._event_timestamp, first)
                if event.end and (not self._events or self._events[0] is None):
                    self.digits_sent += 1
                return
        elif self._events:
            self._events.clear()  # the far end takes no telephone-event: nothing to send
        if self._outgoing:
            payload = self._outgoing.popleft()
        elif (frame := self._prompt_frame()) is not None:
            payload = frame
        else:
            payload = self._silence * SAMPLES
        self._send(self.payload_type, payload, self.timestamp, False)

    def _send(self, payload_type: int, payload: bytes, timestamp: int, marker: bool) -> None:
        assert self._transport is not None and self.remote is not None
        second = payload_type | (0x80 if marker or self._first else 0)
        header = HEADER.pack(RTP_VERSION << 6, second, self.sequence, timestamp, self.ssrc)
        self._first = False
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.packets_sent += 1
        self._transport.sendto(header + payload, self.remote)

    # -- receiving --------------------------------------------------------------------------

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if len(data) < HEADER.size or data[0] >> 6 != RTP_VERSION or is_rtcp(data):
            return
        if data[0] & 0x3F:  # CSRCs, an extension or padding: the full parser
            try:
                packet = RtpPacket.parse(data)
            except RtpParseError:
                return
            payload_type, sequence = packet.payload_type, packet.sequence
            timestamp, payload = packet.timestamp, packet.payload
        else:  # the usual packet: a plain 12-byte header
            payload_type = data[1] & 0x7F
            sequence, timestamp = SEQ_TS.unpack_from(data, 2)
            payload = data[HEADER.size :]
        self.packets_received += 1
        if payload_type == self.dtmf_payload_type:
            try:
                digit = self._dtmf.feed(timestamp, payload)
            except ValueError:
                return
            if digit is not None:
                self.on_digit(digit)
            return
        if payload_type in (PCMU, PCMA):
            self.audio_packets += 1
            self._reorder(sequence, payload_type, payload)
        elif payload_type == COMFORT_NOISE:
            self._comfort_noise(sequence, payload)

    def _comfort_noise(self, sequence: int, payload: bytes) -> None:
        """RFC 3389: the far end stops sending audio and says how loud its background is;
        until its next audio, the gap is that noise. Its sequence number is used up, so the
        next audio packet is not held as if one were lost."""
        level = comfort_noise_level(payload)
        if level is None:
            return
        self._gaps.comfort(level)
        self.flush()  # what is held came before the silence
        if sequence == self._next_seq:
            self._next_seq = (sequence + 1) & 0xFFFF

    def _reorder(self, sequence: int, payload_type: int, payload: bytes) -> None:
        """Play packets in sequence order. One that comes early waits (up to REORDER_DEPTH
        packets) for the ones before it; duplicates and packets later than what was already
        played are dropped; a gap longer than that is skipped (loss)."""
        expected = self._next_seq
        if expected is not None:
            if sequence == expected and not self._buffer:  # in order: the usual case
                self._play(sequence, payload_type, payload)
                return
            if _seq_before(sequence, expected):
                return
        self._buffer[sequence] = (payload_type, payload)
        while self._buffer:
            if self._next_seq in self._buffer or len(self._buffer) > REORDER_DEPTH:
                self._play_next()
            else:
                break

    def _play_next(self) -> None:
        seq = self._next_seq
        if seq is None or seq not in self._buffer:
            # the start, or a gap (loss): jump to the oldest packet held
            ref = seq if seq is not None else (next(iter(self._buffer)) - 0x4000) & 0xFFFF
            seq = min(self._buffer, key=lambda s: (s - ref) & 0xFFFF)
        payload_type, payload = self._buffer.pop(seq)
        self._play(seq, payload_type, payload)

    def _play(self, sequence: int, payload_type: int, payload: bytes) -> None:
        self._next_seq = (sequence + 1) & 0xFFFF
        samples = g711.decode(payload, alaw=payload_type == PCMA)
        self.on_audio(samples.astype("<i2", copy=False).tobytes())

    def flush(self) -> None:
        """Play out what the reorder buffer still holds."""
        while self._buffer:
            self._play_next()

    def error_received(self, exc: Exception) -> None:
        log.debug("RTP error on port %s: %s", self.port, exc)

    def close(self) -> None:
        """Close the socket and give the port back; harmless twice. Prompts not played out
        are stopped."""
        self.sending = False
        while self._prompts:
            self._prompts.popleft().playback.stop()
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._pool is not None:
            self._pool.release(self.port)
            self._pool = None


def _seq_before(a: int, b: int) -> bool:
    """a comes before b in 16-bit sequence space (RFC 3550 wraps at 65536)."""
    return a != b and ((b - a) & 0xFFFF) < 0x8000


class _Prompt:
    __slots__ = ("payload", "playback", "position")

    def __init__(self, payload: bytes, playback: Playback) -> None:
        self.payload = payload
        self.playback = playback
        self.position = 0  # bytes sent
