"""SIP messages (RFC 3261 §7): ``parse(bytes)`` and ``serialize()``, no I/O.

Headers keep their order and the names as written (compact ``v:`` stays ``v:``), so
``serialize(parse(x)) == x`` for any message without folded lines. Folded header lines
(§7.3.1) are unfolded into one line with a single space, so their round trip gives the
unfolded form. Lookups accept long or compact names, in any case. Headers that may hold
comma-separated lists (Via, Route, Contact, ...) are split by ``values()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.uri import NameAddr, SipUri, Via, split_quoted

SIP_VERSION = "SIP/2.0"
CRLF = "\r\n"
MAX_MESSAGE = 65_535  # bytes; a UDP datagram cannot be larger

# RFC 3261 §7.3.3 and the IANA registry: compact form -> long form
COMPACT = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
    "o": "event",
    "r": "refer-to",
    "b": "referred-by",
    "u": "allow-events",
    "x": "session-expires",
}
# Headers whose value is a comma-separated list (RFC 3261 §7.3.1); the others are never split.
LIST_HEADERS = frozenset(
    {
        "via",
        "route",
        "record-route",
        "contact",
        "allow",
        "supported",
        "require",
        "proxy-require",
        "unsupported",
        "accept",
        "accept-encoding",
        "accept-language",
        "content-encoding",
        "allow-events",
        "p-asserted-identity",
    }
)
MANDATORY = ("Via", "From", "To", "Call-ID", "CSeq")  # RFC 3261 §8.1.1
TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")


def header_key(name: str) -> str:
    """The canonical lookup key of a header name: lower case, long form."""
    lowered = name.strip().lower()
    return COMPACT.get(lowered, lowered)


class Headers:
    """An ordered, case-insensitive multi-map of header lines."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = list(items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def get(self, name: str) -> str | None:
        """The first line's value of header ``name``, or None."""
        key = header_key(name)
        for n, v in self._items:
            if header_key(n) == key:
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        """Every line's value of header ``name``, in order (not split on commas)."""
        key = header_key(name)
        return [v for n, v in self._items if header_key(n) == key]

    def values(self, name: str) -> list[str]:
        """Every value of header ``name``: lines in order, list headers split on commas."""
        key = header_key(name)
        out: list[str] = []
        for value in self.get_all(name):
            if key in LIST_HEADERS:
                out.extend(v.strip() for v in split_quoted(value, ",") if v.strip())
            else:
                out.append(value)
        return out

    def add(self, name: str, value: str) -> None:
        self._items.append((name, value))

    def set(self, name: str, value: str) -> None:
        """Replace every line of ``name`` with one (kept where the first was), or append it."""
        key = header_key(name)
        out: list[tuple[str, str]] = []
        placed = False
        for n, v in self._items:
            if header_key(n) == key:
                if not placed:
                    out.append((n, value))
                    placed = True
            else:
                out.append((n, v))
        if not placed:
            out.append((name, value))
        self._items = out

    def remove(self, name: str) -> None:
        key = header_key(name)
        self._items = [(n, v) for n, v in self._items if header_key(n) != key]

    def copy(self) -> Headers:
        return Headers(self._items)


@dataclass(slots=True)
class _Message:
    headers: Headers
    body: bytes

    # -- typed views of the mandatory headers ---------------------------------------------

    @property
    def call_id(self) -> str:
        return self._required("Call-ID")

    @property
    def cseq(self) -> tuple[int, str]:
        return parse_cseq(self._required("CSeq"))

    @property
    def from_(self) -> NameAddr:
        return NameAddr.parse(self._required("From"))

    @property
    def to(self) -> NameAddr:
        return NameAddr.parse(self._required("To"))

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for v in self.headers.values("Via")]

    @property
    def top_via(self) -> Via:
        vias = self.headers.values("Via")
        if not vias:
            raise SipParseError("missing header: Via")
        return Via.parse(vias[0])

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing header: {name}")
        return value

    def _serialize(self, start: str) -> bytes:
        lines = [start, *(f"{n}: {v}" for n, v in self.headers)]
        return (CRLF.join(lines) + CRLF + CRLF).encode() + self.body


@dataclass(slots=True)
class Request(_Message):
    method: str = "OPTIONS"
    uri: str = ""

    def serialize(self) -> bytes:
        return self._serialize(f"{self.method} {self.uri} {SIP_VERSION}")

    @property
    def request_uri(self) -> SipUri:
        return SipUri.parse(self.uri)


@dataclass(slots=True)
class Response(_Message):
    status: int = 200
    reason: str = "OK"

    def serialize(self) -> bytes:
        return self._serialize(f"{SIP_VERSION} {self.status} {self.reason}")

    @property
    def status_line(self) -> str:
        return f"{self.status} {self.reason}"


Message = Request | Response


def parse_cseq(value: str) -> tuple[int, str]:
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit() or len(parts[0]) > 10:
        raise SipParseError(f"bad CSeq {value!r}")
    number = int(parts[0])
    if number >= 2**31:
        raise SipParseError(f"bad CSeq {value!r}")
    return number, parts[1]


