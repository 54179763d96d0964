"""Re-INVITEs from the far end, inside an established call.

A re-INVITE (a session refresh, or the far end moving its media) gets a 200 carrying our SDP:
an answer to its offer, after which RTP follows the offer's address and codec, or our own
session again when it offers nothing usable. The 200 is sent again until its ACK comes, doubling
from T1 to T2 and giving up after 64*T1 (RFC 3261 §13.3.1.4).
"""

from __future__ import annotations

import asyncio

from outdial.telephony.rtp.session import RtpSession
from outdial.telephony.sip import message
from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.host import LegHost
from outdial.telephony.sip.message import Request, Response
from outdial.telephony.sip.sdp import SessionDescription, make_answer, negotiate
from outdial.telephony.sip.transport import Address


class ReInvites:
    """Answers one call's re-INVITEs and retransmits the 200 until its ACK."""

    def __init__(self, host: LegHost, sdp_session: int) -> None:
        self.host = host
        self._sdp_session = sdp_session  # the session id of our offer: answers keep it
        self._sdp_version = 1  # the offer's; each answer to a re-INVITE is one more
        self._timer: asyncio.TimerHandle | None = None
        self._awaiting_ack: int | None = None  # CSeq of the re-INVITE whose ACK we wait for

    def answer(
        self, request: Request, source: Address, offer: bytes, rtp: RtpSession | None
    ) -> Response:
        """The 200 to the re-INVITE ``request`` (``offer``: the SDP of our INVITE); it is sent
        to ``source`` again until its ACK comes."""
        ok = message.response_to(request, 200, "OK")
        ok.headers.add("Contact", self.host.contact())
        ok.headers.add("Content-Type", "application/sdp")
        ok.body = self._sdp(request, offer, rtp)
        ok.headers.set("Content-Length", str(len(ok.body)))
        self.stop()
        self._awaiting_ack = request.cseq[0]
        timers = self.host.timers
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(
            timers.t1, self._resend, ok, source, timers.t1, loop.time() + timers.b
        )
        return ok

    def on_ack(self, request: Request) -> None:
        """An ACK in the call: the one for our 200 stops its retransmission."""
        if self._awaiting_ack is not None and request.cseq[0] == self._awaiting_ack:
            self._awaiting_ack = None
            self.stop()

    def stop(self) -> None:
        """Send no more 200s (the call ended, or a newer re-INVITE came)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _sdp(self, request: Request, offer: bytes, rtp: RtpSession | None) -> bytes:
        if rtp is None or not request.body:
            return offer
        try:
            theirs = negotiate(SessionDescription.parse(request.body))
        except SipParseError:
            return offer
        rtp.set_remote(theirs)
        self._sdp_version += 1
        answer = make_answer(
            self.host.local[0],
            rtp.port,
            theirs,
            session_id=self._sdp_session,
            version=self._sdp_version,
        )
        return answer.serialize()

    def _resend(self, ok: Response, source: Address, interval: float, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        if self._awaiting_ack is None or loop.time() >= deadline:
            self._timer = None
            return
        self.host.send(ok, source)
        interval = min(interval * 2, self.host.timers.t2)
        self._timer = loop.call_later(interval, self._resend, ok, source, interval, deadline)
