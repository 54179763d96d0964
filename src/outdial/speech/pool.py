"""Recognition off the event loop, in worker processes.

pocketsphinx holds the GIL while it decodes (``process_raw``; measured: a Python loop in
another thread runs at about 6% of its speed meanwhile), so worker threads would stall the
event loop and every other call. Each worker is a separate process (``spawn``: nothing of
the parent's threads or sockets is copied) that keeps a recogniser per grammar it has seen.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import numpy.typing as npt

from outdial.processes import exit_with_parent
from outdial.speech.recognizer import THRESHOLD, Recognition, Recognizer

GRAMMARS_KEPT = 64  # recognisers (grammars) each worker keeps ready

Phrases = tuple[tuple[str, str], ...]


@functools.lru_cache(GRAMMARS_KEPT)
def _recognizer(phrases: Phrases, threshold: float) -> Recognizer:
    return Recognizer(dict(phrases), threshold=threshold)


def _recognize(phrases: Phrases, threshold: float, pcm: bytes) -> Recognition:
    """In a worker process: ``pcm`` is 8 kHz int16 samples, native byte order."""
    return _recognizer(phrases, threshold).recognize(np.frombuffer(pcm, dtype=np.int16))


def _warm(threshold: float) -> None:
    """In a worker process: load the dictionary and the model before the first answer."""
    _recognizer((("yes", "1"),), threshold).warm()


class PoolClosed(RuntimeError):
    """The recognition pool is closed."""


class RecognitionPool:
    """``await pool.recognize(phrases, pcm)`` decodes in a worker process; ``close()`` (or
    ``await aclose()``) ends the workers. Workers start on first use (or ``await start()``),
    off the loop."""

    def __init__(self, workers: int = 2, *, threshold: float = THRESHOLD) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.threshold = threshold
        self._workers = workers
        self._executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=exit_with_parent,  # ends by itself if the dialer dies (kill -9)
            initargs=(os.getpid(),),
        )
        self._closed = False

    async def recognize(
        self,
        phrases: Mapping[str, str],
        pcm: npt.NDArray[np.int16],
        *,
        threshold: float | None = None,
    ) -> Recognition:
        """What ``pcm`` (8 kHz int16) says among ``phrases`` (phrase → key)."""
        if self._closed:
            raise PoolClosed(PoolClosed.__doc__)
        key = tuple(sorted(phrases.items()))
        level = self.threshold if threshold is None else threshold
        samples = np.ascontiguousarray(pcm, dtype=np.int16).tobytes()
        loop = asyncio.get_running_loop()
        # submit() may start a worker process: do that in a thread, not on the loop.
        future = await loop.run_in_executor(
            None, self._executor.submit, _recognize, key, level, samples
        )
        return await asyncio.wrap_future(future)

    async def start(self) -> None:
        """Start the workers and load the model in each, so the first answer of a call does
        not wait for it (about a second); optional."""
        if self._closed:
            raise PoolClosed(PoolClosed.__doc__)
        loop = asyncio.get_running_loop()
        futures = [
            await loop.run_in_executor(None, self._executor.submit, _warm, self.threshold)
            for _ in range(self._workers)
        ]
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))

    def close(self) -> None:
        """Stop taking work, cancel what has not started, and let the workers exit."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def aclose(self) -> None:
        """``close()``, then wait (in a thread) until the workers have exited."""
        self.close()
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)


__all__ = ["GRAMMARS_KEPT", "PoolClosed", "RecognitionPool"]