def parse(data: bytes) -> Message:
    """Parse one SIP message (a UDP datagram, or one framed from a TCP stream).

    Raises ``SipParseError`` with a message that says what is wrong.
    """
    if not data.strip():
        raise SipParseError("empty message")
    if len(data) > MAX_MESSAGE:
        raise SipParseError(f"message of {len(data)} bytes is larger than {MAX_MESSAGE}")
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise SipParseError("no blank line (CRLF CRLF) after the headers")
    try:
        head = data[:end].decode("utf-8")
    except UnicodeDecodeError:
        raise SipParseError("header section is not UTF-8") from None
    rest = data[end + 4 :]
    lines = head.split(CRLF)
    start = lines[0]
    status: tuple[int, str] | None = None
    if start.startswith(SIP_VERSION + " "):
        code, _, reason = start[len(SIP_VERSION) + 1 :].partition(" ")
        if len(code) != 3 or not code.isdigit() or not 100 <= int(code) <= 699:
            raise SipParseError(f"bad status code {code!r}")
        status = (int(code), reason)
    else:
        parts = start.split(" ")
        if len(parts) != 3:
            raise SipParseError(f"bad start line {start[:80]!r}")
        method, uri, version = parts
        if version != SIP_VERSION:
            raise SipParseError(f"unsupported version {version[:20]!r} (only SIP/2.0)")
        if not method or not set(method) <= TOKEN_CHARS:
            raise SipParseError(f"bad method {method[:20]!r}")
        if not uri or ":" not in uri:
            raise SipParseError(f"bad Request-URI {uri[:80]!r}")
    headers = Headers(_header_lines(lines[1:]))
    for name in MANDATORY:
        if headers.get(name) is None:
            raise SipParseError(f"missing header: {name}")
    _, cseq_method = parse_cseq(headers.get("CSeq") or "")
    body = _body(headers, rest)
    if status is not None:
        return Response(headers, body, *status)
    if cseq_method != method:
        raise SipParseError(f"CSeq method {cseq_method!r} does not match {method!r}")
    return Request(headers, body, method, uri)


def _header_lines(lines: list[str]) -> Iterator[tuple[str, str]]:
    name: str | None = None
    value = ""
    for line in lines:
        if line[:1] in (" ", "\t"):  # folded continuation (RFC 3261 §7.3.1)
            if name is None:
                raise SipParseError("continuation line before any header")
            value = f"{value} {line.strip()}"
            continue
        if name is not None:
            yield name, value
        if not line:
            raise SipParseError("empty header line")
        colon = line.find(":")
        if colon < 0:
            raise SipParseError(f"header line without a colon: {line[:80]!r}")
        name = line[:colon].rstrip()
        if not name or not set(name) <= TOKEN_CHARS:
            raise SipParseError(f"bad header name {line[:colon][:40]!r}")
        value = line[colon + 1 :].strip()
    if name is not None:
        yield name, value


def _body(headers: Headers, rest: bytes) -> bytes:
    length_text = headers.get("Content-Length")
    if length_text is None:
        return rest  # UDP: the body runs to the end of the datagram (§18.3)
    if not length_text.isdigit():
        raise SipParseError(f"bad Content-Length {length_text[:20]!r}")
    length = int(length_text)
    if length > len(rest):
        raise SipParseError(f"Content-Length {length} but only {len(rest)} bytes of body")
    return rest[:length]


def frame_length(buffer: bytes) -> int | None:
    """Bytes of the first whole message in a stream buffer (TCP), or None if incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_MESSAGE:
            raise SipParseError("no blank line (CRLF CRLF) after the headers")
        return None
    length = 0
    for line in buffer[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if header_key(name.decode("latin-1")) == "content-length":
            if not value.strip().isdigit():
                raise SipParseError(f"bad Content-Length {value.strip()[:20]!r}")
            length = int(value.strip())
    total = end + 4 + length
    return total if len(buffer) >= total else None


def request(
    method: str, uri: str, headers: Iterable[tuple[str, str]], body: bytes = b""
) -> Request:
    """A request whose Content-Length matches ``body``."""
    h = Headers(headers)
    h.set("Content-Length", str(len(body)))
    return Request(h, body, method, uri)


def response(
    status: int, reason: str, headers: Iterable[tuple[str, str]], body: bytes = b""
) -> Response:
    h = Headers(headers)
    h.set("Content-Length", str(len(body)))
    return Response(h, body, status, reason)


def response_to(req: Request, status: int, reason: str, to_tag: str | None = None) -> Response:
    """A response to ``req`` (RFC 3261 §8.2.6): Via, From, To, Call-ID, CSeq copied."""
    headers: list[tuple[str, str]] = [("Via", v) for v in req.headers.get_all("Via")]
    to = req.headers.get("To") or ""
    if to_tag is not None and NameAddr.parse(to).tag is None:
        to = NameAddr.parse(to).with_tag(to_tag).serialize()
    headers += [
        ("From", req.headers.get("From") or ""),
        ("To", to),
        ("Call-ID", req.call_id),
        ("CSeq", req.headers.get("CSeq") or ""),
    ]
    return response(status, reason, headers)
