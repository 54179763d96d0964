"""Result callbacks end to end: real senders, a real HTTP receiver on loopback, both databases."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import itertools
import json
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from outdial.accounts import Account
from outdial.calls import CalleeType
from outdial.dispatch.webhooks import WebhookSender, WebhookSettings
from outdial.errors import NotFound
from outdial.options import Schedule
from outdial.outbound.policy import UrlPolicy, parse_networks
from outdial.policy import AttemptResult
from outdial.store import db
from outdial.store.store import DeliveryState, DeliveryView, NewCall, Store, new_call_ids
from outdial.trunks import TrunkKind

LOOPBACK = UrlPolicy(parse_networks("127.0.0.0/8"))  # the receivers of these tests

# Tiny timings, so a day of back-off fits in a second.
FAST = WebhookSettings(
    url_policy=LOOPBACK,
    poll=0.05,
    base_delay=0.05,
    max_delay=0.2,
    give_up_after=60.0,
    timeout=0.3,
    lease=1.0,
    jitter=False,
)
SLOW_ANSWER = 0.6  # seconds a "slow" receiver takes: well over FAST.timeout
WAIT = 10.0  # seconds a test waits for something before failing

_trunks = itertools.count(1)


# --- final calls ---------------------------------------------------------------------------------


def final_calls(store: Store, account: Account, url: str, count: int = 1) -> list[str]:
    """``count`` calls with ``result_url=url`` taken through one answered attempt to final.

    The dialer's own store methods do it (claim, then finish), so each gets its one delivery
    exactly as in production, without waiting on a carrier.
    """
    trunk = store.create_trunk(
        f"webhooks-{next(_trunks)}",
        TrunkKind.SIMULATED,
        lines=1000,
        cps=10_000.0,
        config=json.dumps({"seed": 1, "rules": []}),
    )
    app = store.create_application(account.email, f"webhooks {trunk.id}")
    dep = store.create_deployment(app.id, trunk_id=trunk.id, max_lines=1000, cps=10_000.0)
    ids = new_call_ids(count)
    rows = [NewCall(i, "+16175550101", None, None, None, "{}", None) for i in ids]
    store.queue_calls(dep, Schedule(start_at=store.clock(), result_url=url), rows)
    claims = store.claim("test", lease=30.0, limit=count, hours=lambda *_: ([], {}))
    assert len(claims) == count
    for claim in claims:
        assert store.record_answer(claim, "test")  # answered calls are connected first
        store.finish_attempt(
            claim, "test", AttemptResult(True, CalleeType.VOICE, "callee hung up", 200)
        )
    return ids


def delivery(store: Store, account: Account, call_id: str) -> DeliveryView:
    [found] = store.deliveries_for_call(account, call_id)
    return found


# --- the receiver --------------------------------------------------------------------------------

Answer = int | str  # a status code, or "slow": answer 200 only after SLOW_ANSWER seconds


@dataclass(frozen=True)
class Receipt:
    delivery_id: str
    body: bytes
    headers: dict[str, str]  # lower-case names
    signature_ok: bool
    answer: Answer
    started: float  # time.monotonic() when the request arrived
    answered: float  # ... and just before the answer went out: the sender cannot know it sooner


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that checks signatures and answers each POST per ``script``.

    ``script(n, m)`` gives the answer to the ``n``-th request overall and the ``m``-th for its
    delivery ID (both from 0). Nothing listens until ``start()``: before, the port is closed.
    """

    secret: str
    script: Callable[[int, int], Answer]
    hold: float = 0.0  # seconds every answer waits (widens race windows)
    port: int = 0
    receipts: list[Receipt] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _open_ids: list[str] = field(default_factory=list)  # delivery IDs of requests not answered
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        if not self.port:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                self.port = sock.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/result?source=outdial"

    def start(self) -> None:
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="receiver"
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()  # joins the request threads
            self._thread.join()
            self._server = None

    def answer_for(self, delivery_id: str) -> Answer:
        with self._lock:
            overall = len(self.receipts) + len(self._open_ids)
            mine = sum(1 for r in self.receipts if r.delivery_id == delivery_id)
            mine += self._open_ids.count(delivery_id)
            self._open_ids.append(delivery_id)
        return self.script(overall, mine)

    def record(self, receipt: Receipt) -> None:
        with self._lock:
            self._open_ids.remove(receipt.delivery_id)
            self.receipts.append(receipt)

    def answered(self) -> list[Answer]:
        with self._lock:
            return [r.answer for r in sorted(self.receipts, key=lambda r: r.started)]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 drops connects from busy senders: SYN retries
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if error is not None:
            self.receiver.errors.append(error)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        started = time.monotonic()
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        delivery_id = headers.get("x-outdial-delivery", "")
        expected = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
        signature_ok = hmac.compare_digest(headers.get("x-outdial-signature", ""), expected)
        answer = receiver.answer_for(delivery_id)
        time.sleep(SLOW_ANSWER if answer == "slow" else receiver.hold)
        answered = time.monotonic()
        with contextlib.suppress(OSError):  # the sender may have given up on a slow answer
            self.send_response(200 if answer == "slow" else int(answer))
            self.send_header("Content-Length", "0")
            self.end_headers()
        receiver.record(
            Receipt(delivery_id, body, headers, signature_ok, answer, started, answered)
        )

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the test asserts on receipts, not on the access log


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    """``receivers(secret, script, hold=0.0)``: a Receiver, stopped after the test."""
    made: list[Receiver] = []

    def make(secret: str, script: Callable[[int, int], Answer], hold: float = 0.0) -> Receiver:
        receiver = Receiver(secret, script, hold)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.stop()
        assert receiver.errors == []


