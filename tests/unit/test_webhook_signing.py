"""Signing and back-off of result callbacks: pure functions, no network."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from outdial.dispatch.webhooks import (
    BASE_DELAY,
    GIVE_UP_AFTER,
    MAX_DELAY,
    WebhookSettings,
    next_delay,
    sign,
)


def test_sign_matches_the_rfc_4231_vector() -> None:
    # RFC 4231 §4.3, test case 2: key "Jefe"
    assert sign("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_sign_covers_the_exact_bytes() -> None:
    body = '{"call_id":"x","phone_number":"+16175550100","results":{"é":1}}'.encode()
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert sign("s3cret", body) == f"sha256={expected}"
    assert sign("s3cret", body + b" ") != sign("s3cret", body)
    assert sign("other", body) != sign("s3cret", body)


def test_waits_double_from_the_base() -> None:
    assert [next_delay(n) for n in range(1, 6)] == [10.0, 20.0, 40.0, 80.0, 160.0]
    assert BASE_DELAY == 10.0


def test_waits_are_capped_at_an_hour() -> None:
    assert next_delay(9) == 2560.0
    assert next_delay(10) == MAX_DELAY == 3600.0
    assert next_delay(10_000) == 3600.0  # no overflow, however many tries failed


def test_jitter_moves_a_wait_by_at_most_ten_percent() -> None:
    assert next_delay(2, jitter=1.0) == pytest.approx(22.0)
    assert next_delay(2, jitter=-1.0) == pytest.approx(18.0)
    assert next_delay(50, jitter=1.0) == pytest.approx(3960.0)  # applied after the cap
    with pytest.raises(ValueError, match="jitter"):
        next_delay(1, jitter=1.5)


def test_waits_follow_the_settings_given() -> None:
    assert [next_delay(n, base=0.1, cap=0.25) for n in (1, 2, 3, 4)] == [0.1, 0.2, 0.25, 0.25]


def test_a_wait_needs_a_failed_try() -> None:
    with pytest.raises(ValueError, match="attempts must be at least 1, not 0"):
        next_delay(0)


def test_callbacks_are_retried_for_a_day() -> None:
    assert GIVE_UP_AFTER == 86_400.0
    # from the first failure to the horizon, about 30 tries: hourly once the cap is reached
    elapsed, tries = 0.0, 1
    while elapsed < GIVE_UP_AFTER:
        elapsed += next_delay(tries)
        tries += 1
    assert 25 <= tries <= 35


def test_a_claim_must_outlast_a_try() -> None:
    with pytest.raises(ValueError, match=r"lease \(5.0 s\) must exceed timeout \(10.0 s\)"):
        WebhookSettings(lease=5.0)
    with pytest.raises(ValueError, match="poll must be more than 0"):
        WebhookSettings(poll=0.0)
    assert WebhookSettings(timeout=0.2, lease=0.5).lease == 0.5
