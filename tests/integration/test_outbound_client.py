"""The one client for users' web services, against real HTTP servers on loopback."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from outdial.errors import InvalidField
from outdial.outbound import client as outbound
from outdial.outbound.client import OutboundClient, OutboundError, check_resolved
from outdial.outbound.policy import UrlPolicy, parse_networks

LOOPBACK = UrlPolicy(parse_networks("127.0.0.0/8,::1/128"))


class Handler(BaseHTTPRequestHandler):
    seen: list[dict[str, str]]

    def do_GET(self) -> None:
        self.seen.append({"path": self.path, "host": self.headers.get("Host", "")})
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
        elif self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(10_000_000))
            self.end_headers()
            for _ in range(1000):
                try:
                    self.wfile.write(b"x" * 10_000)
                except OSError:  # the client stopped reading: as it should
                    return
        elif self.path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.05)
        else:
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[int, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []
    handler = type("Recording", (Handler,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def get(policy: UrlPolicy, url: str, **options: Any) -> outbound.Reply:
    async def main() -> outbound.Reply:
        client = OutboundClient(policy)
        try:
            return await client.request(
                "GET", url, timeout=options.get("timeout", 2.0), max_bytes=options.get("max", 1000)
            )
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_a_loopback_receiver_is_refused_before_any_connection(
    server: tuple[int, list[dict[str, str]]],
) -> None:
    port, seen = server
    for url in (
        f"http://127.0.0.1:{port}/",
        f"http://2130706433:{port}/",
        f"http://localhost:{port}/",
    ):
        with pytest.raises(InvalidField, match="may not point inside"):
            get(UrlPolicy(), url)
    assert seen == []


def test_an_allowed_network_is_reached_by_address_and_by_name(
    server: tuple[int, list[dict[str, str]]],
) -> None:
    port, seen = server
    reply = get(LOOPBACK, f"http://127.0.0.1:{port}/a")
    assert (reply.status, reply.content, reply.truncated) == (200, b'{"ok": true}', False)
    # by name: resolved, checked, connected to the checked address, the name kept in Host
    assert get(LOOPBACK, f"http://localhost:{port}/b").status == 200
    assert seen == [
        {"path": "/a", "host": f"127.0.0.1:{port}"},
        {"path": "/b", "host": f"localhost:{port}"},
    ]


def test_redirects_are_not_followed(server: tuple[int, list[dict[str, str]]]) -> None:
    port, seen = server
    reply = get(LOOPBACK, f"http://127.0.0.1:{port}/redirect")
    assert reply.status == 302
    assert [s["path"] for s in seen] == ["/redirect"]


def test_a_reply_is_read_up_to_its_cap(server: tuple[int, list[dict[str, str]]]) -> None:
    port, _ = server
    reply = get(LOOPBACK, f"http://127.0.0.1:{port}/big", max=50_000)
    assert (len(reply.content), reply.truncated) == (50_000, True)


def test_a_trickling_reply_ends_within_the_timeout(
    server: tuple[int, list[dict[str, str]]],
) -> None:
    port, _ = server
    started = time.monotonic()
    with pytest.raises(OutboundError, match=r"^no reply within 0.5 s$"):
        get(LOOPBACK, f"http://127.0.0.1:{port}/trickle", timeout=0.5, max=10_000)
    assert time.monotonic() - started < 5.0  # bounded; not a timing assertion on the limit


def test_a_closed_port_says_could_not_connect_and_no_more() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: refused
        with pytest.raises(OutboundError) as failed:
            get(LOOPBACK, f"http://127.0.0.1:{port}/")
    assert failed.value.message == "could not connect"


def test_a_name_answering_inside_is_refused_at_send_and_at_queue_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def rebinding(host: str, port: int) -> list[Any]:
        import ipaddress

        return [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.7")]

    monkeypatch.setattr(outbound, "resolve", rebinding)
    with pytest.raises(InvalidField, match=r"'hooks\.example\.com' resolves to 10\.0\.0\.7"):
        get(UrlPolicy(), "http://hooks.example.com/")

    def getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(InvalidField, match=r"resolves to 169\.254\.169\.254, a link-local address"):
        check_resolved(UrlPolicy(), "https://hooks.example.com/r", "result_url")
