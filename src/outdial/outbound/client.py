"""The one HTTP client for users' web services: checked, pinned, capped.

For each request: the URL is checked (``UrlPolicy.check``), its host resolved, every address it
resolves to checked, and the connection made to the first of those addresses, not to a second
lookup of the name (a name that answers a public address to the check and a private one to the
connection is DNS rebinding). The Host header and, for https, the TLS server name and the
certificate check keep the name. No redirect is followed; the whole request, lookup included,
ends within its timeout, and at most ``max_bytes`` of the reply are read. Connections are not
kept: one pinned to an address must not serve another name.

Errors are :class:`OutboundError` with a message for the user that says what failed and not
how the network around us looks: "could not connect", not "connection refused" (which would
tell a port scanner which ports are open behind an allowed network).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from outdial.errors import InvalidField
from outdial.outbound.policy import Address, Target, UrlPolicy

MAX_CONNECTIONS = 100
QUEUE_LOOKUP_S = 2.0  # seconds a queue request waits for its result URL's lookup


class OutboundError(Exception):
    """A request that could not be made or answered; ``message`` is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: httpx.Headers
    content: bytes  # at most max_bytes
    truncated: bool  # the body went on past max_bytes


class OutboundClient:
    """``await client.request("POST", url, ...)``; ``await client.aclose()`` at the end."""

    def __init__(self, policy: UrlPolicy, *, max_connections: int = MAX_CONNECTIONS) -> None:
        self.policy = policy
        self._http = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: it would connect for us
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=0),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        field: str = "url",
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        timeout: float,
        max_bytes: int,
    ) -> Reply:
        """The reply of ``url``; InvalidField (naming ``field``) when the URL or an address it
        resolves to may not be reached; OutboundError when the request fails."""
        target = self.policy.check(url, field)
        try:
            async with asyncio.timeout(timeout):
                address = await self._address(target, field)
                return await self._send(
                    method, url, target, address, headers, content, max_bytes, timeout
                )
        except TimeoutError:
            raise OutboundError(f"no reply within {timeout:g} s") from None

    async def _address(self, target: Target, field: str) -> Address:
        if target.address is not None:
            return target.address
        addresses = await resolve(target.host, target.port)
        self.policy.check_addresses(addresses, target.host, field)
        return addresses[0]

    async def _send(
        self,
        method: str,
        url: str,
        target: Target,
        address: Address,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        max_bytes: int,
        timeout: float,
    ) -> Reply:
        pinned = httpx.URL(url).copy_with(host=str(address))
        sent = dict(headers or {})
        default_port = 443 if target.scheme == "https" else 80
        host = f"[{target.host}]" if ":" in target.host else target.host
        sent["Host"] = host if target.port == default_port else f"{host}:{target.port}"
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        request = self._http.build_request(
            method, pinned, headers=sent, content=content, timeout=timeout, extensions=extensions
        )
        try:
            response = await self._http.send(request, stream=True)
        except httpx.TimeoutException:
            raise OutboundError(f"no reply within {timeout:g} s") from None
        except httpx.HTTPError:
            raise OutboundError("could not connect") from None
        try:
            body = bytearray()
            truncated = False
            async for chunk in response.aiter_bytes():  # decoded: the cap holds for gzip too
                body += chunk
                if len(body) > max_bytes:
                    truncated = True
                    del body[max_bytes:]
                    break
        except httpx.TimeoutException:
            raise OutboundError(f"no reply within {timeout:g} s") from None
        except httpx.HTTPError:
            raise OutboundError("the connection broke during the reply") from None
        finally:
            await response.aclose()
        return Reply(response.status_code, response.headers, bytes(body), truncated)


async def resolve(host: str, port: int) -> list[Address]:
    """The host's addresses, in the order the resolver gives them; OutboundError if none."""
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise OutboundError(f"could not resolve {host!r}") from None
    addresses = _addresses(found)
    if not addresses:
        raise OutboundError(f"could not resolve {host!r}")
    return addresses


def check_resolved(policy: UrlPolicy, url: str, field: str) -> None:
    """At queue time: the URL's static check, then every address its host resolves to now.
    A name that does not resolve yet, or not within QUEUE_LOOKUP_S, is let through: it is
    checked again at each send."""
    target = policy.check(url, field)
    if target.address is not None:
        return
    lookup = _lookups().submit(
        socket.getaddrinfo, target.host, target.port, type=socket.SOCK_STREAM
    )
    try:
        found = lookup.result(timeout=QUEUE_LOOKUP_S)
    except (socket.gaierror, UnicodeError, OSError, concurrent.futures.TimeoutError):
        return
    policy.check_addresses(_addresses(found), target.host, field)


def _addresses(found: list[tuple[Any, ...]]) -> list[Address]:
    """The addresses of a ``getaddrinfo`` answer, each once, in its order (zone IDs of
    link-local IPv6 addresses dropped)."""
    addresses: list[Address] = []
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


@functools.cache
def _lookups() -> concurrent.futures.ThreadPoolExecutor:
    """Threads for queue-time lookups, which have no timeout of their own."""
    return concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="url-lookup")


__all__ = ["InvalidField", "OutboundClient", "OutboundError", "Reply", "check_resolved", "resolve"]
