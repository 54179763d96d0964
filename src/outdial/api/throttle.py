"""Slowing password and key guessing without locking the owner out or naming accounts.

Only failed attempts count, in token buckets (this process's memory):

- per client address: one address guessing many accounts;
- per (account, address): one address guessing one account;
- per account, for addresses that never signed in to it: many addresses guessing one account.
  An address that has signed in to the account before is not held back by strangers' guesses,
  so an attacker cannot lock the owner out.

Accounts are keyed by the e-mail as typed (lower case), whether or not such an account exists:
an unknown address is slowed exactly like a known one, and a 429 tells nothing. Pure: the clock
is passed in.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from outdial.api.ratelimit import MAX_KEYS, TokenBuckets


@dataclass(frozen=True, slots=True)
class Limit:
    rate: float  # failures per second, sustained
    burst: int  # failures at once


PER_ADDRESS = Limit(rate=1 / 3, burst=30)
PER_PAIR = Limit(rate=1 / 12, burst=6)
PER_ACCOUNT = Limit(rate=1 / 2, burst=60)


class SignInThrottle:
    """``wait`` before checking a secret; ``failed`` or ``succeeded`` after. Thread-safe."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        per_address: Limit = PER_ADDRESS,
        per_pair: Limit = PER_PAIR,
        per_account: Limit = PER_ACCOUNT,
    ) -> None:
        self._clock = clock
        self._address: TokenBuckets[str] = _buckets(per_address)
        self._pair: TokenBuckets[str] = _buckets(per_pair)
        self._account: TokenBuckets[str] = _buckets(per_account)
        self._known: OrderedDict[str, None] = OrderedDict()  # "account address" signed in
        self._lock = threading.Lock()

    def wait(self, account: str, address: str) -> float:
        """Seconds ``address`` must wait before trying ``account`` again (0: try now)."""
        account = account.strip().lower()
        now = self._clock()
        with self._lock:
            waits = [
                self._address.wait(address, now),
                self._pair.wait(_pair(account, address), now),
            ]
            if _pair(account, address) not in self._known:
                waits.append(self._account.wait(account, now))
            return max(waits)

    def failed(self, account: str, address: str) -> None:
        account = account.strip().lower()
        now = self._clock()
        with self._lock:
            self._address.take(address, now)
            self._pair.take(_pair(account, address), now)
            if _pair(account, address) not in self._known:
                self._account.take(account, now)

    def succeeded(self, account: str, address: str) -> None:
        """The owner is in: this address is no longer held back by guesses at the account."""
        account = account.strip().lower()
        with self._lock:
            pair = _pair(account, address)
            self._pair.clear(pair)
            self._known[pair] = None
            self._known.move_to_end(pair)
            while len(self._known) > MAX_KEYS:
                self._known.popitem(last=False)

    @staticmethod
    def retry_after(wait: float) -> int:
        return max(1, math.ceil(wait))


def _buckets(limit: Limit) -> TokenBuckets[str]:
    return TokenBuckets(limit.rate, limit.burst)


def _pair(account: str, address: str) -> str:
    return f"{account} {address}"


__all__ = ["PER_ACCOUNT", "PER_ADDRESS", "PER_PAIR", "Limit", "SignInThrottle"]
