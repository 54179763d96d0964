"""One process's dialing: the dialer and the webhook sender, started and drained together.

``outdial serve`` (the app's lifespan) and ``outdial worker`` both dial through ``Workers``,
so the two commands dial the same way.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from outdial.dispatch.dialer import Dialer, DialerSettings
from outdial.dispatch.webhooks import WebhookSender, WebhookSettings
from outdial.store.store import Store


class Workers:
    """A dialer and a webhook sender sharing one worker ID, for an ``async with`` block.

    Entering starts each as a named task (``dialer``, ``webhook-sender``). Leaving stops the
    dialer and lets its calls drain, then stops the sender and lets its tries end; an error
    that ended either task is raised then.
    """

    def __init__(self, store: Store, settings: DialerSettings) -> None:
        self.dialer = Dialer(store, settings)
        self.sender = WebhookSender(
            store,
            WebhookSettings(url_policy=settings.url_policy),
            worker_id=self.dialer.worker_id,
        )
        self._stopping = asyncio.Event()
        self._dialing: asyncio.Task[None] | None = None
        self._sending: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Workers:
        self._dialing = asyncio.create_task(self.dialer.run(), name="dialer")
        self._sending = asyncio.create_task(self.sender.run(), name="webhook-sender")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._dialing is not None and self._sending is not None, "never entered"
        # The dialer first: while its calls drain, the sender still sends the callbacks of
        # those that end (at its next poll); any left wait in the database for a sender.
        self.dialer.stop()
        try:
            await self._dialing
        finally:
            self.sender.stop()
            await self._sending

    def stop(self) -> None:
        """Make ``wait`` return (from a signal handler, say); leaving the block drains both."""
        self._stopping.set()

    async def wait(self) -> None:
        """Until ``stop()``, or until the dialer or the sender ends on its own (a crash: its
        error is raised as the block is left)."""
        assert self._dialing is not None and self._sending is not None, "never entered"
        stopping = asyncio.create_task(self._stopping.wait(), name="workers-stopping")
        try:
            await asyncio.wait(
                [stopping, self._dialing, self._sending], return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopping.cancel()
            await asyncio.gather(stopping, return_exceptions=True)


__all__ = ["Workers"]
