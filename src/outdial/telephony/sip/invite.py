"""Our INVITE to the trunk (docs/sip.md, "What a call does"): pure, no I/O.

Request-URI ``sip:+E164@trunk`` (the trunk URI's parameters kept), From with the caller ID and
our tag, P-Asserted-Identity with the caller ID (or, without one, an anonymous From and
``Privacy: id``), the credentials learned from challenges, and our SDP offer.
"""

from __future__ import annotations

from outdial.telephony.carrier import DialRequest
from outdial.telephony.sip import message
from outdial.telephony.sip.config import SipTrunkConfig
from outdial.telephony.sip.message import Request
from outdial.telephony.sip.transaction import MAX_FORWARDS
from outdial.telephony.sip.uri import SipUri, quote

USER_AGENT = "outdial"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY"  # the methods we take in a call


def build_invite(
    config: SipTrunkConfig,
    request: DialRequest,
    *,
    call_id: str,
    from_tag: str,
    cseq: int,
    via: str,
    contact: str,
    credentials: list[tuple[str, str]],
    offer: bytes,
) -> Request:
    """The INVITE placing ``request`` through the trunk ``config``."""
    trunk = config.uri
    domain = config.from_domain or trunk.host
    ruri = SipUri(trunk.host, request.phone_number, trunk.port, params=trunk.params)
    to_uri = SipUri(trunk.host, request.phone_number, trunk.port)
    caller = request.caller_id
    if caller:
        from_ = f"{quote(caller)} <sip:{caller}@{domain}>;tag={from_tag}"
    else:
        from_ = f'"Anonymous" <sip:anonymous@anonymous.invalid>;tag={from_tag}'
    headers: list[tuple[str, str]] = [
        ("Via", via),
        ("Max-Forwards", MAX_FORWARDS),
        ("From", from_),
        ("To", f"<{to_uri}>"),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} INVITE"),
        ("Contact", contact),
    ]
    if caller:
        headers.append(("P-Asserted-Identity", f"<sip:{caller}@{domain}>"))
    else:
        headers.append(("Privacy", "id"))
    headers += credentials
    headers += [
        ("Allow", ALLOW),
        ("User-Agent", USER_AGENT),
        ("Content-Type", "application/sdp"),
    ]
    return message.request("INVITE", ruri.serialize(), headers, offer)
