"""The Carrier interface: originate a call, follow its progress, hang it up.

A carrier turns a ``DialRequest`` into a ``Leg``. The leg reports, in order, zero or more
``Ringing`` events, at most one ``Answered``, and exactly one ``Ended``; then its event stream
stops. ``hangup`` may be called at any time (it cancels a ringing call and ends an answered
one), with a typed ``HangupCause``; the leg still reports its ``Ended`` event afterwards, which
carries that cause.

The ring timer is here, one for every carrier: ``Leg.events()`` hangs up a call that is not
answered within ``DialRequest.ring_timeout`` with ``HangupCause.RING_TIMEOUT``.

Legs with audio (SIP) also give the callee's audio as 20 ms ``AudioFrame``s from ``audio()``
(early media included, for SIT detection), the DTMF the callee presses from ``digits()``, and
take audio to send with ``play()`` and prompts with ``play_prompt()`` (which says when the
prompt has played and can be stopped); legs without audio yield nothing, ignore ``play()`` and
take a prompt's duration to play it. ``refer`` asks the far end to move an answered call to
another number (SIP REFER); other carriers say ``failed``.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import enum
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from outdial.calls import CalleeType

log = logging.getLogger(__name__)

ULAW_BYTES_PER_S = 8000  # G.711 at 8 kHz: a byte a sample


class HangupCause(enum.StrEnum):
    """Why we hang up a call. The value is the text stored as the attempt's cause and shown
    in the UI (``Ended.cause``)."""

    RING_TIMEOUT = "canceled: ring timeout"  # not answered within DialRequest.ring_timeout
    CANCELED = "canceled"  # a user cancelled the call while it was being dialed
    EARLY_SIT = "special information tone in early media"  # heard while ringing
    NO_MEDIA = "no media from the callee"  # an answered callee stopped sending RTP
    LEASE_LOST = "lease lost"  # another worker took the call over
    LEASE_NOT_RENEWED = "lease could not be renewed"  # fenced: the database is out of reach
    DIALER_ERROR = "dialer error"
    SHUTDOWN = "outdial is stopping"
    ABANDONED = "leg abandoned"  # whoever read the leg's events stopped before its end
    FLOW_ENDED = "hung up by the call flow"  # the flow reached its end, or a hangup step
    CALLEE_LEFT = "the callee hung up"  # a transfer's agent leg, once the callee is gone


@dataclass(frozen=True, slots=True)
class DialRequest:
    call_id: str
    attempt: int
    phone_number: str  # E.164
    caller_id: str | None  # digits, from ;ani= or the deployment
    postd: str | None  # DTMF to send after answer
    ring_timeout: float  # seconds


@dataclass(frozen=True, slots=True)
class Ringing:
    early_media: bool = False


@dataclass(frozen=True, slots=True)
class Answered:
    # What answered, when the carrier knows it: the simulated carrier knows what it simulates.
    # Detection (SPEC §7) decides for real carriers; None means "not known yet".
    callee_type: CalleeType | None = None


@dataclass(frozen=True, slots=True)
class Ended:
    """The end of a leg. ``callee_type`` is set for calls that were never answered."""

    callee_type: CalleeType | None
    cause: str  # "486 Busy Here", "callee hung up", "canceled: ring timeout", ...
    sip_code: int | None = None
    local: bool = False  # we hung up (or cancelled), not the far end
    # Why we hung up, when we did: ``cause`` is then its text, so comparing ``cause`` compares
    # it too. None when the far end or the network ended the call.
    reason: HangupCause | None = field(default=None, compare=False)

    @classmethod
    def hung_up(
        cls, reason: HangupCause, callee_type: CalleeType | None = None, sip_code: int | None = None
    ) -> Ended:
        """The end of a leg we hung up."""
        return cls(callee_type, str(reason), sip_code, local=True, reason=reason)


LegEvent = Ringing | Answered | Ended
# What became of a transfer (``Leg.refer``): the flow's ``transfer`` branches.
TransferOutcomeName = Literal["completed", "busy", "noanswer", "failed"]


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """20 ms of the callee's audio: 160 signed 16-bit little-endian samples at 8 kHz."""

    samples: bytes
    early: bool  # heard before answer (early media, e.g. a SIT before a 404)


class Playback:
    """A prompt being played to the callee. ``done`` resolves when its last packet has gone
    out (True) or when it was stopped (False); ``stop()`` silences it at the next packet."""

    def __init__(self, on_stop: Callable[[Playback], None] | None = None) -> None:
        self.done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._on_stop = on_stop

    def finish(self) -> None:
        """The last packet went out."""
        if not self.done.done():
            self.done.set_result(True)

    def stop(self) -> None:
        if not self.done.done():
            self.done.set_result(False)
            if self._on_stop is not None:
                self._on_stop(self)


