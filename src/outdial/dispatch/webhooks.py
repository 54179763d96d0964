"""Result callbacks (SPEC §4): POST each final call's ``call_details`` to its ``result_url``.

The deliveries wait in the database (``WebhookStore``), so they survive restarts. A
``WebhookSender`` claims due ones, POSTs each body signed with the account's webhook secret,
and records every try: a 2xx delivers it; anything else (another status, a timeout, a refused
connection) retries it after an exponential back-off, until ``give_up_after`` seconds after
the call became final, when it fails for good.

Delivery is at least once: a receiver that takes the body but answers too late (or a sender
that dies between the answer and recording it) gets it again. Every try of one delivery
carries the same ``X-Outdial-Delivery`` ID, so receivers can drop repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
import time
from dataclasses import dataclass, field

from outdial import __version__
from outdial.errors import InvalidField
from outdial.outbound.client import OutboundClient, OutboundError
from outdial.outbound.policy import UrlPolicy
from outdial.store.webhookstore import Delivery, DeliveryState, WebhookStore

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Outdial-Signature"
DELIVERY_HEADER = "X-Outdial-Delivery"
USER_AGENT = f"outdial/{__version__}"

POLL = 1.0  # seconds between looks for due deliveries when nothing wakes the sender
BASE_DELAY = 10.0  # seconds before the second try; each later wait doubles
MAX_DELAY = 3600.0  # seconds: the longest wait between tries (before jitter)
JITTER = 0.1  # waits vary by up to ±10%, so callbacks that failed together spread out
GIVE_UP_AFTER = 24 * 3600.0  # seconds after the call became final: then the delivery fails
TIMEOUT = 10.0  # seconds for a whole try: connect, send, and the response's status line
LEASE = 60.0  # seconds a claimed delivery stays this sender's; must exceed TIMEOUT
MAX_IN_FLIGHT = 50  # deliveries one sender tries at once
MAX_EXPONENT = 60  # caps 2**n in next_delay: the cap applies long before, and floats stay finite


def sign(secret: str, body: bytes) -> str:
    """The ``X-Outdial-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def next_delay(
    attempts: int,
    *,
    base: float = BASE_DELAY,
    cap: float = MAX_DELAY,
    jitter: float = 0.0,
) -> float:
    """Seconds to wait after ``attempts`` failed tries: ``base·2^(attempts-1)``, at most ``cap``.

    ``jitter`` in [-1, 1] (the sender draws it at random) moves the wait by up to ``JITTER``
    of itself either way, after the cap.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    if not -1.0 <= jitter <= 1.0:
        raise ValueError(f"jitter must be within [-1, 1], not {jitter}")
    delay = min(cap, base * 2.0 ** min(attempts - 1, MAX_EXPONENT))
    return delay * (1.0 + JITTER * jitter)


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    poll: float = POLL
    base_delay: float = BASE_DELAY
    max_delay: float = MAX_DELAY
    give_up_after: float = GIVE_UP_AFTER
    timeout: float = TIMEOUT
    lease: float = LEASE
    max_in_flight: int = MAX_IN_FLIGHT
    jitter: bool = True  # False: waits are exactly base·2^n (tests)
    # Which receivers may be reached: public addresses, and networks the operator allowed.
    url_policy: UrlPolicy = field(default_factory=UrlPolicy)

    def __post_init__(self) -> None:
        for name in ("poll", "base_delay", "max_delay", "timeout", "lease"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be more than 0")
        if self.give_up_after < 0:
            raise ValueError("give_up_after must not be negative")
        if self.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if self.lease <= self.timeout:
            # a claim must outlast the try, or another sender could send it meanwhile
            raise ValueError(f"lease ({self.lease} s) must exceed timeout ({self.timeout} s)")


class WebhookSender:
    """Sends due result callbacks until ``stop()``; several may run, in several processes."""

    def __init__(
        self,
        store: WebhookStore,
        settings: WebhookSettings | None = None,
        *,
        worker_id: str = "webhook-sender",
    ) -> None:
        self.store = store
        self.settings = settings or WebhookSettings()
        self.worker_id = worker_id
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()
        self.delivered = 0  # for metrics
        self.failed_tries = 0

    def wake(self) -> None:
        """Look for due deliveries now (after a call became final, say). Not thread-safe."""
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming; ``run`` returns once the tries in flight have ended."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Claim and send due deliveries until ``stop()``, then let the tries in flight end.

        Each try ends within ``timeout``, so stopping takes at most that long. A try cut short
        anyway (``run`` cancelled) is sent again by some sender once its claim lapses.
        """
        # No redirects (a 3xx is not a delivery; the URL should be fixed instead), no proxy
        # from the environment, only allowed addresses: outbound.client.
        client = OutboundClient(
            self.settings.url_policy, max_connections=self.settings.max_in_flight
        )
        try:
            await self._claim_loop(client)
        finally:
            await self._drain()
            await client.aclose()

    async def _claim_loop(self, client: OutboundClient) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            free = self.settings.max_in_flight - len(self._sending)
            claimed: list[Delivery] = []
            if free > 0:
                try:
                    claimed = await asyncio.to_thread(
                        self.store.claim_due_deliveries,
                        self.worker_id,
                        free,
                        self.settings.lease,
                    )
                except Exception:
                    log.exception("claiming result callbacks failed; retrying")
            for delivery in claimed:
                task = asyncio.create_task(
                    self._send(client, delivery), name=f"webhook-{delivery.id}"
                )
                self._sending.add(task)
                task.add_done_callback(self._sent)
            if claimed and len(claimed) == free:
                continue  # there may be more due right now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._wake.set()  # room for another

    async def _drain(self) -> None:
        if not self._sending:
            return
        pending = set(self._sending)
        _, late = await asyncio.wait(pending, timeout=self.settings.timeout + 1.0)
        for task in late:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _send(self, client: OutboundClient, delivery: Delivery) -> None:
        body = delivery.body.encode()
        headers = {
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(delivery.secret, body),
            DELIVERY_HEADER: str(delivery.id),
        }
        status: int | None = None
        error: str | None = None
        refused = False
        started = time.monotonic()
        try:
            # The whole try, lookup included, ends within the timeout, so a receiver trickling
            # bytes cannot hold it past the claim's lease. Nobody needs the reply's body.
            reply = await client.request(
                "POST",
                delivery.url,
                field="result_url",
                headers=headers,
                content=body,
                timeout=self.settings.timeout,
                max_bytes=0,
            )
            status = reply.status
        except InvalidField as failure:  # points inside: no later try can succeed
            error, refused = failure.message, True
        except OutboundError as failure:  # could not connect, no reply...: worth a retry
            error = failure.message
        except Exception as failure:  # a bug: recorded, and retried
            log.exception("sending result callback %s failed", delivery.id)
            error = f"{type(failure).__name__}"
        duration_ms = (time.monotonic() - started) * 1000.0
        await self._record(delivery, status, error, duration_ms, refused=refused)

    async def _record(
        self,
        delivery: Delivery,
        status: int | None,
        error: str | None,
        duration_ms: float,
        *,
        refused: bool = False,
    ) -> None:
        now = self.store.clock()
        ok = status is not None and 200 <= status < 300
        deadline = delivery.created_at + self.settings.give_up_after
        gave_up = not ok and (refused or now >= deadline)
        next_at: float | None = None
        if not ok and not gave_up:
            wait = next_delay(
                delivery.attempts + 1,
                base=self.settings.base_delay,
                cap=self.settings.max_delay,
                jitter=random.uniform(-1.0, 1.0) if self.settings.jitter else 0.0,
            )
            next_at = min(now + wait, deadline)  # the last try falls on the horizon
        extra = {"delivery_id": delivery.id, "call_id": delivery.call_id, "status_code": status}
        try:
            state = await asyncio.to_thread(
                self.store.record_attempt,
                delivery.id,
                status,
                error,
                duration_ms,
                next_at,
                gave_up,
                claimed_until=delivery.claimed_until,
            )
        except Exception:
            log.exception("recording a result callback try failed; it is retried", extra=extra)
            return
        if ok:
            self.delivered += 1
            log.info("result callback delivered", extra=extra)
            return
        self.failed_tries += 1
        if state is DeliveryState.FAILED:
            log.warning("result callback failed for good: %s", error or status, extra=extra)
        else:
            log.info("result callback try failed: %s", error or status, extra=extra)


__all__ = [
    "BASE_DELAY",
    "DELIVERY_HEADER",
    "GIVE_UP_AFTER",
    "MAX_DELAY",
    "SIGNATURE_HEADER",
    "TIMEOUT",
    "USER_AGENT",
    "WebhookSender",
    "WebhookSettings",
    "next_delay",
    "sign",
]
