"""SIP over UDP (RFC 3261 §18): one asyncio datagram socket, parsed messages in and out.

Datagrams that do not parse are counted and dropped (a peer that sends garbage must not
hurt anyone); CRLF keep-alives (RFC 5626 §4.4.1) are ignored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import cast

from outdial.telephony.sip import message
from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.message import Message

log = logging.getLogger(__name__)

Address = tuple[str, int]


class UdpTransport(asyncio.DatagramProtocol):
    """A bound UDP socket that hands each parsed message to ``on_message``."""

    def __init__(
        self,
        on_message: Callable[[Message, Address], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        self._on_message = on_message
        self._on_error = on_error
        self._transport: asyncio.DatagramTransport | None = None
        self.local: Address = ("0.0.0.0", 0)
        self.garbage = 0  # datagrams that were not SIP
        self.sent = 0
        self.received = 0

    async def open(self, host: str, port: int) -> Address:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        self._transport = transport
        sockname = transport.get_extra_info("sockname")
        self.local = (sockname[0], sockname[1])
        return self.local

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if not data.strip(b"\r\n"):
            return  # keep-alive
        try:
            msg = message.parse(data)
        except SipParseError as error:
            self.garbage += 1
            log.debug("dropped a datagram from %s: %s", addr, error)
            return
        self.received += 1
        self._on_message(msg, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        log.warning("SIP transport error: %s", exc)
        self._on_error(exc)

    def send(self, msg: Message, addr: Address) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        self.sent += 1
        self._transport.sendto(msg.serialize(), addr)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