# --- running senders -----------------------------------------------------------------------------


@pytest.fixture
def tenant(live: Store) -> Account:
    account, _ = live.create_account("hooks@example.com")
    return account


@contextlib.asynccontextmanager
async def sending(
    store: Store, settings: WebhookSettings = FAST, worker_id: str = "sender"
) -> AsyncIterator[WebhookSender]:
    sender = WebhookSender(store, settings, worker_id=worker_id)
    task = asyncio.create_task(sender.run(), name=f"test-{worker_id}")
    try:
        yield sender
    finally:
        sender.stop()
        await task


async def until(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# --- the tests -----------------------------------------------------------------------------------


def test_a_callback_arrives_once_through_a_down_slow_failing_receiver(
    live: Store, tenant: Account, receivers: Callable[..., Receiver]
) -> None:
    script = ["slow", 500, 200]
    receiver = receivers(tenant.webhook_secret, lambda n, _: script[n] if n < 3 else 200)
    [call_id] = final_calls(live, tenant, receiver.url)

    def view() -> DeliveryView:
        return delivery(live, tenant, call_id)

    async def main() -> None:
        async with sending(live):
            await until(lambda: view().attempts >= 1, "a try while the receiver is down")
            receiver.start()
            await until(lambda: view().state is DeliveryState.DELIVERED, "the delivery")
            await asyncio.sleep(0.5)  # a sender that sent again would have done so by now

    asyncio.run(main())

    # the receiver saw the slow request (too late to count), the 500, then the 200: once
    assert receiver.answered() == ["slow", 500, 200]
    final = delivery(live, tenant, call_id)
    body = live.get_call(tenant, call_id).details()
    for receipt in receiver.receipts:
        assert receipt.signature_ok
        assert receipt.delivery_id == str(final.id)
        assert json.loads(receipt.body) == body
        assert receipt.headers["content-type"] == "application/json"
        assert receipt.headers["user-agent"].startswith("outdial/")
    tries = final.attempt_list
    down = len(tries) - 3
    assert down >= 1
    for refused in tries[:down]:
        assert refused.status_code is None
        assert refused.error == "could not connect"  # not which way: no port scanning
    slow, failed, ok = tries[down:]
    assert (slow.status_code, slow.error) == (None, "no reply within 0.3 s")
    assert 250 <= slow.duration_ms < SLOW_ANSWER * 1000
    assert (failed.status_code, failed.error) == (500, None)
    assert (ok.status_code, ok.error) == (200, None)
    assert final.attempts == len(tries)
    assert (final.state, final.last_status_code, final.next_attempt_at) == (
        DeliveryState.DELIVERED,
        200,
        None,
    )
    assert final.delivered_at is not None
    # each try waited out its back-off: 0.05 s doubling, at most 0.2 s
    for number, (earlier, later) in enumerate(itertools.pairwise(tries), start=1):
        assert later.at - earlier.at >= min(0.05 * 2 ** (number - 1), 0.2)
    shown = final.details()
    assert shown["state"] == "delivered"
    assert [h["status_code"] for h in shown["history"]][-2:] == [500, 200]
    assert live.webhook_backlog() == 0


def test_two_senders_never_send_one_delivery_twice(
    live: Store, tenant: Account, receivers: Callable[..., Receiver], database_url: str
) -> None:
    # every delivery's first request gets a 500, so the retries race as well as the first tries
    receiver = receivers(tenant.webhook_secret, lambda _, mine: 500 if mine == 0 else 200, 0.02)
    receiver.start()
    other = Store(db.make_engine(database_url))  # its own connections, like another process
    other.ping()  # connected before the race starts, so neither sender has a head start
    small = WebhookSettings(
        url_policy=LOOPBACK,
        poll=0.02,
        base_delay=0.05,
        max_delay=0.05,
        timeout=0.5,
        lease=2.0,
        max_in_flight=4,
    )
    ids: list[str] = []

    async def main() -> None:
        async with sending(live, small, "one") as one, sending(other, small, "two") as two:
            await asyncio.sleep(0.2)  # both senders are polling before anything is due
            ids.extend(await asyncio.to_thread(final_calls, live, tenant, receiver.url, 30))
            await until(lambda: live.webhook_backlog() == 0, "every delivery")
            await asyncio.sleep(0.3)
        assert one.delivered > 0 and two.delivered > 0  # both senders did some of the work
        assert one.delivered + two.delivered == len(ids)

    try:
        asyncio.run(main())
    finally:
        other.close()
    by_delivery: dict[str, list[Receipt]] = {}
    for receipt in receiver.receipts:
        by_delivery.setdefault(receipt.delivery_id, []).append(receipt)
    assert len(by_delivery) == len(ids)
    for receipts in by_delivery.values():
        assert sorted(r.answer for r in receipts) == [200, 500]  # one failure, one delivery
        first, second = sorted(receipts, key=lambda r: r.started)
        assert first.answered <= second.started  # never in flight twice at once
    for call_id in ids:
        assert delivery(live, tenant, call_id).state is DeliveryState.DELIVERED


def test_a_delivery_fails_after_the_give_up_horizon(live: Store, tenant: Account) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    [call_id] = final_calls(live, tenant, f"http://127.0.0.1:{port}/never")
    assert live.webhook_backlog() == 1
    horizon = WebhookSettings(
        url_policy=LOOPBACK,
        poll=0.02,
        base_delay=0.05,
        max_delay=0.1,
        give_up_after=0.5,
        timeout=0.2,
        lease=1.0,
    )

    async def main() -> None:
        async with sending(live, horizon):
            await until(
                lambda: delivery(live, tenant, call_id).state is DeliveryState.FAILED, "give-up"
            )
            await asyncio.sleep(0.3)

    asyncio.run(main())
    failed = delivery(live, tenant, call_id)
    assert failed.state is DeliveryState.FAILED
    assert failed.attempts == len(failed.attempt_list) >= 3
    assert all(t.status_code is None for t in failed.attempt_list)
    # tried until the horizon (the last try falls on it), never after giving up
    assert failed.attempt_list[-1].at >= failed.created_at + 0.5 - 0.05
    assert failed.attempt_list[-2].at < failed.created_at + 0.5
    assert failed.next_attempt_at is None and failed.delivered_at is None
    assert live.webhook_backlog() == 0


def test_a_delivery_survives_a_sender_restart(
    live: Store, tenant: Account, receivers: Callable[..., Receiver], database_url: str
) -> None:
    receiver = receivers(tenant.webhook_secret, lambda n, _: 500 if n == 0 else 200)
    receiver.start()
    [call_id] = final_calls(live, tenant, receiver.url)
    patient = WebhookSettings(
        url_policy=LOOPBACK, poll=0.02, base_delay=0.5, timeout=0.3, lease=1.0, jitter=False
    )

    async def first_sender() -> None:
        async with sending(live, patient, "first"):
            await until(lambda: delivery(live, tenant, call_id).attempts == 1, "the first try")

    asyncio.run(first_sender())  # stopped mid back-off
    waiting = delivery(live, tenant, call_id)
    assert (waiting.state, waiting.last_status_code) == (DeliveryState.PENDING, 500)
    assert waiting.next_attempt_at is not None and waiting.next_attempt_at > time.time()

    restarted = Store(db.make_engine(database_url))  # a new process: nothing in memory

    async def second_sender() -> None:
        async with sending(restarted, patient, "second"):
            await until(
                lambda: delivery(live, tenant, call_id).state is DeliveryState.DELIVERED,
                "delivery after the restart",
            )

    try:
        asyncio.run(second_sender())
    finally:
        restarted.close()
    assert receiver.answered() == [500, 200]
    assert all(r.signature_ok for r in receiver.receipts)
    assert [t.status_code for t in delivery(live, tenant, call_id).attempt_list] == [500, 200]


# --- the store alone, on a fake clock ---------------------------------------------------------


@pytest.fixture
def hooked(store: Store) -> tuple[Account, str]:
    account, _ = store.create_account("owner@example.com")
    [call_id] = final_calls(store, account, "https://hooks.example.com/result")
    return account, call_id


def test_a_claim_holds_a_delivery_for_its_lease(
    store: Store, clock: Any, hooked: tuple[Account, str]
) -> None:
    [claimed] = store.claim_due_deliveries("a", 10, lease=30.0)
    assert claimed.url == "https://hooks.example.com/result"
    assert claimed.call_id == hooked[1]
    assert claimed.attempts == 0
    assert claimed.secret == hooked[0].webhook_secret
    assert claimed.claimed_until == clock.now + 30.0
    assert store.claim_due_deliveries("b", 10, lease=30.0) == []
    clock.advance(30.0)  # the holder died: once its lease is over, another sender takes it
    [again] = store.claim_due_deliveries("b", 10, lease=30.0)
    assert again.id == claimed.id
    assert store.record_attempt(
        again.id, 204, None, 12.0, None, False, claimed_until=again.claimed_until
    ) is (DeliveryState.DELIVERED)
    clock.advance(3600.0)
    assert store.claim_due_deliveries("c", 10, lease=30.0) == []


def test_a_sender_that_lost_its_claim_only_records_its_try(
    store: Store, clock: Any, hooked: tuple[Account, str]
) -> None:
    account, call_id = hooked
    [stale] = store.claim_due_deliveries("a", 10, lease=5.0)
    clock.advance(6.0)
    [current] = store.claim_due_deliveries("b", 10, lease=5.0)
    # "a" answers late: its try is recorded, but it cannot reschedule what "b" holds
    assert (
        store.record_attempt(
            stale.id, 503, None, 5900.0, clock.now + 1, False, claimed_until=stale.claimed_until
        )
        is None
    )
    assert store.claim_due_deliveries("c", 10, lease=5.0) == []
    assert (
        store.record_attempt(
            current.id,
            None,
            "refused",
            1.0,
            clock.now + 10,
            False,
            claimed_until=current.claimed_until,
        )
        is DeliveryState.PENDING
    )
    view = delivery(store, account, call_id)
    assert (view.state, view.attempts, view.next_attempt_at) == (
        DeliveryState.PENDING,
        2,
        clock.now + 10,
    )
    assert [(t.status_code, t.error) for t in view.attempt_list] == [(503, None), (None, "refused")]
    assert view.attempt_list[0].at == pytest.approx(clock.now - 5.9)
    clock.advance(10.0)
    [last] = store.claim_due_deliveries("c", 10, lease=5.0)
    assert last.attempts == 2
    assert store.record_attempt(
        last.id, 500, None, 1.0, None, True, claimed_until=last.claimed_until
    ) is (DeliveryState.FAILED)
    assert store.webhook_backlog() == 0
    assert delivery(store, account, call_id).state is DeliveryState.FAILED


def test_deliveries_are_shown_to_their_account_only(
    store: Store, hooked: tuple[Account, str]
) -> None:
    account, call_id = hooked
    [view] = store.deliveries_for_call(account, call_id)
    assert view.details() == {
        "delivery_id": view.id,
        "call_id": call_id,
        "url": "https://hooks.example.com/result",
        "state": "pending",
        "attempts": 0,
        "next_attempt_timestamp": int(view.created_at),
        "last_status_code": None,
        "last_error": None,
        "created_timestamp": int(view.created_at),
        "delivered_timestamp": None,
        "history": [],
    }
    stranger, _ = store.create_account("stranger@example.com")
    with pytest.raises(NotFound, match=f"{call_id!r} not found"):
        store.deliveries_for_call(stranger, call_id)
    with pytest.raises(NotFound, match="'nope' not found"):
        store.deliveries_for_call(account, "nope")


def test_calls_without_a_result_url_or_not_final_have_no_delivery(store: Store) -> None:
    account, _ = store.create_account("quiet@example.com")
    app = store.create_application(account.email, "quiet")
    dep = store.create_deployment(app.id)
    [waiting] = new_call_ids(1)
    row = NewCall(waiting, "+16175550101", None, None, None, "{}", None)
    schedule = Schedule(start_at=store.clock(), result_url="https://hooks.example.com/r")
    store.queue_calls(dep, schedule, [row])
    assert store.deliveries_for_call(account, waiting) == []
    assert store.webhook_backlog() == 0


def test_a_receiver_inside_is_refused_at_send_and_given_up_at_once(
    live: Store, tenant: Account, receivers: Callable[..., Receiver]
) -> None:
    # Queued while the operator allowed loopback; the sender now runs without that allowance.
    receiver = receivers(tenant.webhook_secret, lambda _, __: 200)
    receiver.start()
    [call_id] = final_calls(live, tenant, receiver.url)
    strict = dataclasses.replace(FAST, url_policy=UrlPolicy())

    async def main() -> None:
        async with sending(live, strict):
            await until(
                lambda: delivery(live, tenant, call_id).state is DeliveryState.FAILED, "refusal"
            )

    asyncio.run(main())
    refused = delivery(live, tenant, call_id)
    assert receiver.receipts == []  # never connected
    assert [(t.status_code, t.error) for t in refused.attempt_list] == [
        (None, "result_url: may not point inside: 127.0.0.1 is a loopback address")
    ]
