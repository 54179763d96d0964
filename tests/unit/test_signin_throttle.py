"""Guessing is slowed per address, per account and address, and per account for strangers;
the owner is never locked out and an unknown e-mail is treated like a known one."""

from __future__ import annotations

from outdial.api.throttle import Limit, SignInThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock) -> SignInThrottle:
    return SignInThrottle(
        clock,
        per_address=Limit(rate=1.0, burst=20),
        per_pair=Limit(rate=0.1, burst=3),
        per_account=Limit(rate=0.5, burst=10),
    )


def guess(t: SignInThrottle, account: str, address: str, times: int) -> int:
    """Failed guesses let through before the first wait."""
    for done in range(times):
        if t.wait(account, address):
            return done
        t.failed(account, address)
    return times


def test_one_address_guessing_one_account_is_slowed_after_its_burst() -> None:
    clock = Clock()
    t = throttle(clock)
    assert guess(t, "ann@example.com", "10.0.0.9", 10) == 3
    assert t.wait("ann@example.com", "10.0.0.9") == 10.0  # one token at 0.1/s
    clock.now += 10.0
    assert t.wait("ANN@example.com ", "10.0.0.9") == 0.0  # the same account, as typed


def test_one_address_guessing_many_accounts_is_slowed() -> None:
    t = throttle(Clock())
    allowed = sum(guess(t, f"user{n}@example.com", "10.0.0.9", 3) for n in range(20))
    assert allowed == 20  # the address's burst, spread over accounts
    assert t.wait("new@example.com", "10.0.0.9") > 0


def test_many_addresses_guessing_one_account_are_slowed_but_not_its_owner() -> None:
    t = throttle(Clock())
    t.succeeded("ann@example.com", "192.0.2.1")  # the owner signed in from here before
    allowed = sum(guess(t, "ann@example.com", f"10.0.{n}.1", 3) for n in range(10))
    assert allowed == 10  # the account's burst for strangers
    assert t.wait("ann@example.com", "10.0.99.1") > 0
    assert t.wait("ann@example.com", "192.0.2.1") == 0.0  # not locked out


def test_an_unknown_account_is_slowed_exactly_like_a_known_one() -> None:
    known, unknown = throttle(Clock()), throttle(Clock())
    known.succeeded("ann@example.com", "192.0.2.1")  # the difference: it exists and was used
    assert guess(known, "ann@example.com", "10.0.0.9", 10) == guess(
        unknown, "nobody@example.com", "10.0.0.9", 10
    )


def test_a_success_clears_the_pairs_failures() -> None:
    t = throttle(Clock())
    guess(t, "ann@example.com", "192.0.2.1", 3)
    assert t.wait("ann@example.com", "192.0.2.1") > 0
    t.succeeded("ann@example.com", "192.0.2.1")
    assert t.wait("ann@example.com", "192.0.2.1") == 0.0
