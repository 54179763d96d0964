"""``SipLeg``: one outgoing call over SIP, from INVITE to the end, as the Leg interface's
events (Ringing*, Answered?, Ended).

A single task runs each call as a state machine fed by one inbox of typed items (``inbox``):
responses from the call's transactions, the far end's BYE, and our hang-up (the ring timer's,
from ``Leg.events``, included). Whatever happens (a final response, a timeout, garbage, our
hang-up), the task ends with one ``Ended`` and releases its RTP port and its entry in the
carrier. The leg sees its carrier only through ``host.LegHost``. The parts that stand alone:
``invite`` (the request), ``credentials`` (digest retry), ``reinvite`` (the far end's
re-INVITEs), ``refer`` (a transfer by REFER and its NOTIFYs), ``media`` (RTP, SDP, the
callee's audio and DTMF), ``watchdog`` (no media).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import secrets
from collections.abc import AsyncGenerator, AsyncIterator

from outdial.calls import CalleeType
from outdial.telephony.carrier import (
    Answered,
    AudioFrame,
    DialRequest,
    Ended,
    HangupCause,
    Leg,
    LegEvent,
    Playback,
    Ringing,
    TransferOutcomeName,
)
from outdial.telephony.rtp.session import NoFreePort, RtpSession
from outdial.telephony.sip import message
from outdial.telephony.sip.credentials import Credentials
from outdial.telephony.sip.dialog import Dialog, new_tag
from outdial.telephony.sip.errors import SipTimeout
from outdial.telephony.sip.host import LegHost
from outdial.telephony.sip.inbox import HangupRequested, InboxItem, PeerBye, TxEvent
from outdial.telephony.sip.invite import build_invite
from outdial.telephony.sip.media import CallMedia
from outdial.telephony.sip.message import Request, Response
from outdial.telephony.sip.outcome import callee_type_for
from outdial.telephony.sip.refer import Referral
from outdial.telephony.sip.reinvite import ReInvites
from outdial.telephony.sip.sdp import make_offer
from outdial.telephony.sip.transaction import ClientTransaction, TransactionEvent, cancel_for
from outdial.telephony.sip.transport import Address

log = logging.getLogger(__name__)


class State(enum.Enum):
    CALLING = "calling"  # INVITE sent, nothing back yet
    EARLY = "early"  # a provisional came: CANCEL is allowed
    CONFIRMED = "confirmed"  # answered and ACKed
    ENDING = "ending"  # our BYE is out


class SipLeg(Leg):
    def __init__(self, host: LegHost, request: DialRequest) -> None:
        super().__init__(request)
        self.host = host
        self.config = host.config
        self.call_id = f"{secrets.token_hex(12)}@outdial"
        self.from_tag = new_tag()
        self.state = State.CALLING
        self.media = CallMedia(host, self.call_id, self._no_media)
        self.dialog: Dialog | None = None
        self.invite: Request | None = None
        self.final: Response | None = None  # the final response to the INVITE
        self._invite_tx: ClientTransaction | None = None
        self._cancel_sent = False
        self._ack: Request | None = None
        self._hanging_up: HangupCause | None = None  # why, once we decided to hang up
        self._inbox: asyncio.Queue[InboxItem] = asyncio.Queue()
        self._events: asyncio.Queue[LegEvent] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._ended = False
        self._credentials = Credentials(self.config.username, self.config.password, self.call_id)
        self._sdp_session = secrets.randbelow(2**31)
        self._reinvites = ReInvites(host, self._sdp_session)
        self._referral: Referral | None = None  # the last REFER we sent

    @property
    def rtp(self) -> RtpSession | None:
        return self.media.rtp

    @property
    def digits_received(self) -> list[str]:
        return self.media.digits_received

    # -- the Leg interface ------------------------------------------------------------------

    async def _progress(self) -> AsyncGenerator[LegEvent, None]:
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
                await self.hangup(HangupCause.ABANDONED)
                with contextlib.suppress(Exception):
                    await self._task

    async def hangup(self, cause: HangupCause) -> None:
        if not self._ended:
            self._inbox.put_nowait(HangupRequested(cause))

    async def send_dtmf(self, digits: str) -> None:
        self.media.send_digits(digits)

    async def refer(self, target: str, timeout_s: float) -> TransferOutcomeName:
        """A REFER in the answered call's dialog (``refer``): its outcome."""
        if self.state is not State.CONFIRMED or self.dialog is None or self._ended:
            return "failed"
        self._referral = Referral(self.host, self.dialog, target)
        self._referral.send()
        return await self._referral.wait(timeout_s)

    def audio(self) -> AsyncIterator[AudioFrame]:
        return self.media.audio()

    def digits(self) -> AsyncIterator[str]:
        return self.media.digits()

    def play(self, samples: bytes) -> None:
        self.media.play(samples)

    def play_prompt(self, ulaw: bytes) -> Playback:
        return self.media.play_prompt(ulaw)

    async def wait_closed(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    # -- what the carrier hands us (host.CallHandle) ----------------------------------------

    def on_request(self, request: Request, source: Address) -> Response:
        """A request in this call's dialog; the carrier sends our answer to ``source``."""
        to_tag = request.to.tag
        if to_tag is not None and to_tag != self.from_tag:
            return message.response_to(request, 481, "Call/Transaction Does Not Exist")
        if request.method == "BYE":
            self._inbox.put_nowait(PeerBye(request))
            return message.response_to(request, 200, "OK")
        if request.method == "INVITE" and self.invite is not None:
            return self._reinvites.answer(request, source, self.invite.body, self.rtp)
        if request.method == "NOTIFY" and self._referral is not None:
            return self._referral.on_notify(request)
        if request.method in ("INFO", "UPDATE", "NOTIFY", "OPTIONS"):
            return message.response_to(request, 200, "OK")
        return message.response_to(request, 501, "Not Implemented")

    def on_ack(self, request: Request) -> None:
        """An ACK in this call: the one for our 200 to a re-INVITE stops its retransmission."""
        self._reinvites.on_ack(request)

    def retransmitted_2xx(self, response: Response) -> None:
        """A 2xx after the first: ours again (ACK it again), or another fork's answer,
        which RFC 3261 §13.2.2.4 says to ACK and then end with a BYE."""
        if self._ack is None or self.dialog is None or self.invite is None:
            return
        if response.to.tag == self.dialog.remote_tag:
            self._send_in_dialog(self._ack)
            return
        fork = Dialog.from_response(self.invite, response)
        hop = fork.next_hop_address(self.host.peer)
        self.host.send(fork.ack(self.host.via(), self.invite), hop)
        bye = fork.request("BYE", self.host.via())
        self.host.start_transaction(bye, hop, lambda tx, event: None)
        log.info("call %s: ended an extra dialog (fork %s)", self.call_id, fork.remote_tag)

    def _on_tx(self, tx: ClientTransaction, event: TransactionEvent) -> None:
        self._inbox.put_nowait(TxEvent(tx, event))

    # -- the call ---------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            ended = await self._call()
        except asyncio.CancelledError:
            ended = Ended.hung_up(HangupCause.SHUTDOWN)
            raise
        except Exception as error:
            log.exception("SIP call %s failed", self.call_id)
            ended = Ended(CalleeType.LINEFAILURE, f"SIP error: {error}")
        finally:
            self._reinvites.stop()
            if self._referral is not None:
                self._referral.ended()
            if self._invite_tx is not None:
                self._invite_tx.abandon()
            self.media.close()
            self.host.unregister(self.call_id)
            self._ended = True
            self._events.put_nowait(ended)

    async def _call(self) -> Ended:
        try:
            await self.host.start()
        except OSError as error:
            return Ended(CalleeType.LINEFAILURE, f"cannot reach the trunk: {error}")
        self.host.register(self.call_id, self)
        try:
            await self.media.open()
        except NoFreePort as error:
            return Ended(CalleeType.LINEFAILURE, f"no RTP port: {error}")
        self._send_invite(1)
        while True:
            match await self._inbox.get():
                case HangupRequested(cause):
                    self._on_hangup(cause)
                case PeerBye():
                    if self.state is State.ENDING:
                        return self._local_end(None)
                    callee = None if self.media.answered else CalleeType.UNKNOWN
                    return Ended(callee, "callee hung up")
                case TxEvent(tx, event):
                    if (ended := self._on_tx_event(tx, event)) is not None:
                        return ended

    def _on_hangup(self, cause: HangupCause) -> None:
        if self._hanging_up is not None or self.state is State.ENDING:
            return
        if cause is HangupCause.RING_TIMEOUT and self.state is State.CONFIRMED:
            return  # the ring timer fired as the call was answered
        self._hanging_up = cause
        if self.state is State.CONFIRMED:
            self._send_bye()
        elif self.state is State.EARLY:
            self._send_cancel()
        # CALLING: RFC 3261 §9.1 forbids CANCEL before a provisional; it goes out when one
        # comes, or Timer B ends the call.

    def _on_tx_event(self, tx: ClientTransaction, event: TransactionEvent) -> Ended | None:
        status = None if isinstance(event, SipTimeout) else event.status  # None: no answer
        if tx.method == "BYE":
            final = status is None or status >= 200
            return self._local_end(None) if self.state is State.ENDING and final else None
        if tx.method == "CANCEL":
            # the far end will not cancel (481 or no answer): stop waiting for it
            return self._local_end(None) if status is None or status >= 300 else None
        if tx is not self._invite_tx:
            return None  # an INVITE we replaced after a challenge
        return self._on_invite_event(event)

    def _on_invite_event(self, event: TransactionEvent) -> Ended | None:
        if isinstance(event, SipTimeout):
            if self._hanging_up is not None:
                return self._local_end(None)
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
                early = self.media.take(response)
                self._events.put_nowait(Ringing(early_media=early))
            if self._hanging_up is not None and not self._cancel_sent:
                self._send_cancel()
            return None
        self.final = response
        if status < 300:
            self._on_answer(response)
            return None
        assert self.invite is not None
        if (
            status in (401, 407)
            and self._hanging_up is None
            and self._credentials.answer(response, self.invite.uri)
        ):
            self._send_invite(self.invite.cseq[0] + 1)
            return None
        if self._hanging_up is not None:
            return self._local_end(status)
        return Ended(callee_type_for(status), response.status_line, status)

    def _on_answer(self, response: Response) -> None:
        assert self.invite is not None
        self.dialog = Dialog.from_response(self.invite, response)
        self._ack = self.dialog.ack(self.host.via(), self.invite)
        self._send_in_dialog(self._ack)
        self.state = State.CONFIRMED
        if self._hanging_up is not None:  # answered as we cancelled: hang up at once
            self._send_bye()
            return
        self.media.take(response)
        self.media.answer()
        self._events.put_nowait(Answered(None))

    def _local_end(self, status: int | None) -> Ended:
        cause = self._hanging_up
        assert cause is not None, "only our hang-up ends a call on our side"
        ring_timeout = cause is HangupCause.RING_TIMEOUT and not self.media.answered
        return Ended.hung_up(cause, CalleeType.NOANSWER if ring_timeout else None, status)

    # -- requests we send -------------------------------------------------------------------

    def _send_invite(self, cseq: int) -> None:
        assert self.media.rtp is not None
        offer = make_offer(self.host.local[0], self.media.rtp.port, session_id=self._sdp_session)
        self.invite = build_invite(
            self.config,
            self.request,
            call_id=self.call_id,
            from_tag=self.from_tag,
            cseq=cseq,
            via=self.host.via(),
            contact=self.host.contact(),
            credentials=self._credentials.headers,
            offer=offer.serialize(),
        )
        self.state = State.CALLING
        self._cancel_sent = False
        self._invite_tx = self.host.start_transaction(self.invite, self.host.peer, self._on_tx)

    def _send_cancel(self) -> None:
        assert self.invite is not None
        self._cancel_sent = True
        self.host.start_transaction(cancel_for(self.invite), self.host.peer, self._on_tx)

    def _send_bye(self) -> None:
        assert self.dialog is not None
        self.state = State.ENDING
        self.media.stop_sending()
        bye = self.dialog.request("BYE", self.host.via())
        self.host.start_transaction(bye, self.dialog.next_hop_address(self.host.peer), self._on_tx)

    def _send_in_dialog(self, request: Request) -> None:
        assert self.dialog is not None
        self.host.send(request, self.dialog.next_hop_address(self.host.peer))

    def _no_media(self) -> None:
        self._inbox.put_nowait(HangupRequested(HangupCause.NO_MEDIA))
