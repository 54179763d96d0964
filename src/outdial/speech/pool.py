"""Recognition off the event loop: worker threads, one decoder per thread and grammar."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from outdial.speech.recognizer import Recognition, Recognizer

GRAMMARS_KEPT = 64  # recognisers (grammars) kept ready


class RecognitionPool:
    """``await pool.recognize(phrases, pcm)`` decodes in a worker thread."""

    def __init__(self, workers: int = 2) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="speech")
        self._recognizer = functools.lru_cache(GRAMMARS_KEPT)(self._make)

    @staticmethod
    def _make(phrases: tuple[tuple[str, str], ...]) -> Recognizer:
        return Recognizer(dict(phrases))

    async def recognize(
        self, phrases: Mapping[str, str], pcm: npt.NDArray[np.int16]
    ) -> Recognition:
        recognizer = self._recognizer(tuple(sorted(phrases.items())))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, recognizer.recognize, pcm)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


__all__ = ["RecognitionPool"]
