"""``SipLeg``: one outgoing call over SIP, from INVITE to the end, as the Leg interface's
events (Ringing*, Answered?, Ended).

A single task runs each call as a state machine fed by one inbox: responses from the call's
transactions, requests the far end sends in the dialog, our hang-up, and the ring timer.
Whatever happens (a final response, a timeout, garbage, our hang-up), the task ends with one
``Ended`` and releases its RTP port and its entry in the carrier.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import logging
import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from outdial.calls import CalleeType
from outdial.telephony.carrier import (
    Answered,
    AudioFrame,
    DialRequest,
    Ended,
    Leg,
    LegEvent,
    Ringing,
)
from outdial.telephony.rtp.session import NoFreePort, RtpSession
from outdial.telephony.sip import message
from outdial.telephony.sip.config import SipTrunkConfig
from outdial.telephony.sip.dialog import Dialog, new_tag
from outdial.telephony.sip.digest import Challenge, UnsupportedChallenge, authorization
from outdial.telephony.sip.errors import SipParseError, SipTimeout
from outdial.telephony.sip.message import Request, Response
from outdial.telephony.sip.outcome import callee_type_for
from outdial.telephony.sip.sdp import SessionDescription, make_answer, make_offer, negotiate
from outdial.telephony.sip.transaction import (
    MAX_FORWARDS,
    ClientTransaction,
    TransactionEvent,
    cancel_for,
)
from outdial.telephony.sip.uri import SipUri, quote

if TYPE_CHECKING:
    from outdial.telephony.sip.carrier import SipCarrier

log = logging.getLogger(__name__)

MAX_AUTH_ATTEMPTS = 2  # challenges answered per call (one for a proxy, one for the far end)
AUDIO_QUEUE = 250  # frames (5 s) of received audio kept for a slow reader; older ones drop
RING_TIMEOUT_CAUSE = "canceled: ring timeout"
NO_MEDIA_CAUSE = "no media from the callee"
MEDIA_CHECK = 1.0  # seconds between checks that the callee's RTP still flows


class State(enum.Enum):
    CALLING = "calling"  # INVITE sent, nothing back yet
    EARLY = "early"  # a provisional came: CANCEL is allowed
    CONFIRMED = "confirmed"  # answered and ACKed
    ENDING = "ending"  # our BYE is out


_Item = (
    tuple[str, ClientTransaction, TransactionEvent]  # ("tx", transaction, response or timeout)
    | tuple[str, Request]  # ("request", in-dialog request the carrier answered)
    | tuple[str, str]  # ("hangup", cause)
)


class SipLeg(Leg):
    def __init__(self, carrier: SipCarrier, request: DialRequest) -> None:
        super().__init__(request)
        self.carrier = carrier
        self.config: SipTrunkConfig = carrier.config
        self.call_id = f"{secrets.token_hex(12)}@outdial"
        self.from_tag = new_tag()
        self.state = State.CALLING
        self.rtp: RtpSession | None = None
        self.dialog: Dialog | None = None
        self.invite: Request | None = None
        self.final: Response | None = None  # the final response to the INVITE
        self._invite_tx: ClientTransaction | None = None
        self._cancel_sent = False
        self._ack: Request | None = None
        self._inbox: asyncio.Queue[_Item] = asyncio.Queue()
        self._events: asyncio.Queue[LegEvent] = asyncio.Queue()
        self._audio: asyncio.Queue[AudioFrame | None] = asyncio.Queue(AUDIO_QUEUE)
        self._digits: asyncio.Queue[str | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._ended = False
        self._answered = False
        self._auth: dict[str, str] = {}  # realm -> (Proxy-)Authorization header line
        self._auth_names: dict[str, str] = {}  # realm -> header name
        self._auth_tries = 0
        self.digits_received: list[str] = []
        self._watchdog: asyncio.TimerHandle | None = None
        self._reinvite_timer: asyncio.TimerHandle | None = None
        self._reinvite_cseq: int | None = None  # of a re-INVITE whose ACK we wait for
        self._sdp_session = secrets.randbelow(2**31)
        self._sdp_version = 1
        self._media_count = 0
        self._media_seen = 0.0

    # -- the Leg interface ------------------------------------------------------------------

    async def events(self) -> AsyncIterator[LegEvent]:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"sip-call-{self.call_id}")
        try:
            while True:
                event = await self._events.get()
                yield event
                if isinstance(event, Ended):
                    return
        finally:
            if not self._task.done():
                await self.hangup("leg abandoned")
                with contextlib.suppress(Exception):
                    await self._task

    async def hangup(self, cause: str) -> None:
        if not self._ended:
            self._inbox.put_nowait(("hangup", cause))

    async def send_dtmf(self, digits: str) -> None:
        if self.rtp is None or not self._answered:
            raise RuntimeError("DTMF can only be sent on an answered call")
        self.rtp.send_digits(digits)

    async def audio(self) -> AsyncIterator[AudioFrame]:
        while (frame := await self._audio.get()) is not None:
            yield frame

    async def digits(self) -> AsyncIterator[str]:
        while (digit := await self._digits.get()) is not None:
            yield digit

    def play(self, samples: bytes) -> None:
        if self.rtp is not None:
            self.rtp.play(samples)

    async def wait_closed(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    # -- what the carrier hands us ----------------------------------------------------------

    def on_request(self, request: Request, source: tuple[str, int]) -> Response:
        """A request in this call's dialog; the carrier sends our answer to ``source``."""
        to_tag = request.to.tag
        if to_tag is not None and to_tag != self.from_tag:
            return message.response_to(request, 481, "Call/Transaction Does Not Exist")
        if request.method == "BYE":
            self._inbox.put_nowait(("request", request))
            return message.response_to(request, 200, "OK")
        if request.method == "INVITE" and self.invite is not None:
            # A re-INVITE (a session refresh): keep the session as it is, and send the 200
            # again until its ACK comes (RFC 3261 §13.3.1.4).
            ok = message.response_to(request, 200, "OK")
            ok.headers.add("Contact", self.carrier.contact())
            ok.headers.add("Content-Type", "application/sdp")
            ok.body = self._answer_reoffer(request)
            ok.headers.set("Content-Length", str(len(ok.body)))
            if self._reinvite_timer is not None:
                self._reinvite_timer.cancel()
            self._reinvite_cseq = request.cseq[0]
            timers = self.carrier.timers
            loop = asyncio.get_running_loop()
            self._reinvite_timer = loop.call_later(
                timers.t1, self._resend_ok, ok, source, timers.t1, loop.time() + timers.b
            )
            return ok
        if request.method in ("INFO", "UPDATE", "NOTIFY", "OPTIONS"):
            return message.response_to(request, 200, "OK")
        return message.response_to(request, 501, "Not Implemented")

    def _answer_reoffer(self, request: Request) -> bytes:
        """The SDP for our 200 to a re-INVITE: an answer to its offer (and RTP follows the
        offer's address and codec), or our own session again when it offers nothing usable."""
        assert self.invite is not None
        if self.rtp is None or not request.body:
            return self.invite.body
        try:
            offer = negotiate(SessionDescription.parse(request.body))
        except SipParseError:
            return self.invite.body
        self.rtp.set_remote(offer)
        self._sdp_version += 1
        answer = make_answer(
            self.carrier.local[0],
            self.rtp.port,
            offer,
            session_id=self._sdp_session,
            version=self._sdp_version,
        )
        return answer.serialize()

    def _resend_ok(
        self, ok: Response, source: tuple[str, int], interval: float, deadline: float
    ) -> None:
        loop = asyncio.get_running_loop()
        if self._ended or self._reinvite_cseq is None or loop.time() >= deadline:
            self._reinvite_timer = None
            return
        self.carrier.send(ok, source)
        interval = min(interval * 2, self.carrier.timers.t2)
        self._reinvite_timer = loop.call_later(
            interval, self._resend_ok, ok, source, interval, deadline
        )

    def on_ack(self, request: Request) -> None:
        """An ACK in this call: the one for our 200 to a re-INVITE stops its retransmission."""
        if self._reinvite_cseq is not None and request.cseq[0] == self._reinvite_cseq:
            self._reinvite_cseq = None
            if self._reinvite_timer is not None:
                self._reinvite_timer.cancel()
                self._reinvite_timer = None

    def retransmitted_2xx(self, response: Response) -> None:
        """A 2xx after the first: ours again (ACK it again), or another fork's answer,
        which RFC 3261 §13.2.2.4 says to ACK and then end with a BYE."""
        if self._ack is None or self.dialog is None or self.invite is None:
            return
        if response.to.tag == self.dialog.remote_tag:
            self._send_in_dialog(self._ack)
            return
        fork = Dialog.from_response(self.invite, response)
        hop = self._hop(fork)
        self.carrier.send(fork.ack(self.carrier.via(), self.invite), hop)
        bye = fork.request("BYE", self.carrier.via())
        self.carrier.start_transaction(bye, hop, lambda tx, event: None)
        log.info("call %s: ended an extra dialog (fork %s)", self.call_id, fork.remote_tag)

    def _on_tx(self, tx: ClientTransaction, event: TransactionEvent) -> None:
        self._inbox.put_nowait(("tx", tx, event))

    # -- the call ---------------------------------------------------------------------------

    async def _run(self) -> None:
        ring_timer: asyncio.TimerHandle | None = None
        try:
            loop = asyncio.get_running_loop()
            ring_timer = loop.call_later(
                self.request.ring_timeout, self._inbox.put_nowait, ("hangup", RING_TIMEOUT_CAUSE)
            )
            ended = await self._call()
        except asyncio.CancelledError:
            ended = Ended(None, "outdial is stopping", local=True)
            raise
        except Exception as error:
            log.exception("SIP call %s failed", self.call_id)
            ended = Ended(CalleeType.LINEFAILURE, f"SIP error: {error}")
        finally:
            if ring_timer is not None:
                ring_timer.cancel()
            if self._watchdog is not None:
                self._watchdog.cancel()
            if self._reinvite_timer is not None:
                self._reinvite_timer.cancel()
            if self._invite_tx is not None:
                self._invite_tx.abandon()
            self._close_media()
            self.carrier.unregister(self.call_id)
            self._finish(ended)

    def _finish(self, ended: Ended) -> None:
        if self._ended:
            return
        self._ended = True
        self._events.put_nowait(ended)
        self._digits.put_nowait(None)
        self._put_audio(None)

    def _close_media(self) -> None:
        if self.rtp is not None:
            self.carrier.clock.discard(self.rtp)
            self.rtp.flush()
            self.rtp.close()

    async def _call(self) -> Ended:
        try:
            await self.carrier.start()
        except OSError as error:
            return Ended(CalleeType.LINEFAILURE, f"cannot reach the trunk: {error}")
        self.carrier.register(self.call_id, self)
        self.rtp = RtpSession(on_audio=self._on_audio, on_digit=self._on_digit)
        try:
            await self.rtp.open(self.carrier.local[0], self.carrier.ports)
        except NoFreePort as error:
            return Ended(CalleeType.LINEFAILURE, f"no RTP port: {error}")
        self._send_invite(1)
        hangup_cause: str | None = None
        while True:
            item = await self._inbox.get()
            kind = item[0]
            if kind == "hangup":
                assert isinstance(item[1], str)
                cause = item[1]
                if hangup_cause is not None or self.state is State.ENDING:
                    continue
                if cause == RING_TIMEOUT_CAUSE and self.state is State.CONFIRMED:
                    continue  # the ring timer fired as the call was answered
                hangup_cause = cause
                if self.state is State.CONFIRMED:
                    self._send_bye()
                elif self.state is State.EARLY:
                    self._send_cancel()
                # CALLING: RFC 3261 §9.1 forbids CANCEL before a provisional; it goes out
                # when one comes, or Timer B ends the call.
                continue
            if kind == "request":
                if self.state is State.ENDING:
                    return self._local_end(hangup_cause or "hung up", None)
                return Ended(None if self._answered else CalleeType.UNKNOWN, "callee hung up")
            _, tx, event = item  # type: ignore[misc]
            assert isinstance(tx, ClientTransaction)
            if tx.method == "BYE":
                if self.state is State.ENDING and (
                    isinstance(event, SipTimeout) or event.status >= 200
                ):
                    return self._local_end(hangup_cause or "hung up", None)
                continue
            if tx.method == "CANCEL":
                if isinstance(event, SipTimeout) or event.status >= 300:
                    # the far end will not cancel (481 or no answer): stop waiting for it
                    return self._local_end(hangup_cause or "canceled", None)
                continue
            if tx is not self._invite_tx:
                continue  # an INVITE we replaced after a challenge
            ended = self._on_invite_event(event, hangup_cause)
            if ended is not None:
                return ended

    def _on_invite_event(self, event: TransactionEvent, hangup_cause: str | None) -> Ended | None:
        if isinstance(event, SipTimeout):
            if hangup_cause is not None:
                return self._local_end(hangup_cause, None)
            if self.state is State.CALLING:
                detail = f" ({event})" if str(event) else ""
                return Ended(CalleeType.LINEFAILURE, f"no response from the trunk{detail}")
            return Ended(CalleeType.LINEFAILURE, "the trunk stopped answering")
        response = event
        status = response.status
        if status < 200:
            if self.state is State.CALLING:
                self.state = State.EARLY
            if status > 100:
                early = self._take_media(response)
                self._events.put_nowait(Ringing(early_media=early))
            if hangup_cause is not None and not self._cancel_sent:
                self._send_cancel()
            return None
        self.final = response
        if status < 300:
            assert self.invite is not None
            self.dialog = Dialog.from_response(self.invite, response)
            self._ack = self.dialog.ack(self.carrier.via(), self.invite)
            self._send_in_dialog(self._ack)
            if hangup_cause is not None:  # answered as we cancelled: hang up at once
                self.state = State.CONFIRMED
                self._send_bye()
                return None
            self._take_media(response)
            self.state = State.CONFIRMED
            self._answered = True
            if self.rtp is not None:
                self.rtp.sending = True
                if self.rtp.remote is not None and self.rtp.direction in ("sendrecv", "sendonly"):
                    self._media_seen = asyncio.get_running_loop().time()
                    self._check_media()
            self._events.put_nowait(Answered(None))
            return None
        if status in (401, 407) and hangup_cause is None and self._answer_challenge(response):
            return None
        if hangup_cause is not None:
            return self._local_end(hangup_cause, status)
        return Ended(callee_type_for(status), response.status_line, status)

    def _local_end(self, cause: str, status: int | None) -> Ended:
        callee = CalleeType.NOANSWER if cause == RING_TIMEOUT_CAUSE else None
        if self._answered:
            callee = None
        return Ended(callee, cause, status, local=True)

    # -- requests we send -------------------------------------------------------------------

    def _send_invite(self, cseq: int) -> None:
        request = self.request
        trunk = self.config.uri
        domain = self.config.from_domain or trunk.host
        ruri = SipUri(trunk.host, request.phone_number, trunk.port, params=trunk.params)
        to_uri = SipUri(trunk.host, request.phone_number, trunk.port)
        caller = request.caller_id
        if caller:
            from_ = f"{quote(caller)} <sip:{caller}@{domain}>;tag={self.from_tag}"
        else:
            from_ = f'"Anonymous" <sip:anonymous@anonymous.invalid>;tag={self.from_tag}'
        assert self.rtp is not None
        offer = make_offer(
            self.carrier.local[0], self.rtp.port, session_id=self._sdp_session
        ).serialize()
        headers: list[tuple[str, str]] = [
            ("Via", self.carrier.via()),
            ("Max-Forwards", MAX_FORWARDS),
            ("From", from_),
            ("To", f"<{to_uri}>"),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} INVITE"),
            ("Contact", self.carrier.contact()),
        ]
        if caller:
            headers.append(("P-Asserted-Identity", f"<sip:{caller}@{domain}>"))
        else:
            headers.append(("Privacy", "id"))
        headers += [(self._auth_names[realm], value) for realm, value in self._auth.items()]
        headers += [
            ("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"),
            ("User-Agent", "outdial"),
            ("Content-Type", "application/sdp"),
        ]
        self.invite = message.request("INVITE", ruri.serialize(), headers, offer)
        self.state = State.CALLING
        self._cancel_sent = False
        self._invite_tx = self.carrier.start_transaction(
            self.invite, self.carrier.peer, self._on_tx
        )

    def _answer_challenge(self, response: Response) -> bool:
        """Retry the INVITE with credentials; False when we cannot (or already did)."""
        config = self.config
        if config.username is None or config.password is None:
            return False
        if self._auth_tries >= MAX_AUTH_ATTEMPTS:
            return False
        proxy = response.status == 407
        header = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        assert self.invite is not None
        answered = False
        for value in response.headers.get_all(header):
            try:
                challenge = Challenge.parse(value)
                credentials = authorization(
                    challenge,
                    method="INVITE",
                    uri=self.invite.uri,
                    username=config.username,
                    password=config.password,
                    cnonce=secrets.token_hex(8),
                )
            except (SipParseError, UnsupportedChallenge) as error:
                log.info("call %s: cannot answer challenge: %s", self.call_id, error)
                continue
            self._auth[challenge.realm] = credentials
            self._auth_names[challenge.realm] = "Proxy-Authorization" if proxy else "Authorization"
            answered = True
            break
        if not answered:
            return False
        self._auth_tries += 1
        self._send_invite(self.invite.cseq[0] + 1)
        return True

    def _send_cancel(self) -> None:
        assert self.invite is not None
        self._cancel_sent = True
        self.carrier.start_transaction(cancel_for(self.invite), self.carrier.peer, self._on_tx)

    def _send_bye(self) -> None:
        assert self.dialog is not None
        self.state = State.ENDING
        if self.rtp is not None:
            self.rtp.sending = False
        bye = self.dialog.request("BYE", self.carrier.via())
        self.carrier.start_transaction(bye, self._next_hop(), self._on_tx)

    def _send_in_dialog(self, request: Request) -> None:
        self.carrier.send(request, self._next_hop())

    def _next_hop(self) -> tuple[str, int]:
        assert self.dialog is not None
        return self._hop(self.dialog)

    def _hop(self, dialog: Dialog) -> tuple[str, int]:
        """The route set's first hop or the remote target, as an address; the trunk when
        that is a name we have not resolved (in-dialog requests must not wait for DNS)."""
        host, port = dialog.next_hop().host_port
        try:
            return (str(ipaddress.ip_address(host)), port)
        except ValueError:
            return self.carrier.peer

    # -- media ------------------------------------------------------------------------------

    def _take_media(self, response: Response) -> bool:
        """Point RTP at the SDP in ``response``, if it has one; True if it did."""
        if not response.body or "sdp" not in (response.headers.get("Content-Type") or ""):
            return False
        try:
            media = negotiate(SessionDescription.parse(response.body))
        except SipParseError as error:
            log.info("call %s: unusable SDP: %s", self.call_id, error)
            return False
        if self.rtp is not None:
            self.rtp.set_remote(media)
            self.carrier.clock.add(self.rtp)
        return True

    def _check_media(self) -> None:
        """Hang up an answered call whose callee sent no RTP for the carrier's media
        timeout: a far end that died (or forgot the call) must not hold the line forever."""
        if self._ended or self.state is not State.CONFIRMED or self.rtp is None:
            return
        loop = asyncio.get_running_loop()
        if self.rtp.packets_received != self._media_count:
            self._media_count = self.rtp.packets_received
            self._media_seen = loop.time()
        elif loop.time() - self._media_seen >= self.carrier.media_timeout:
            self._inbox.put_nowait(("hangup", NO_MEDIA_CAUSE))
            return
        self._watchdog = loop.call_later(MEDIA_CHECK, self._check_media)

    def _on_audio(self, samples: bytes) -> None:
        self._put_audio(AudioFrame(samples, early=not self._answered))

    def _put_audio(self, frame: AudioFrame | None) -> None:
        while True:
            try:
                self._audio.put_nowait(frame)
                return
            except asyncio.QueueFull:
                self._audio.get_nowait()  # nobody is listening fast enough: drop the oldest

    def _on_digit(self, digit: str) -> None:
        self.digits_received.append(digit)
        self._digits.put_nowait(digit)
