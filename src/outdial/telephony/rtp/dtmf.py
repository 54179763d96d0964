"""RFC 4733 telephone events: the 4-byte payload, and sending/receiving digits.

A digit is sent as packets with one RTP timestamp (the event's start) and a growing
duration, marker on the first, and the end packet sent three times (§2.5.1.4).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

EVENT = struct.Struct("!BBH")
DIGITS = "0123456789*#ABCD"  # event codes 0-15 (RFC 4733 §3.2)
DIGIT_DURATION = 1600  # timestamp units (200 ms at 8 kHz) a digit is held
PAUSE_FRAMES = 5  # 20 ms frames of silence between digits
END_REPEATS = 3  # RFC 4733 §2.5.1.4: the end packet is sent three times
DEFAULT_VOLUME = 10  # -dBm0


class DtmfParseError(ValueError):
    """The payload is not an RFC 4733 telephone event."""


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    event: int
    end: bool
    volume: int
    duration: int  # timestamp units

    @classmethod
    def parse(cls, data: bytes) -> TelephoneEvent:
        if len(data) < EVENT.size:
            raise DtmfParseError(f"telephone event of {len(data)} bytes, expected 4")
        event, flags, duration = EVENT.unpack_from(data)
        return cls(event, bool(flags & 0x80), flags & 0x3F, duration)

    def serialize(self) -> bytes:
        return EVENT.pack(self.event, (0x80 if self.end else 0) | self.volume, self.duration)

    @property
    def digit(self) -> str | None:
        return DIGITS[self.event] if self.event < len(DIGITS) else None


def event_code(digit: str) -> int:
    code = DIGITS.find(digit.upper())
    if code < 0 or len(digit) != 1:
        raise ValueError(f"{digit!r} is not a DTMF digit (0-9, *, #, A-D)")
    return code


def digit_payloads(digit: str, frame: int = 160) -> list[TelephoneEvent]:
    """The event payloads for one digit, one per 20 ms frame, end packet repeated."""
    code = event_code(digit)
    events = [
        TelephoneEvent(code, False, DEFAULT_VOLUME, duration)
        for duration in range(frame, DIGIT_DURATION, frame)
    ]
    end = TelephoneEvent(code, True, DEFAULT_VOLUME, DIGIT_DURATION)
    return [*events, *([end] * END_REPEATS)]


class DtmfReceiver:
    """Turns incoming telephone-event packets into digits, each reported once."""

    def __init__(self) -> None:
        self._seen: set[int] = set()  # event start timestamps already reported
        self._order: list[int] = []

    def feed(self, timestamp: int, payload: bytes) -> str | None:
        """The digit this packet completes or starts, the first time it is seen."""
        event = TelephoneEvent.parse(payload)
        if timestamp in self._seen or event.digit is None:
            return None
        self._seen.add(timestamp)
        self._order.append(timestamp)
        if len(self._order) > 64:  # remember only recent events
            self._seen.discard(self._order.pop(0))
        return event.digit
