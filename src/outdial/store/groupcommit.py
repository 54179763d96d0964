"""Group commit: one thread writes the progress of many calls per transaction.

A dialer with thousands of calls up reports ringing, answers and hang-ups faster than one
transaction each can commit: on SQLite every write transaction holds the whole database, and the
statements cost more Python than SQLite time. ``GroupCommit`` queues the operations and one
writer thread applies everything waiting in one transaction (``ProgressStore.apply_progress``).
A caller's asyncio future is answered only after the commit that holds its operation, so
whatever the dialer acts on, or reports to anyone, is already durable (the same promise as one
transaction per call). There is no waiting for a batch to fill: while one transaction runs, the
next batch gathers. A batch's futures are answered with one wake-up of the event loop, not one
each (waking a loop from a thread is a system call).

A batch that fails for a reason of its own (a constraint, a bug) is tried again one operation at
a time, so one bad operation fails only its own caller; when the database itself fails (it is
unreachable, or locked past the timeout) the whole batch fails and its callers retry.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError

from outdial.store.progress import Outcome, ProgressOp, ProgressStore

log = logging.getLogger(__name__)

MAX_BATCH = 1000  # operations per transaction: bounds how long the write lock is held


@dataclass(frozen=True, slots=True)
class _Item:
    op: ProgressOp
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Outcome]


class GroupCommitClosed(RuntimeError):
    """The progress writer is closed."""


class GroupCommit:
    def __init__(self, store: ProgressStore, *, max_batch: int = MAX_BATCH) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[list[_Item] | None] = queue.SimpleQueue()
        self._pending: list[_Item] = []  # submitted in this turn of the event loop
        self._closed = False
        self._lock = threading.Lock()
        self.batches = 0  # transactions committed, for figures
        self.ops = 0  # operations applied
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def submit(self, op: ProgressOp) -> asyncio.Future[Outcome]:
        """Queue ``op`` (from a running event loop); the future holds its outcome once the
        transaction that applied it committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        with self._lock:
            if self._closed:
                raise GroupCommitClosed(GroupCommitClosed.__doc__)
            self._pending.append(_Item(op, loop, future))
            if len(self._pending) == 1:
                # Hand over what this turn of the loop submits in one go: fewer wake-ups of
                # the writer thread, and fewer fights over the GIL.
                loop.call_soon(self._hand_over)
        return future

    def _hand_over(self) -> None:
        with self._lock:
            items, self._pending = self._pending, []
        if items:
            self._queue.put(items)

    def close(self) -> None:
        """Apply what is queued, then stop the writer thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            items, self._pending = self._pending, []
            if items:
                self._queue.put(items)
            self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = list(first)
            while len(batch) < self._max_batch:
                try:
                    items = self._queue.get_nowait()
                except queue.Empty:
                    break
                if items is None:
                    stopping = True
                    break
                batch += items
            for start in range(0, len(batch), self._max_batch):
                self._apply(batch[start : start + self._max_batch])

    def _apply(self, batch: list[_Item]) -> None:
        try:
            outcomes = self._store.apply_progress([item.op for item in batch])
        except Exception as error:
            if len(batch) == 1 or isinstance(error, OperationalError):
                _deliver(batch, [error] * len(batch))
                return
            log.warning("a batch of %d progress writes failed (%s); one by one", len(batch), error)
            for item in batch:
                self._apply([item])
            return
        self.batches += 1
        self.ops += len(batch)
        _deliver(batch, outcomes)


def _deliver(batch: Sequence[_Item], outcomes: Sequence[Outcome]) -> None:
    """Answer the batch's futures: one call into each event loop waiting on them."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Outcome], Outcome]]] = {}
    for item, outcome in zip(batch, outcomes, strict=True):
        by_loop.setdefault(item.loop, []).append((item.future, outcome))
    for loop, answers in by_loop.items():
        try:
            loop.call_soon_threadsafe(_answer, answers)
        except RuntimeError:  # the loop is closed: nobody waits for these any more
            log.debug("dropped %d progress answers for a closed event loop", len(answers))


def _answer(answers: Sequence[tuple[asyncio.Future[Outcome], Outcome]]) -> None:
    for future, outcome in answers:
        if future.done():  # the waiting task was cancelled
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


__all__ = ["MAX_BATCH", "GroupCommit", "GroupCommitClosed"]
