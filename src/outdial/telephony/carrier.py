"""The Carrier interface: originate a call, follow its progress, hang it up.

A carrier turns a ``DialRequest`` into a ``Leg``. The leg reports, in order, zero or more
``Ringing`` events, at most one ``Answered``, and exactly one ``Ended``; then its event stream
stops. ``hangup`` may be called at any time (it cancels a ringing call and ends an answered
one); the leg still reports its ``Ended`` event afterwards.

Legs with audio (SIP) also give the callee's audio as 20 ms ``AudioFrame``s from ``audio()``
(early media included, for SIT detection), the DTMF the callee presses from ``digits()``, and
take audio to send with ``play()``; legs without audio yield nothing and ignore ``play()``.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from outdial.calls import CalleeType


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


LegEvent = Ringing | Answered | Ended


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """20 ms of the callee's audio: 160 signed 16-bit little-endian samples at 8 kHz."""

    samples: bytes
    early: bool  # heard before answer (early media, e.g. a SIT before a 404)


async def _nothing() -> AsyncIterator[Any]:
    return
    yield  # an async generator that yields nothing


class Leg(abc.ABC):
    """One outgoing call attempt."""

    def __init__(self, request: DialRequest) -> None:
        self.request = request

    @abc.abstractmethod
    def events(self) -> AsyncIterator[LegEvent]:
        """Ringing*, Answered?, Ended; then the iterator stops."""

    @abc.abstractmethod
    async def hangup(self, cause: str) -> None:
        """Cancel a ringing call or end an answered one; harmless once ended."""

    @abc.abstractmethod
    async def send_dtmf(self, digits: str) -> None:
        """Send DTMF digits (RFC 4733 on SIP) on an answered call."""

    def audio(self) -> AsyncIterator[AudioFrame]:
        """The callee's audio as it arrives, early media included; ends with the leg.
        Carriers without audio yield nothing."""
        return _nothing()

    def digits(self) -> AsyncIterator[str]:
        """DTMF digits the callee presses (RFC 4733 on SIP); ends with the leg."""
        return _nothing()

    def play(self, samples: bytes) -> None:  # noqa: B027 - carriers without audio ignore it
        """Queue audio for the callee: 16-bit little-endian PCM at 8 kHz."""


class Carrier(abc.ABC):
    """A way of placing calls: a SIP trunk, or the built-in simulation."""

    @abc.abstractmethod
    def dial(self, request: DialRequest) -> Leg:
        """Start placing a call; progress arrives through the leg's events."""

    async def close(self) -> None:  # noqa: B027 - carriers without resources need nothing
        """Release sockets and tasks."""
