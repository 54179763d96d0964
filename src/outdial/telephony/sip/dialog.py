"""The UAC side of a dialog (RFC 3261 §12): built from a 2xx (or 1xx with a tag) to our
INVITE, it knows where in-dialog requests go and what they carry. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass

from outdial.telephony.sip import message
from outdial.telephony.sip.message import Request, Response
from outdial.telephony.sip.transaction import MAX_FORWARDS
from outdial.telephony.sip.uri import NameAddr, SipUri

BRANCH_MAGIC = "z9hG4bK"  # RFC 3261 §8.1.1.7


def new_branch() -> str:
    return BRANCH_MAGIC + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


@dataclass(slots=True)
class Dialog:
    call_id: str
    local: NameAddr  # our From, with our tag
    remote: NameAddr  # their To, with their tag
    remote_target: str  # their Contact URI
    route_set: list[str]  # Record-Route reversed (§12.1.2)
    local_seq: int

    @classmethod
    def from_response(cls, invite: Request, response: Response) -> Dialog:
        contacts = response.headers.values("Contact")
        target = NameAddr.parse(contacts[0]).uri.serialize() if contacts else invite.uri
        routes = list(reversed(response.headers.values("Record-Route")))
        return cls(
            call_id=invite.call_id,
            local=invite.from_,
            remote=response.to,
            remote_target=target,
            route_set=routes,
            local_seq=invite.cseq[0],
        )

    @property
    def remote_tag(self) -> str | None:
        return self.remote.tag

    def next_hop(self) -> SipUri:
        """Where the next in-dialog request is sent: the first route, else the target."""
        if self.route_set:
            return NameAddr.parse(self.route_set[0]).uri
        return SipUri.parse(self.remote_target)

    def next_hop_address(self, fallback: tuple[str, int]) -> tuple[str, int]:
        """``next_hop`` as an address; ``fallback`` (the trunk) when it names a host we have
        not resolved: in-dialog requests must not wait for DNS."""
        host, port = self.next_hop().host_port
        try:
            return (str(ipaddress.ip_address(host)), port)
        except ValueError:
            return fallback

    def _uri_and_routes(self) -> tuple[str, list[str]]:
        """§12.2.1.1: loose routing keeps the target as Request-URI; a strict router
        (no ;lr) becomes the Request-URI and the target goes last in Route."""
        if not self.route_set:
            return self.remote_target, []
        first = NameAddr.parse(self.route_set[0])
        if first.uri.param("lr") is not None:
            return self.remote_target, list(self.route_set)
        return first.uri.serialize(), [*self.route_set[1:], f"<{self.remote_target}>"]

    def request(
        self,
        method: str,
        via: str,
        *,
        cseq: int | None = None,
        extra: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> Request:
        """An in-dialog request; ``via`` is our Via value with a fresh branch."""
        if cseq is None:
            self.local_seq += 1
            cseq = self.local_seq
        uri, routes = self._uri_and_routes()
        headers: list[tuple[str, str]] = [("Via", via)]
        headers += [("Route", r) for r in routes]
        headers += [
            ("Max-Forwards", MAX_FORWARDS),
            ("From", self.local.serialize()),
            ("To", self.remote.serialize()),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
        ]
        headers += extra or []
        return message.request(method, uri, headers, body)

    def ack(self, via: str, invite: Request) -> Request:
        """§13.2.2.4: the ACK for a 2xx, end to end: new branch, the INVITE's CSeq number,
        the INVITE's credentials."""
        extra = [
            (name, value)
            for name in ("Authorization", "Proxy-Authorization")
            for value in invite.headers.get_all(name)
        ]
        return self.request("ACK", via, cseq=invite.cseq[0], extra=extra)
