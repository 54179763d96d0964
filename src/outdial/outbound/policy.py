"""Which URLs and addresses outdial may send requests to (pure: no DNS, no sockets).

Only globally routable unicast addresses are reached, unless the operator allowed a network
(``--allow-url-networks 10.1.0.0/16``) for receivers on their own premises. Refused: loopback,
private, shared (CGNAT), link-local (cloud metadata at 169.254.169.254), unique-local,
multicast, unspecified, reserved and documentation ranges, and IPv6 forms of these (IPv4-mapped
``::ffff:a.b.c.d``, NAT64, 6to4, Teredo). Hosts are read the way browsers and curl read them, so
``2130706433``, ``0x7f000001``, ``0177.1`` and ``0`` are the IPv4 addresses they stand for, and
names kept for local use (``localhost``, ``*.local``, ``*.internal``…) are refused without a
lookup (when the operator allowed networks, such names may reach those: what they resolve to is
checked). URLs with a user name or password in them are refused: credentials go in headers.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from outdial.errors import InvalidField

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Names that never leave the machine or its network, whatever DNS says about them.
LOCAL_NAMES = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "ip6-localhost",
        "ip6-loopback",
        "metadata",
        "metadata.google.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")
_IPV4_PART = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


@dataclass(frozen=True, slots=True)
class Target:
    """Where a checked URL points: its scheme, host as written (lower case), port, and the
    address when the host is one (no lookup needed)."""

    scheme: str
    host: str
    port: int
    address: Address | None


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """The rules, with the operator's allowed networks (none by default)."""

    allowed: tuple[Network, ...] = ()

    def refusal(self, address: Address) -> str | None:
        """Why ``address`` may not be reached (``10.0.0.7 is a private address``), or None."""
        kind = self._refused(address)
        return None if kind is None else f"{address} is {kind} address"

    def _refused(self, address: Address) -> str | None:
        if any(address in network for network in self.allowed):
            return None
        return _inside(address)

    def check(self, url: str, field: str) -> Target:
        """The URL's target, or InvalidField naming ``field`` and what is wrong. Checks what can
        be known without DNS; the addresses a name resolves to are checked by the caller."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise InvalidField(field, f"{url!r} is not a valid URL") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise InvalidField(field, f"{url!r} must be an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise InvalidField(
                field, "must not hold a user name or password: send credentials in headers"
            )
        host = parts.hostname.lower().rstrip(".")
        try:
            address = host_address(host)
        except ValueError:
            raise InvalidField(field, f"{url!r} has a host that is not a valid address") from None
        if address is not None:
            reason = self.refusal(address)
            if reason is not None:
                raise InvalidField(field, f"may not point inside: {reason}")
        elif _local_name(host) and not self.allowed:
            # With networks allowed, a local name may reach them: what it resolves to is
            # checked like any other name's.
            raise InvalidField(field, f"may not point inside: {host!r} is a local name")
        return Target(scheme, host, port or (443 if scheme == "https" else 80), address)

    def check_addresses(self, addresses: Iterable[Address], host: str, field: str) -> None:
        """Every address ``host`` resolves to must be allowed: one inside refuses it all (a
        name answering both ways is how DNS rebinding starts)."""
        for address in addresses:
            kind = self._refused(address)
            if kind is not None:
                raise InvalidField(
                    field, f"may not point inside: {host!r} resolves to {address}, {kind} address"
                )


def parse_networks(text: str) -> tuple[Network, ...]:
    """``127.0.0.0/8,10.1.0.0/16`` (commas or spaces) as networks; ValueError names a bad one."""
    found = []
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not a network (write 10.1.0.0/16 or fd00::/8)") from None
    return tuple(found)


def host_address(host: str) -> Address | None:
    """The address a URL's host stands for, read as browsers read it; None for a name.
    ValueError for a host that looks like an IPv4 address and is not one."""
    bare = host.strip("[]")
    try:
        return _unwrap(ipaddress.ip_address(bare.split("%")[0]))
    except ValueError:
        pass
    labels = bare.split(".")
    if labels and labels[-1] == "":
        labels.pop()
    if labels and _IPV4_PART.fullmatch(labels[-1]):  # WHATWG: a numeric last label is IPv4
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:  # 1.2.3.4.5, 0x1g: looks like an address and is not one
            raise ValueError(f"{host!r} is not a valid IPv4 address") from None
    return None


def _unwrap(address: Address) -> Address:
    """The IPv4 address an IPv6 one carries (mapped, NAT64), else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64 or address in _NAT64_LOCAL:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _inside(address: Address) -> str | None:
    """What kind of non-public address this is (for the message), or None if public."""
    address = _unwrap(address)
    if isinstance(address, ipaddress.IPv6Address):
        if address.sixtofour is not None:
            return _inside(address.sixtofour)
        if address.teredo is not None:
            return _inside(address.teredo[1])
    checks = (
        ("is_unspecified", "an unspecified"),
        ("is_loopback", "a loopback"),
        ("is_link_local", "a link-local"),
        ("is_multicast", "a multicast"),
        ("is_private", "a private"),
        ("is_reserved", "a reserved"),
    )
    for attribute, kind in checks:
        if getattr(address, attribute):
            return kind
    if not address.is_global:
        return "a non-public"
    return None


def _local_name(host: str) -> bool:
    return host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES) or "." not in host


__all__ = ["Address", "Network", "Target", "UrlPolicy", "host_address", "parse_networks"]
