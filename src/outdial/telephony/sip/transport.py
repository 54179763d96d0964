"""SIP transports (RFC 3261 §18): UDP (one asyncio datagram socket) and TCP (one connection
to the trunk), parsed messages in and out.

Datagrams that do not parse are counted and dropped (a peer that sends garbage must not
hurt anyone); CRLF keep-alives (RFC 5626 §4.4.1) are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Protocol, cast

from outdial.telephony.sip import message
from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.message import Message

log = logging.getLogger(__name__)

Address = tuple[str, int]
SOCKET_BUFFER = 4 * 1024 * 1024  # bytes asked for the SIP socket's receive and send buffers


class Transport(Protocol):
    local: Address
    garbage: int

    def send(self, msg: Message, addr: Address) -> None: ...

    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...


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
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # A burst of calls brings a burst of responses: a small buffer drops them, and
            # the INVITEs are retransmitted needlessly. The kernel caps this at rmem_max.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
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

    async def wait_closed(self) -> None:
        return


class TcpTransport:
    """SIP over one TCP connection to the trunk (RFC 3261 §18): messages are framed by
    Content-Length; requests the trunk sends back on the connection are handled too.

    A stream that stops parsing cannot be resynchronised: the connection is dropped, and
    the carrier is told (its transactions fail as transport errors).
    """

    def __init__(
        self,
        on_message: Callable[[Message, Address], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        self._on_message = on_message
        self._on_error = on_error
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self.peer: Address = ("0.0.0.0", 0)
        self.local: Address = ("0.0.0.0", 0)
        self.garbage = 0
        self.sent = 0
        self.received = 0

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def open(self, host: str, peer: Address) -> Address:
        reader, writer = await asyncio.open_connection(peer[0], peer[1], local_addr=(host, 0))
        self._writer = writer
        self.peer = peer
        sockname = writer.get_extra_info("sockname")
        self.local = (sockname[0], sockname[1])
        self._reader_task = asyncio.create_task(self._read(reader), name="sip-tcp-reader")
        return self.local

    async def _read(self, reader: asyncio.StreamReader) -> None:
        buffer = b""
        error: Exception = ConnectionResetError("the trunk closed the TCP connection")
        try:
            while chunk := await reader.read(65536):
                buffer += chunk
                buffer = buffer.lstrip(b"\r\n")  # keep-alives between messages
                while buffer and (length := message.frame_length(buffer)) is not None:
                    data, buffer = buffer[:length], buffer[length:].lstrip(b"\r\n")
                    msg = message.parse(data)
                    self.received += 1
                    self._on_message(msg, self.peer)
        except SipParseError as parse_error:
            self.garbage += 1
            error = ConnectionAbortedError(f"unparseable SIP on the TCP connection: {parse_error}")
        except OSError as os_error:
            error = os_error
        if self._writer is not None:
            self._writer.close()
        log.warning("SIP over TCP to %s:%s ended: %s", *self.peer, error)
        self._on_error(error)

    def send(self, msg: Message, addr: Address) -> None:
        """Send on the connection (``addr`` is ignored: every message goes to the trunk)."""
        del addr
        if not self.connected:
            self._on_error(ConnectionError("not connected to the trunk"))
            return
        assert self._writer is not None
        self.sent += 1
        self._writer.write(msg.serialize())

    def close(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    async def wait_closed(self) -> None:
        if self._reader_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
            self._reader_task = None
