"""SIP URIs and name-addr values (RFC 3261 §19.1, §20.10, §25.1), parsed and written back.

``SipUri.parse("sip:+16175551234@10.0.0.1:5060;user=phone")`` and ``NameAddr.parse('"Ann"
<sip:ann@example.com>;tag=1f2e')`` keep parameters in their order, so ``serialize()`` gives
back what was parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from outdial.telephony.sip.errors import SipParseError

Params = tuple[tuple[str, str | None], ...]


def parse_params(text: str, *, what: str) -> Params:
    """``;a=1;b;c="x;y"`` (the leading ``;`` already removed) as ordered pairs."""
    params: list[tuple[str, str | None]] = []
    for part in split_quoted(text, ";"):
        part = part.strip()
        if not part:
            raise SipParseError(f"empty parameter in {what}")
        name, eq, value = part.partition("=")
        name = name.strip()
        if not name:
            raise SipParseError(f"parameter without a name in {what}: {part!r}")
        params.append((name, value.strip() if eq else None))
    return tuple(params)


def serialize_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


def param(params: Params, name: str) -> str | None:
    """The value of parameter ``name`` (case-insensitive); ``""`` for a flag; None if absent."""
    lowered = name.lower()
    for key, value in params:
        if key.lower() == lowered:
            return "" if value is None else value
    return None


def has_param(params: Params, name: str) -> bool:
    lowered = name.lower()
    return any(key.lower() == lowered for key, _ in params)


def set_param(params: Params, name: str, value: str | None) -> Params:
    """``params`` with ``name`` set (replaced in place, or appended)."""
    lowered = name.lower()
    out = [(k, value) if k.lower() == lowered else (k, v) for k, v in params]
    if not has_param(params, name):
        out.append((name, value))
    return tuple(out)


def split_quoted(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside double quotes and angle brackets."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    angle = 0
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            angle += 1
        elif not quoted and char == ">" and angle:
            angle -= 1
        elif char == separator and not quoted and not angle:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted:
        raise SipParseError(f"unterminated quoted string in {text!r}")
    parts.append("".join(current))
    return parts


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        out: list[str] = []
        escaped = False
        for char in inner:
            if escaped:
                out.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            else:
                out.append(char)
        return "".join(out)
    return value


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class SipUri:
    """``sip:user@host:port;params?headers`` (also ``sips:``)."""

    host: str
    user: str | None = None
    port: int | None = None
    scheme: str = "sip"
    password: str | None = None
    params: Params = ()
    headers: str | None = None  # kept as written after '?'

    @classmethod
    def parse(cls, text: str) -> SipUri:
        scheme, colon, rest = text.partition(":")
        if not colon or scheme.lower() not in ("sip", "sips"):
            raise SipParseError(f"not a sip: or sips: URI: {text!r}")
        rest, question, headers = rest.partition("?")
        user = password = None
        if "@" in rest:
            userinfo, _, rest = rest.rpartition("@")
            user, pcolon, pw = userinfo.partition(":")
            password = pw if pcolon else None
            if not user:
                raise SipParseError(f"empty user part in URI {text!r}")
        hostport, semi, param_text = rest.partition(";")
        host, port = _host_port(hostport, text)
        params = parse_params(param_text, what=f"URI {text!r}") if semi else ()
        return cls(host, user, port, scheme, password, params, headers if question else None)

    def serialize(self) -> str:
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out.append(":" + self.password)
            out.append("@")
        out.append(self.host)
        if self.port is not None:
            out.append(f":{self.port}")
        out.append(serialize_params(self.params))
        if self.headers is not None:
            out.append("?" + self.headers)
        return "".join(out)

    def __str__(self) -> str:
        return self.serialize()

    def param(self, name: str) -> str | None:
        return param(self.params, name)

    @property
    def host_port(self) -> tuple[str, int]:
        """Where to send to, default port 5060 (5061 for sips)."""
        host = self.host[1:-1] if self.host.startswith("[") else self.host
        return host, self.port or (5061 if self.scheme == "sips" else 5060)

    def with_params(self, params: Params) -> SipUri:
        return replace(self, params=params)


def _host_port(text: str, uri: str) -> tuple[str, int | None]:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError(f"unterminated IPv6 reference in URI {uri!r}")
        host, rest = text[: end + 1], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise SipParseError(f"bad host in URI {uri!r}")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text_ = text.partition(":")
        port_text = port_text_ if colon else None
    if not host or any(c in host for c in ' <>"'):
        raise SipParseError(f"bad host in URI {uri!r}")
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SipParseError(f"bad port {port_text!r} in URI {uri!r}")
    return host, int(port_text)


@dataclass(frozen=True, slots=True)
class NameAddr:
    """A From/To/Contact/Route value: ``"Display" <uri>;params`` or ``uri;params``."""

    uri: SipUri
    display: str | None = None  # as written, quotes included
    params: Params = ()
    bracketed: bool = True
    raw_uri: str | None = field(default=None, compare=False)  # kept for exact serialization

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        text = text.strip()
        if "<" in text:
            lt = _find_unquoted(text, "<")
            gt = text.find(">", lt)
            if lt < 0 or gt < 0:
                raise SipParseError(f"unbalanced <> in {text!r}")
            display = text[:lt].strip() or None
            raw = text[lt + 1 : gt]
            rest = text[gt + 1 :].strip()
            if rest and not rest.startswith(";"):
                raise SipParseError(f"unexpected text after URI in {text!r}")
            params = parse_params(rest[1:], what=repr(text)) if rest else ()
            return cls(SipUri.parse(raw), display, params, True, raw)
        # addr-spec without brackets: parameters belong to the header, not the URI (§20.10)
        raw, semi, param_text = text.partition(";")
        params = parse_params(param_text, what=repr(text)) if semi else ()
        return cls(SipUri.parse(raw), None, params, False, raw)

    def serialize(self) -> str:
        uri = self.raw_uri if self.raw_uri is not None else self.uri.serialize()
        if self.bracketed:
            head = f"{self.display} <{uri}>" if self.display else f"<{uri}>"
        else:
            head = uri
        return head + serialize_params(self.params)

    def __str__(self) -> str:
        return self.serialize()

    @property
    def tag(self) -> str | None:
        return param(self.params, "tag")

    def with_tag(self, tag: str) -> NameAddr:
        return replace(self, params=set_param(self.params, "tag", tag))


def _find_unquoted(text: str, char: str) -> int:
    quoted = False
    for index, c in enumerate(text):
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            return index
    return -1


@dataclass(frozen=True, slots=True)
class Via:
    """``SIP/2.0/UDP host:port;branch=z9hG4bK...;rport``."""

    transport: str
    host: str
    port: int | None
    params: Params

    @classmethod
    def parse(cls, text: str) -> Via:
        text = text.strip()
        proto, _, rest = text.partition(" ")
        parts = proto.split("/")
        if len(parts) != 3 or parts[0].upper() != "SIP" or parts[1] != "2.0":
            raise SipParseError(f"bad Via protocol in {text!r}")
        hostport, semi, param_text = rest.strip().partition(";")
        host, port = _host_port(hostport.strip(), text)
        params = parse_params(param_text, what=f"Via {text!r}") if semi else ()
        return cls(parts[2].upper(), host, port, params)

    def serialize(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"SIP/2.0/{self.transport} {self.host}{port}{serialize_params(self.params)}"

    @property
    def branch(self) -> str | None:
        return param(self.params, "branch")
