"""Token buckets: one per key, ``rate`` tokens a second up to ``burst``. ``RateLimiter`` is the
single-call endpoint's limit per account (Plum warns against looping it); the sign-in throttle
(``throttle``) keeps its own buckets of failures."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

MAX_KEYS = 100_000  # buckets kept; the least recently used are forgotten (as full) first

K = TypeVar("K", bound=Hashable)


class TokenBuckets(Generic[K]):
    """The buckets themselves: pure (the time is passed in) and not locked."""

    def __init__(self, rate: float, burst: int, max_keys: int = MAX_KEYS) -> None:
        self.rate = rate
        self.burst = burst
        self._max_keys = max_keys
        self._tokens: OrderedDict[K, tuple[float, float]] = OrderedDict()  # (tokens, at)

    def _level(self, key: K, now: float) -> float:
        tokens, last = self._tokens.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - last) * self.rate)

    def wait(self, key: K, now: float) -> float:
        """Seconds until ``key`` has a token; 0 when it has one now."""
        tokens = self._level(key, now)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def take(self, key: K, now: float) -> None:
        """Use a token (down to none)."""
        self._tokens[key] = (max(0.0, self._level(key, now) - 1.0), now)
        self._tokens.move_to_end(key)
        while len(self._tokens) > self._max_keys:
            self._tokens.popitem(last=False)

    def clear(self, key: K) -> None:
        """``key``'s bucket full again."""
        self._tokens.pop(key, None)


class RateLimiter:
    """``rate`` requests per second sustained, ``burst`` at once, per key (in this process)."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: TokenBuckets[int] = TokenBuckets(rate, burst)
        self._lock = threading.Lock()

    def acquire(self, key: int) -> float:
        """Take a token; returns 0 on success, else the seconds until one is free."""
        now = self.clock()
        with self._lock:
            wait = self._buckets.wait(key, now)
            if not wait:
                self._buckets.take(key, now)
            return wait

    @staticmethod
    def retry_after(wait: float) -> int:
        return max(1, math.ceil(wait))
