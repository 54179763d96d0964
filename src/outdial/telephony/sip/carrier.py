"""``SipCarrier``: places a trunk's calls with outdial's own SIP user agent.

One carrier owns one UDP socket for SIP, the client transactions in flight, the calls up
(by Call-ID) and one RTP clock. It answers the requests a trunk sends on its own: BYE ends
the call it belongs to, OPTIONS gets 200, anything for a call we do not know gets 481.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
from collections.abc import Callable

from outdial.telephony.carrier import Carrier, DialRequest, HangupCause
from outdial.telephony.rtp.session import PortPool, RtpClock
from outdial.telephony.sip import message
from outdial.telephony.sip.call import SipLeg
from outdial.telephony.sip.config import SipTrunkConfig
from outdial.telephony.sip.dialog import new_branch, new_tag
from outdial.telephony.sip.errors import SipTimeout
from outdial.telephony.sip.host import CallHandle
from outdial.telephony.sip.invite import ALLOW, USER_AGENT
from outdial.telephony.sip.message import Message, Request, Response
from outdial.telephony.sip.transaction import (
    MAX_FORWARDS,
    ClientTransaction,
    State,
    Timers,
    TransactionEvent,
)
from outdial.telephony.sip.transport import Address, TcpTransport, Transport, UdpTransport

log = logging.getLogger(__name__)

MEDIA_TIMEOUT = 30.0  # seconds without RTP from the callee before an answered call is hung up
ENDED_MEMORY = 32.0  # seconds we still answer 200 to a retransmitted BYE of an ended call


class SipCarrier(Carrier):
    """A SIP trunk; the host (``host.LegHost``) of the calls (``SipLeg``) it places."""

    def __init__(
        self,
        config: SipTrunkConfig,
        *,
        timers: Timers | None = None,
        media_timeout: float = MEDIA_TIMEOUT,
    ) -> None:
        self.config = config
        self.timers = timers or Timers()
        self.media_timeout = media_timeout
        self.ports = PortPool(*config.rtp_ports)
        self.clock = RtpClock()
        self.reliable = config.transport == "tcp"
        self.transport: Transport = (
            TcpTransport(self._on_message, self._on_transport_error)
            if self.reliable
            else UdpTransport(self._on_message, self._on_transport_error)
        )
        self.peer: Address = ("", 0)  # the trunk's resolved address
        self.local: Address = ("", 0)
        self._started: asyncio.Future[None] | None = None
        self._transactions: dict[tuple[str, str], ClientTransaction] = {}
        self._calls: dict[str, CallHandle] = {}
        self._ended: dict[str, float] = {}  # Call-ID -> when it ended
        self._addresses: dict[str, str] = {}

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Resolve the trunk and bind the SIP socket, once (concurrent callers share it)."""
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            try:
                await self._start()
            except BaseException as error:
                self._started.set_exception(error)
                self._started.exception()  # retrieved: every caller gets it from the await
                self._started = None
                raise
            self._started.set_result(None)
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        host, port = self.config.uri.host_port
        self.peer = (await self.resolve(host), port)
        local_host = self.config.local_host or _source_address(self.peer)
        if isinstance(self.transport, TcpTransport):
            self.local = await self.transport.open(local_host, self.peer)
        else:
            assert isinstance(self.transport, UdpTransport)
            self.local = await self.transport.open(local_host, self.config.local_port)
        log.info("SIP trunk %s via %s:%s", self.config.uri, *self.local)

    async def resolve(self, host: str) -> str:
        """An IPv4 address for ``host`` (names are looked up once and remembered)."""
        with contextlib.suppress(ValueError):
            return str(ipaddress.ip_address(host.strip("[]")))
        if host not in self._addresses:
            loop = asyncio.get_running_loop()
            infos = await loop.getaddrinfo(
                host, None, family=socket.AF_INET, type=socket.SOCK_DGRAM
            )
            self._addresses[host] = str(infos[0][4][0])
        return self._addresses[host]

    def dial(self, request: DialRequest) -> SipLeg:
        return SipLeg(self, request)

    async def close(self) -> None:
        for handle in list(self._calls.values()):
            await handle.hangup(HangupCause.SHUTDOWN)
        for handle in list(self._calls.values()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(handle.wait_closed(), self.timers.b)
        for tx in list(self._transactions.values()):
            await tx.close()
        await self.clock.close()
        self.transport.close()
        await self.transport.wait_closed()

    # -- what calls use ---------------------------------------------------------------------

    def via(self, branch: str | None = None) -> str:
        host, port = self.local
        name = "TCP" if self.reliable else "UDP"
        return f"SIP/2.0/{name} {host}:{port};branch={branch or new_branch()};rport"

    def contact(self) -> str:
        host, port = self.local
        transport = ";transport=tcp" if self.reliable else ""
        return f"<sip:{USER_AGENT}@{host}:{port}{transport}>"

    def send(self, msg: Message, addr: Address) -> None:
        self.transport.send(msg, addr)

    def start_transaction(
        self,
        request: Request,
        addr: Address,
        on_event: Callable[[ClientTransaction, TransactionEvent], None],
    ) -> ClientTransaction:
        tx = ClientTransaction(
            request,
            lambda req: self.send(req, addr),
            on_event,
            self._forget,
            self.timers,
            reliable=self.reliable,
        )
        self._transactions[tx.key] = tx
        tx.start()
        return tx

    def _forget(self, tx: ClientTransaction) -> None:
        if self._transactions.get(tx.key) is tx:
            del self._transactions[tx.key]

    def register(self, call_id: str, handle: CallHandle) -> None:
        self._calls[call_id] = handle

    def unregister(self, call_id: str) -> None:
        self._calls.pop(call_id, None)
        now = time.monotonic()
        self._ended[call_id] = now
        for old in [c for c, t in self._ended.items() if now - t > ENDED_MEMORY]:
            del self._ended[old]

    async def options(self) -> int | None:
        """Ping the trunk with OPTIONS (its health); the response's status, None on timeout."""
        await self.start()
        host = self.config.uri.host
        headers = [
            ("Via", self.via()),
            ("Max-Forwards", MAX_FORWARDS),
            ("From", f"<sip:{USER_AGENT}@{self.config.from_domain or host}>;tag={new_tag()}"),
            ("To", f"<{self.config.uri.serialize()}>"),
            ("Call-ID", f"{new_tag()}{new_tag()}@outdial"),
            ("CSeq", "1 OPTIONS"),
            ("Contact", self.contact()),
            ("User-Agent", USER_AGENT),
        ]
        request = message.request("OPTIONS", self.config.uri.serialize(), headers)
        answer: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

        def on_event(_: ClientTransaction, event: TransactionEvent) -> None:
            if answer.done():
                return
            if isinstance(event, SipTimeout):
                answer.set_result(None)
            elif event.status >= 200:
                answer.set_result(event.status)

        self.start_transaction(request, self.peer, on_event)
        return await answer

    # -- what arrives -----------------------------------------------------------------------

    def _on_message(self, msg: Message, source: Address) -> None:
        try:
            if isinstance(msg, Response):
                self._on_response(msg)
            else:
                self._on_request(msg, source)
        except Exception:  # a malformed header deep in a message must not kill the socket
            log.exception("could not handle a SIP message from %s", source)

    def _on_response(self, response: Response) -> None:
        branch = response.top_via.branch or ""
        _, method = response.cseq
        tx = self._transactions.get((branch, method))
        late_2xx = method == "INVITE" and 200 <= response.status < 300
        if tx is not None and not (late_2xx and tx.state is State.TERMINATED):
            tx.receive(response)
            return
        handle = self._calls.get(response.call_id)
        if handle is not None and late_2xx:
            handle.retransmitted_2xx(response)  # RFC 3261 §13.2.2.4: ACK it again

    def _on_request(self, request: Request, source: Address) -> None:
        if request.method == "ACK":
            acked = self._calls.get(request.call_id)
            if acked is not None:
                acked.on_ack(request)
            return
        reply: Response
        handle = self._calls.get(request.call_id)
        if handle is not None:
            reply = handle.on_request(request, _response_address(request, source))
        elif request.method == "OPTIONS":
            reply = message.response_to(request, 200, "OK", to_tag=new_tag())
            reply.headers.add("Allow", ALLOW)
        elif request.method == "BYE" and request.call_id in self._ended:
            reply = message.response_to(request, 200, "OK")
        elif request.method == "INVITE":
            reply = message.response_to(request, 603, "Decline", to_tag=new_tag())
        else:
            reply = message.response_to(request, 481, "Call/Transaction Does Not Exist")
        self.send(reply, _response_address(request, source))

    def _on_transport_error(self, error: Exception) -> None:
        if isinstance(self.transport, TcpTransport) and not self.transport.connected:
            self._started = None  # the next call connects again
        for tx in list(self._transactions.values()):
            tx.fail(SipTimeout(f"transport error: {error}"))


def _source_address(peer: Address) -> str:
    """The local address the OS would send from to reach ``peer`` (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(peer)
            return str(probe.getsockname()[0])
        except OSError:
            return "0.0.0.0"


def _response_address(request: Request, source: Address) -> Address:
    """RFC 3581 §4 and §18.2.2: answer to the address and port the request came from."""
    del request
    return source


__all__ = ["SipCarrier"]
