"""SDP (RFC 4566) for one audio stream: our offer, and what the answer agreed (RFC 3264).

``SessionDescription.parse(bytes)`` keeps every line in order so ``serialize()`` gives the
same bytes back; ``make_offer`` writes our PCMU/PCMA/telephone-event offer and
``negotiate(answer)`` reads the far end's choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from outdial.telephony.sip.errors import SipParseError

PCMU = 0  # RFC 3551 static payload types
PCMA = 8
TELEPHONE_EVENT = 101  # dynamic payload type we offer for RFC 4733 events
PTIME = 20  # ms of audio per packet
CODEC_NAMES = {PCMU: "PCMU", PCMA: "PCMA"}


@dataclass(frozen=True, slots=True)
class SessionDescription:
    lines: tuple[tuple[str, str], ...]  # (type letter, value) in order

    @classmethod
    def parse(cls, data: bytes) -> SessionDescription:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SipParseError("SDP is not UTF-8") from None
        lines: list[tuple[str, str]] = []
        for number, line in enumerate(text.split("\r\n"), start=1):
            if not line:
                continue
            if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
                raise SipParseError(f"SDP line {number} is not type=value: {line[:40]!r}")
            lines.append((line[0], line[2:]))
        if not lines or lines[0] != ("v", "0"):
            raise SipParseError("SDP does not start with v=0")
        return cls(tuple(lines))

    def serialize(self) -> bytes:
        return "".join(f"{t}={v}\r\n" for t, v in self.lines).encode()


@dataclass(frozen=True, slots=True)
class MediaParams:
    """What the answer agreed for the audio stream."""

    address: str
    port: int  # 0: the stream was rejected
    payload_type: int  # PCMU or PCMA
    dtmf_payload_type: int | None
    direction: str  # sendrecv, sendonly, recvonly, inactive


def make_offer(
    address: str, port: int, *, session_id: int, version: int = 1, username: str = "outdial"
) -> SessionDescription:
    """Our offer: PCMU, PCMA, telephone-event 0-16, 20 ms, send and receive."""
    return SessionDescription(
        (
            ("v", "0"),
            ("o", f"{username} {session_id} {version} IN IP4 {address}"),
            ("s", "outdial"),
            ("c", f"IN IP4 {address}"),
            ("t", "0 0"),
            ("m", f"audio {port} RTP/AVP {PCMU} {PCMA} {TELEPHONE_EVENT}"),
            ("a", f"rtpmap:{PCMU} PCMU/8000"),
            ("a", f"rtpmap:{PCMA} PCMA/8000"),
            ("a", f"rtpmap:{TELEPHONE_EVENT} telephone-event/8000"),
            ("a", f"fmtp:{TELEPHONE_EVENT} 0-16"),
            ("a", f"ptime:{PTIME}"),
            ("a", "sendrecv"),
        )
    )


def make_answer(
    address: str, port: int, offer: MediaParams, *, session_id: int, version: int
) -> SessionDescription:
    """Our answer to an offer (a re-INVITE's): the codec it chose and telephone-event if
    offered (RFC 3264 §6: only formats from the offer)."""
    name = CODEC_NAMES[offer.payload_type]
    formats = [str(offer.payload_type)]
    lines: list[tuple[str, str]] = [
        ("v", "0"),
        ("o", f"outdial {session_id} {version} IN IP4 {address}"),
        ("s", "outdial"),
        ("c", f"IN IP4 {address}"),
        ("t", "0 0"),
    ]
    attributes = [("a", f"rtpmap:{offer.payload_type} {name}/8000")]
    if offer.dtmf_payload_type is not None:
        formats.append(str(offer.dtmf_payload_type))
        attributes += [
            ("a", f"rtpmap:{offer.dtmf_payload_type} telephone-event/8000"),
            ("a", f"fmtp:{offer.dtmf_payload_type} 0-16"),
        ]
    lines.append(("m", f"audio {port} RTP/AVP {' '.join(formats)}"))
    lines += attributes
    lines += [("a", f"ptime:{PTIME}"), ("a", "sendrecv")]
    return SessionDescription(tuple(lines))


def negotiate(answer: SessionDescription) -> MediaParams:
    """The audio stream the answer accepted; raises ``SipParseError`` saying why not."""
    session_address: str | None = None
    media: list[tuple[str, list[tuple[str, str]]]] = []  # (m= value, its lines)
    for kind, value in answer.lines:
        if kind == "m":
            media.append((value, []))
        elif media:
            media[-1][1].append((kind, value))
        elif kind == "c":
            session_address = _connection(value)
    for m_value, lines in media:
        fields = m_value.split()
        if len(fields) < 4 or fields[0] != "audio":
            continue
        if not fields[1].isdigit() or int(fields[1]) > 65535:
            raise SipParseError(f"bad media port in m={m_value!r}")
        port = int(fields[1])
        formats = [int(f) for f in fields[3:] if f.isdigit()]
        address = session_address
        direction = "sendrecv"
        names: dict[int, str] = {}
        for kind, value in lines:
            if kind == "c":
                address = _connection(value)
            elif kind == "a" and value.startswith("rtpmap:"):
                pt, _, name = value[len("rtpmap:") :].partition(" ")
                if pt.isdigit():
                    names[int(pt)] = name.split("/")[0].lower()
            elif kind == "a" and value in ("sendrecv", "sendonly", "recvonly", "inactive"):
                direction = value
        if address is None:
            raise SipParseError("SDP answer has no connection address (c=)")
        audio = [  # static types mean their codec unless an rtpmap says otherwise
            f
            for f in formats
            if f in CODEC_NAMES and names.get(f, CODEC_NAMES[f].lower()) == CODEC_NAMES[f].lower()
        ]
        if port and not audio:
            raise SipParseError("SDP answer accepts neither PCMU nor PCMA")
        dtmf = next((f for f in formats if names.get(f) == "telephone-event"), None)
        return MediaParams(address, port, audio[0] if audio else PCMU, dtmf, direction)
    raise SipParseError("SDP answer has no audio stream")


def _connection(value: str) -> str:
    fields = value.split()
    if len(fields) != 3 or fields[0] != "IN" or fields[1] not in ("IP4", "IP6"):
        raise SipParseError(f"bad connection line c={value!r}")
    return fields[2].split("/")[0]
