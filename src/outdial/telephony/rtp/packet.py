"""RTP packets (RFC 3550 §5.1): ``RtpPacket.parse(bytes)`` and ``serialize()``, no I/O.

Header extensions and padding are kept as bytes, so ``serialize(parse(x)) == x``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence, timestamp, SSRC


class RtpParseError(ValueError):
    """The bytes are not an RTP packet."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: bytes | None = None  # profile word + length + data, as sent
    padding: bytes = b""  # the padding bytes, the last of which counts them

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        if len(data) < HEADER.size:
            raise RtpParseError(f"RTP packet of {len(data)} bytes is shorter than its header")
        first, second, sequence, timestamp, ssrc = HEADER.unpack_from(data)
        if first >> 6 != RTP_VERSION:
            raise RtpParseError(f"RTP version {first >> 6}, expected 2")
        offset = HEADER.size
        count = first & 0x0F
        if len(data) < offset + 4 * count:
            raise RtpParseError("RTP packet truncated in its CSRC list")
        csrc = struct.unpack_from(f"!{count}I", data, offset)
        offset += 4 * count
        extension = None
        if first & 0x10:
            if len(data) < offset + 4:
                raise RtpParseError("RTP packet truncated in its header extension")
            (words,) = struct.unpack_from("!H", data, offset + 2)
            end = offset + 4 + 4 * words
            if len(data) < end:
                raise RtpParseError("RTP packet truncated in its header extension")
            extension = data[offset:end]
            offset = end
        padding = b""
        if first & 0x20:
            pad = data[-1] if len(data) > offset else 0
            if pad == 0 or offset + pad > len(data):
                raise RtpParseError(f"bad RTP padding length {pad}")
            padding = data[len(data) - pad :]
            data = data[: len(data) - pad]
        return cls(
            payload_type=second & 0x7F,
            sequence=sequence,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=data[offset:],
            marker=bool(second & 0x80),
            csrc=tuple(csrc),
            extension=extension,
            padding=padding,
        )

    def serialize(self) -> bytes:
        first = RTP_VERSION << 6 | len(self.csrc)
        if self.padding:
            first |= 0x20
        if self.extension is not None:
            first |= 0x10
        second = (0x80 if self.marker else 0) | self.payload_type
        head = HEADER.pack(first, second, self.sequence, self.timestamp, self.ssrc)
        csrc = struct.pack(f"!{len(self.csrc)}I", *self.csrc)
        return head + csrc + (self.extension or b"") + self.payload + self.padding


def is_rtcp(data: bytes) -> bool:
    """RTCP shares the port when muxed (RFC 5761): payload types 64-95 with the marker bit."""
    return len(data) >= 2 and 192 <= data[1] <= 223
