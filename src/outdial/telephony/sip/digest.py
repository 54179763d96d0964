"""HTTP digest authentication for SIP (RFC 2617, RFC 7616, RFC 8760), client side.

A 401 carries ``WWW-Authenticate`` and a 407 ``Proxy-Authenticate``; the retried request
answers with ``Authorization`` or ``Proxy-Authorization``. MD5 and SHA-256 (and their
``-sess`` variants), with ``qop=auth`` or without qop (RFC 2069 style). ``auth-int`` is not
offered by the trunks we talk to; a challenge that only allows it is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.uri import quote, split_quoted, unquote

ALGORITHMS = {"MD5": "md5", "SHA-256": "sha256"}


class UnsupportedChallenge(Exception):
    """The challenge asks for something this client cannot do."""


@dataclass(frozen=True, slots=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"  # as the server wrote it, e.g. "MD5", "SHA-256", "SHA-256-sess"
    qop: tuple[str, ...] = ()  # offered qop values; empty: no qop
    opaque: str | None = None
    stale: bool = False

    @classmethod
    def parse(cls, header: str) -> Challenge:
        scheme, _, rest = header.strip().partition(" ")
        if scheme.lower() != "digest":
            raise SipParseError(f"not a Digest challenge: {header[:40]!r}")
        fields: dict[str, str] = {}
        for item in split_quoted(rest, ","):
            item = item.strip()
            if not item:
                continue
            name, eq, value = item.partition("=")
            if not eq:
                raise SipParseError(f"bad challenge parameter {item[:40]!r}")
            fields[name.strip().lower()] = unquote(value.strip())
        if "realm" not in fields or "nonce" not in fields:
            raise SipParseError("challenge without realm or nonce")
        qop = tuple(q.strip() for q in fields.get("qop", "").split(",") if q.strip())
        return cls(
            realm=fields["realm"],
            nonce=fields["nonce"],
            algorithm=fields.get("algorithm", "MD5"),
            qop=qop,
            opaque=fields.get("opaque"),
            stale=fields.get("stale", "").lower() == "true",
        )


def _hash(algorithm: str, text: str) -> str:
    base = algorithm.upper().removesuffix("-SESS")
    name = ALGORITHMS.get(base)
    if name is None:
        raise UnsupportedChallenge(f"digest algorithm {algorithm!r} is not supported")
    return hashlib.new(name, text.encode()).hexdigest()


def authorization(
    challenge: Challenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
) -> str:
    """The ``Authorization`` (or ``Proxy-Authorization``) header value answering ``challenge``."""
    algorithm = challenge.algorithm
    if challenge.qop and "auth" not in challenge.qop:
        raise UnsupportedChallenge(f"qop {','.join(challenge.qop)!r} is not supported")
    ha1 = _hash(algorithm, f"{username}:{challenge.realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = _hash(algorithm, f"{ha1}:{challenge.nonce}:{cnonce}")
    ha2 = _hash(algorithm, f"{method}:{uri}")
    nc_text = f"{nc:08x}"
    if challenge.qop:
        response = _hash(algorithm, f"{ha1}:{challenge.nonce}:{nc_text}:{cnonce}:auth:{ha2}")
    else:
        response = _hash(algorithm, f"{ha1}:{challenge.nonce}:{ha2}")
    parts = [
        f"username={quote(username)}",
        f"realm={quote(challenge.realm)}",
        f"nonce={quote(challenge.nonce)}",
        f"uri={quote(uri)}",
        f"response={quote(response)}",
        f"algorithm={algorithm}",
    ]
    if challenge.qop:
        parts += ["qop=auth", f"nc={nc_text}", f"cnonce={quote(cnonce)}"]
    if challenge.opaque is not None:
        parts.append(f"opaque={quote(challenge.opaque)}")
    return "Digest " + ", ".join(parts)