def timed_playback(ulaw: bytes) -> Playback:
    """A playback with no audio path behind it: done when the prompt would have played."""
    loop = asyncio.get_running_loop()
    handle: asyncio.TimerHandle | None = None
    playback = Playback(lambda _: handle.cancel() if handle is not None else None)
    handle = loop.call_later(len(ulaw) / ULAW_BYTES_PER_S, playback.finish)
    return playback


async def close_audio(frames: AsyncIterator[AudioFrame]) -> None:
    """End an ``audio()`` iterator now (an async generator would otherwise end in GC)."""
    close = getattr(frames, "aclose", None)
    if close is not None:
        await close()


async def _nothing() -> AsyncIterator[Any]:
    return
    yield  # an async generator that yields nothing


class Leg(abc.ABC):
    """One outgoing call attempt."""

    def __init__(self, request: DialRequest) -> None:
        self.request = request
        self._ring_hangup: asyncio.Task[None] | None = None  # the ring timeout's hang-up

    async def events(self) -> AsyncIterator[LegEvent]:
        """Ringing*, Answered?, Ended; then the iterator stops.

        The ring timer runs here, the same for every carrier: a call not answered (nor ended)
        ``request.ring_timeout`` seconds after its events are first asked for is hung up with
        ``HangupCause.RING_TIMEOUT``. A timer, not a task, while it waits: thousands of calls
        ring at once."""
        loop = asyncio.get_running_loop()
        timer = loop.call_later(self.request.ring_timeout, self._ring_timeout)
        try:
            async with contextlib.aclosing(self._progress()) as progress:
                async for event in progress:
                    if not isinstance(event, Ringing):
                        timer.cancel()  # answered or ended: the ring is over
                    yield event
        finally:
            timer.cancel()
            if self._ring_hangup is not None:
                try:
                    await self._ring_hangup
                except Exception:
                    log.exception("hanging up at the ring timeout failed")

    def _ring_timeout(self) -> None:
        hangup = self.hangup(HangupCause.RING_TIMEOUT)
        self._ring_hangup = asyncio.get_running_loop().create_task(hangup, name="ring-timeout")

    @abc.abstractmethod
    def _progress(self) -> AsyncGenerator[LegEvent, None]:
        """The carrier's own events (Ringing*, Answered?, Ended), without the ring timer."""

    @abc.abstractmethod
    async def hangup(self, cause: HangupCause) -> None:
        """Cancel a ringing call or end an answered one; harmless once ended. The leg's
        ``Ended`` carries ``cause`` as its ``reason`` (and its text as its ``cause``)."""

    @abc.abstractmethod
    async def send_dtmf(self, digits: str) -> None:
        """Send DTMF digits (RFC 4733 on SIP) on an answered call."""

    async def refer(self, target: str, timeout_s: float) -> TransferOutcomeName:
        """Ask the far end to transfer the answered call to ``target`` (E.164) itself (SIP
        REFER); the transfer's outcome once known, ``failed`` after ``timeout_s`` without one.
        Carriers that cannot hand a call over return ``failed``."""
        return "failed"

    def audio(self) -> AsyncIterator[AudioFrame]:
        """The callee's audio as it arrives, early media included; ends with the leg. From
        the answer it runs in real time: a far end that sends nothing is heard as silence
        (SIP's media clock), never as the end. Carriers without audio yield nothing."""
        return _nothing()

    def digits(self) -> AsyncIterator[str]:
        """DTMF digits the callee presses (RFC 4733 on SIP); ends with the leg."""
        return _nothing()

    def play(self, samples: bytes) -> None:  # noqa: B027 - carriers without audio ignore it
        """Queue audio for the callee: 16-bit little-endian PCM at 8 kHz."""

    def play_prompt(self, ulaw: bytes) -> Playback:
        """Play a prompt (µ-law, 8 kHz) after what is queued; the playback says when it is
        over and can be stopped (barge-in). Carriers without audio take its duration."""
        return timed_playback(ulaw)


class Carrier(abc.ABC):
    """A way of placing calls: a SIP trunk, or the built-in simulation."""

    @abc.abstractmethod
    def dial(self, request: DialRequest) -> Leg:
        """Start placing a call; progress arrives through the leg's events."""

    async def close(self) -> None:  # noqa: B027 - carriers without resources need nothing
        """Release sockets and tasks."""
