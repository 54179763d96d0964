"""The seam between a SIP call and the carrier it runs on, both ways.

``LegHost`` is what a ``SipLeg`` needs of its carrier: the trunk's settings and timers, the
shared RTP ports and clock, where the trunk is and where we are, our Via and Contact, a way to
send a message and to start a client transaction, and the table of calls that routes the far
end's requests to the leg. ``CallHandle`` is what the carrier needs of a call in progress.
``SipCarrier`` is the one host; the leg modules import this module, never the carrier.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from outdial.telephony.carrier import HangupCause
from outdial.telephony.rtp.session import PortPool, RtpClock
from outdial.telephony.sip.config import SipTrunkConfig
from outdial.telephony.sip.message import Message, Request, Response
from outdial.telephony.sip.transaction import ClientTransaction, Timers, TransactionEvent
from outdial.telephony.sip.transport import Address


class CallHandle(Protocol):
    """What the carrier needs of a call in progress (``SipLeg``)."""

    def on_request(self, request: Request, source: Address) -> Response: ...

    def on_ack(self, request: Request) -> None: ...

    def retransmitted_2xx(self, response: Response) -> None: ...

    async def hangup(self, cause: HangupCause) -> None: ...

    async def wait_closed(self) -> None: ...


class LegHost(Protocol):
    """What a call (``SipLeg``) needs of the carrier it runs on (``SipCarrier``)."""

    @property
    def config(self) -> SipTrunkConfig: ...

    @property
    def timers(self) -> Timers: ...

    @property
    def media_timeout(self) -> float:
        """Seconds without RTP from the callee before an answered call is hung up."""

    @property
    def ports(self) -> PortPool: ...

    @property
    def clock(self) -> RtpClock: ...

    @property
    def peer(self) -> Address:
        """The trunk's resolved address (known once ``start`` returned)."""

    @property
    def local(self) -> Address:
        """Our SIP address (known once ``start`` returned)."""

    async def start(self) -> None:
        """Resolve the trunk and open the SIP transport, once; raises OSError."""

    def via(self) -> str:
        """Our Via header value, with a new branch."""

    def contact(self) -> str: ...

    def send(self, msg: Message, addr: Address) -> None: ...

    def start_transaction(
        self,
        request: Request,
        addr: Address,
        on_event: Callable[[ClientTransaction, TransactionEvent], None],
    ) -> ClientTransaction: ...

    def register(self, call_id: str, handle: CallHandle) -> None:
        """Route the far end's requests with this Call-ID to ``handle``."""

    def unregister(self, call_id: str) -> None:
        """The call ended: answer a late BYE for it with 200, nothing else."""
