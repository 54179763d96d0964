"""Outbound parameters (SPEC §3): every error names its field and says what is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outdial.errors import InvalidField
from outdial.options import (
    IGNORED_FIELDS,
    LATEST_TIMESTAMP,
    QUEUE_FIELDS,
    Schedule,
    check_known_fields,
    parse_call_parameters,
    parse_message_reference,
    parse_result_url,
    parse_schedule,
    redact_url,
)

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
HOUR = 3600.0
WAIT = {"reattempt_wait": 300}  # what max_attempts > 1 requires


def schedule(**fields: Any) -> Schedule:
    return parse_schedule(fields, NOW)


def schedule_error(**fields: Any) -> InvalidField:
    with pytest.raises(InvalidField) as caught:
        parse_schedule(fields, NOW)
    return caught.value


RANGE = "is out of range (Unix seconds from 0 to 7258118400, the start of 2200)"


def assert_error(error: InvalidField, field: str, message: str) -> None:
    assert (error.field, error.message) == (field, message)


# --- defaults -----------------------------------------------------------------------------------


def test_defaults_are_one_attempt_from_now_with_no_end() -> None:
    assert schedule() == Schedule(
        max_attempts=1, reattempt_wait=None, start_at=NOW, end_at=None, result_url=None
    )


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_blank_values_count_as_absent(blank: Any) -> None:
    fields = dict.fromkeys(
        ["max_attempts", "reattempt_wait", "start_timestamp", "end_timestamp", "result_url"], blank
    )
    assert schedule(**fields) == schedule()


def test_a_full_schedule() -> None:
    assert schedule(
        max_attempts=3,
        reattempt_wait=600,
        start_timestamp=NOW + HOUR,
        end_timestamp=NOW + 2 * HOUR,
        result_url="https://example.com/results",
    ) == Schedule(3, 600, NOW + HOUR, NOW + 2 * HOUR, "https://example.com/results")


# --- max_attempts and reattempt_wait -------------------------------------------------------------


@pytest.mark.parametrize("attempts", range(1, 11))
def test_max_attempts_from_1_to_10(attempts: int) -> None:
    assert schedule(max_attempts=attempts, **WAIT).max_attempts == attempts


@given(st.integers().filter(lambda n: not 1 <= n <= 10))
def test_max_attempts_outside_1_to_10_is_refused(attempts: int) -> None:
    assert_error(
        schedule_error(max_attempts=attempts, **WAIT),
        "max_attempts",
        f"max_attempts: {attempts} is out of range (1 to 10)",
    )


def test_max_attempts_from_a_form_is_a_string() -> None:
    assert schedule(max_attempts=" 4 ", reattempt_wait="120") == Schedule(4, 120, NOW, None, None)


def test_a_whole_float_is_an_integer() -> None:
    assert schedule(max_attempts=2.0, **WAIT).max_attempts == 2


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (True, "'true'"),
        (False, "'false'"),
        (2.5, "'2.5'"),
        ("2.5", "'2.5'"),
        ("three", "'three'"),
        ("0x3", "'0x3'"),
        ([3], "'[3]'"),
        ({"n": 3}, "'{\"n\": 3}'"),
        (float("inf"), "'Infinity'"),
    ],
)
def test_max_attempts_must_be_an_integer(value: Any, shown: str) -> None:
    assert_error(
        schedule_error(max_attempts=value, **WAIT),
        "max_attempts",
        f"max_attempts: {shown} is not an integer",
    )


def test_reattempt_wait_is_required_for_more_than_one_attempt() -> None:
    assert_error(
        schedule_error(max_attempts=2),
        "reattempt_wait",
        "reattempt_wait: is required when max_attempts is more than 1 (2)",
    )


@pytest.mark.parametrize("wait", [60, 61, 3600, 86_400])
def test_reattempt_wait_from_60_to_86400(wait: int) -> None:
    assert schedule(max_attempts=2, reattempt_wait=wait).reattempt_wait == wait


@pytest.mark.parametrize("wait", [-1, 0, 59, 86_401])
def test_reattempt_wait_outside_60_to_86400_is_refused(wait: int) -> None:
    assert_error(
        schedule_error(max_attempts=2, reattempt_wait=wait),
        "reattempt_wait",
        f"reattempt_wait: {wait} is out of range (60 to 86400)",
    )


def test_reattempt_wait_is_kept_with_a_single_attempt() -> None:
    assert schedule(reattempt_wait=120) == Schedule(1, 120, NOW, None, None)


def test_reattempt_wait_must_be_an_integer() -> None:
    assert_error(
        schedule_error(reattempt_wait="soon"),
        "reattempt_wait",
        "reattempt_wait: 'soon' is not an integer",
    )


# --- the older Plum names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retries", "attempts"), [(0, 1), (1, 2), (4, 5), (9, 10), (10, 11), ("2", 3)]
)
def test_max_retries_is_attempts_minus_one(retries: Any, attempts: int) -> None:
    assert schedule(max_retries=retries, **WAIT).max_attempts == attempts


def test_max_retries_below_zero_is_refused() -> None:
    assert_error(
        schedule_error(max_retries=-1),
        "max_retries",
        "max_retries: -1 is out of range (0 to 10)",
    )


def test_max_retries_above_ten_is_refused() -> None:
    # SPEC §3 keeps Plum's range for the alias, 0-10, so it may mean up to 11 attempts.
    assert_error(
        schedule_error(max_retries=11, **WAIT),
        "max_retries",
        "max_retries: 11 is out of range (0 to 10)",
    )


def test_max_retries_must_be_an_integer() -> None:
    assert_error(
        schedule_error(max_retries=True), "max_retries", "max_retries: 'true' is not an integer"
    )


def test_max_retries_that_agrees_with_max_attempts_is_accepted() -> None:
    assert schedule(max_attempts=3, max_retries=2, **WAIT).max_attempts == 3


def test_max_retries_that_disagrees_with_max_attempts_is_refused() -> None:
    assert_error(
        schedule_error(max_attempts=3, max_retries=3, **WAIT),
        "max_retries",
        "max_retries: disagrees with max_attempts (attempts = retries + 1); send one",
    )


def test_max_retries_also_needs_a_wait() -> None:
    assert_error(
        schedule_error(max_retries=1),
        "reattempt_wait",
        "reattempt_wait: is required when max_attempts is more than 1 (2)",
    )


@pytest.mark.parametrize("interval", [60, 86_400, 86_401, 172_800])
def test_retry_interval_from_60_to_172800(interval: int) -> None:
    assert schedule(max_attempts=2, retry_interval=interval).reattempt_wait == interval


@pytest.mark.parametrize("interval", [59, 172_801])
def test_retry_interval_outside_60_to_172800_is_refused(interval: int) -> None:
    assert_error(
        schedule_error(max_attempts=2, retry_interval=interval),
        "retry_interval",
        f"retry_interval: {interval} is out of range (60 to 172800)",
    )


def test_retry_interval_that_agrees_with_reattempt_wait_is_accepted() -> None:
    assert schedule(max_attempts=2, reattempt_wait=90, retry_interval="90").reattempt_wait == 90


def test_retry_interval_that_disagrees_with_reattempt_wait_is_refused() -> None:
    assert_error(
        schedule_error(max_attempts=2, reattempt_wait=90, retry_interval=120),
        "retry_interval",
        "retry_interval: disagrees with reattempt_wait; send one",
    )


def test_a_plum_client_using_only_the_old_names() -> None:
    assert schedule(
        max_retries="2",
        retry_interval="300",
        scheduled_timestamp=str(int(NOW + HOUR)),
        expiration_timestamp=str(int(NOW + 3 * HOUR)),
    ) == Schedule(3, 300, NOW + HOUR, NOW + 3 * HOUR, None)


def test_scheduled_timestamp_zero_means_now() -> None:
    assert schedule(scheduled_timestamp=0).start_at == NOW
    assert schedule(scheduled_timestamp="0").start_at == NOW


def test_expiration_timestamp_zero_means_never() -> None:
    assert schedule(expiration_timestamp=0).end_at is None
    assert schedule(expiration_timestamp="0").end_at is None


def test_scheduled_timestamp_that_disagrees_with_start_timestamp_is_refused() -> None:
    # As for max_retries and retry_interval: when both names are sent and disagree, say so
    # rather than silently letting the later one win.
    assert_error(
        schedule_error(start_timestamp=NOW + HOUR, scheduled_timestamp=NOW + 2 * HOUR),
        "scheduled_timestamp",
        "scheduled_timestamp: disagrees with start_timestamp; send one",
    )


def test_expiration_timestamp_that_disagrees_with_end_timestamp_is_refused() -> None:
    assert_error(
        schedule_error(end_timestamp=NOW + HOUR, expiration_timestamp=NOW + 2 * HOUR),
        "expiration_timestamp",
        "expiration_timestamp: disagrees with end_timestamp; send one",
    )


def test_timestamp_aliases_that_agree_are_accepted() -> None:
    assert schedule(
        start_timestamp=NOW + HOUR,
        scheduled_timestamp=str(int(NOW + HOUR)),
        end_timestamp=NOW + 2 * HOUR,
        expiration_timestamp=NOW + 2 * HOUR,
    ) == Schedule(1, None, NOW + HOUR, NOW + 2 * HOUR, None)


# --- start and end ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        NOW + HOUR,
        int(NOW + HOUR),
        "1800003600",
        " 1800003600.0 ",
        "2027-01-15T09:00:00Z",
        "2027-01-15T09:00:00+00:00",
        "2027-01-15T04:00:00-05:00",
        "2027-01-15T10:30:00+01:30",
        "2027-01-15 09:00:00Z",
    ],
)
def test_start_timestamp_in_unix_seconds_or_iso_8601_with_offset(value: Any) -> None:
    assert schedule(start_timestamp=value).start_at == NOW + HOUR


def test_fractional_seconds_are_kept() -> None:
    assert schedule(start_timestamp=NOW + 0.5).start_at == NOW + 0.5


def test_start_timestamp_zero_means_now() -> None:
    assert schedule(start_timestamp=0).start_at == NOW


def test_a_start_in_the_past_means_now() -> None:
    assert schedule(start_timestamp=NOW - HOUR).start_at == NOW


def test_iso_8601_without_an_offset_is_refused() -> None:
    assert_error(
        schedule_error(start_timestamp="2027-01-15T09:00:00"),
        "start_timestamp",
        "start_timestamp: '2027-01-15T09:00:00' has no time zone: "
        "add an offset such as Z or -05:00",
    )


@pytest.mark.parametrize("value", ["tomorrow", "2027-13-45T00:00:00Z", "1e9", "nan", "12:00"])
def test_garbage_timestamps_are_refused(value: str) -> None:
    assert_error(
        schedule_error(start_timestamp=value),
        "start_timestamp",
        f"start_timestamp: {value!r} is neither Unix seconds nor an ISO 8601 time",
    )


@pytest.mark.parametrize(
    ("value", "shown"), [(True, "'true'"), ([NOW], f"'[{NOW}]'"), ({"at": 1}, "'{\"at\": 1}'")]
)
def test_timestamps_of_the_wrong_type_are_refused(value: Any, shown: str) -> None:
    assert_error(
        schedule_error(end_timestamp=value),
        "end_timestamp",
        f"end_timestamp: {shown} is not a timestamp",
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (-1, "'-1'"),
        (LATEST_TIMESTAMP + 1, f"'{LATEST_TIMESTAMP + 1}'"),
        (float("inf"), "'Infinity'"),
        (float("nan"), "'NaN'"),
    ],
)
def test_timestamps_out_of_range_are_refused(value: Any, shown: str) -> None:
    assert_error(
        schedule_error(start_timestamp=value),
        "start_timestamp",
        f"start_timestamp: {shown} {RANGE}",
    )


def test_milliseconds_sent_as_seconds_are_named() -> None:
    assert_error(
        schedule_error(end_timestamp=1_765_000_000_000),
        "end_timestamp",
        f"end_timestamp: '1765000000000' {RANGE}; this looks like milliseconds: send seconds",
    )


def test_the_last_second_of_2199_is_a_timestamp() -> None:
    assert schedule(end_timestamp=LATEST_TIMESTAMP).end_at == LATEST_TIMESTAMP


@pytest.mark.parametrize("name", ["start_timestamp", "end_timestamp"])
def test_a_huge_integer_timestamp_is_refused_as_out_of_range(name: str) -> None:
    # json.loads("1" + "0" * 400) is a Python int that float() cannot hold: the request must
    # get a 400 naming the field, not an OverflowError (a 500).
    huge = json.loads("1" + "0" * 400)
    for value, shown in [(huge, "1" + "0" * 60), (-huge, "-1" + "0" * 59)]:  # cut to 64
        assert_error(schedule_error(**{name: value}), name, f"{name}: {shown + '...'!r} {RANGE}")


def test_end_timestamp_in_the_past_is_refused() -> None:
    assert_error(
        schedule_error(end_timestamp=int(NOW - 1)),
        "end_timestamp",
        "end_timestamp: '1799999999' is in the past",
    )


def test_end_timestamp_now_is_refused() -> None:
    assert_error(
        schedule_error(end_timestamp=str(int(NOW))),
        "end_timestamp",
        "end_timestamp: '1800000000' is in the past",
    )


def test_expiration_timestamp_in_the_past_is_refused() -> None:
    assert_error(
        schedule_error(expiration_timestamp="2027-01-15T07:00:00Z"),
        "expiration_timestamp",
        "expiration_timestamp: '2027-01-15T07:00:00Z' is in the past",
    )


@pytest.mark.parametrize("end", [NOW + HOUR, NOW + HOUR / 2])
def test_end_timestamp_not_after_the_start_is_refused(end: float) -> None:
    assert_error(
        schedule_error(start_timestamp=NOW + HOUR, end_timestamp=end),
        "end_timestamp",
        "end_timestamp: must be after the start timestamp",
    )


def test_end_timestamp_zero_means_no_end() -> None:
    assert schedule(end_timestamp=0).end_at is None


def test_an_end_with_the_start_defaulting_to_now() -> None:
    assert schedule(end_timestamp=NOW + 1) == Schedule(1, None, NOW, NOW + 1, None)


# --- result_url ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("https://example.com/results", "https://example.com/results"),
        ("http://127.0.0.1:8080/hook?x=1", "http://127.0.0.1:8080/hook?x=1"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("https://[::1]:8443/", "https://[::1]:8443/"),
    ],
)
def test_result_url_accepted(value: str, url: str) -> None:
    assert parse_result_url(value) == url
    assert schedule(result_url=value).result_url == url


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (42, "result_url: '42' is not a URL"),
        (["https://a.example"], """result_url: '["https://a.example"]' is not a URL"""),
        (
            "ftp://example.com/x",
            "result_url: 'ftp://example.com/x' must be an http:// or https:// URL with a host",
        ),
        ("https://", "result_url: 'https://' must be an http:// or https:// URL with a host"),
        (
            "example.com/hook",
            "result_url: 'example.com/hook' must be an http:// or https:// URL with a host",
        ),
        (
            "https://exa mple.com/",
            "result_url: 'https://exa mple.com/' contains spaces or control characters",
        ),
        (
            "https://example.com/\x00",
            "result_url: 'https://example.com/\\x00' contains spaces or control characters",
        ),
        (
            "https://example.com:99999/",
            "result_url: 'https://example.com:99999/' is not a valid URL",
        ),
        ("https://[::1/", "result_url: 'https://[::1/' is not a valid URL"),
    ],
)
def test_result_url_refused(value: Any, message: str) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_result_url(value)
    assert_error(caught.value, "result_url", message)


def test_result_url_too_long() -> None:
    with pytest.raises(InvalidField) as caught:
        parse_result_url("https://example.com/" + "a" * 2029)
    assert_error(caught.value, "result_url", "result_url: is longer than 2048 characters")
    assert parse_result_url("https://example.com/" + "a" * 2028).endswith("a")


def test_result_url_error_names_the_field_it_came_from() -> None:
    with pytest.raises(InvalidField) as caught:
        parse_result_url("nope", name="callback")
    assert caught.value.field == "callback"


def test_a_bad_result_url_in_a_schedule_is_refused() -> None:
    assert schedule_error(result_url="mailto:a@example.com").field == "result_url"


# --- message_reference --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reference"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("order-17", "order-17"),
        ("  order-17\t", "order-17"),
        (17, "17"),
        (1.5, "1.5"),
        ("r" * 255, "r" * 255),
        ("réf ü 北京", "réf ü 北京"),
    ],
)
def test_message_reference_accepted(value: Any, reference: str | None) -> None:
    assert parse_message_reference(value) == reference


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("r" * 256, "message_reference: is longer than 255 characters"),
        ("a\nb", "message_reference: contains control characters"),
        ("a\x7fb", "message_reference: contains control characters"),
        (True, "message_reference: 'true' is not a string"),
        ({"id": 1}, "message_reference: '{\"id\": 1}' is not a string"),
        (["x"], "message_reference: '[\"x\"]' is not a string"),
    ],
)
def test_message_reference_refused(value: Any, message: str) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_message_reference(value)
    assert_error(caught.value, "message_reference", message)


# --- call_parameters ----------------------------------------------------------------------------

BAD_NAME = (
    "is not a valid variable name (letters, digits, '_', '.', '-'; "
    "starting with a letter or '_'; at most 128 characters)"
)


@pytest.mark.parametrize(
    ("value", "parameters"),
    [
        (None, {}),
        ("", {}),
        ("  ", {}),
        ({}, {}),
        ({"name": "Ada", "due": 12.5, "n": 3, "vip": True, "note": None},) * 2,
        ('{"name": "Ada", "n": 3}', {"name": "Ada", "n": 3}),
        ({"_x": 1, "a.b-c_9": "v"},) * 2,
        ({"k" * 128: 1},) * 2,
    ],
)
def test_call_parameters_accepted(value: Any, parameters: dict[str, Any]) -> None:
    assert parse_call_parameters(value) == parameters


def test_call_parameters_returns_a_copy() -> None:
    given_ = {"a": 1}
    parsed = parse_call_parameters(given_)
    parsed["b"] = 2
    assert given_ == {"a": 1}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[1, 2]", "call_parameters: '[1, 2]' is not a JSON object"),
        ("{oops", "call_parameters: '{oops' is not a JSON object"),
        ("null", "call_parameters: 'null' is not a JSON object"),
        ([1, 2], "call_parameters: '[1, 2]' is not a JSON object"),
        (7, "call_parameters: '7' is not a JSON object"),
        ({"1st": 1}, f"call_parameters: '1st' {BAD_NAME}"),
        ({"a b": 1}, f"call_parameters: 'a b' {BAD_NAME}"),
        ({"": 1}, f"call_parameters: '' {BAD_NAME}"),
        ({"k" * 129: 1}, f"call_parameters: '{'k' * 61}...' {BAD_NAME}"),
        (
            {"a": {"b": 1}},
            "call_parameters: value of 'a' must be a string, number, boolean or null",
        ),
        ({"a": [1]}, "call_parameters: value of 'a' must be a string, number, boolean or null"),
        ({"a": float("nan")}, "call_parameters: value of 'a' is not a finite number"),
        ('{"a": Infinity}', "call_parameters: value of 'a' is not a finite number"),
        ({"a": "x" * 16_400}, "call_parameters: is larger than 16384 bytes as JSON"),
    ],
)
def test_call_parameters_refused(value: Any, message: str) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_call_parameters(value)
    assert_error(caught.value, "call_parameters", message)


def test_call_parameters_error_names_the_field_it_came_from() -> None:
    with pytest.raises(InvalidField) as caught:
        parse_call_parameters("[]", name="calls[3].call_parameters")
    assert caught.value.message == "calls[3].call_parameters: '[]' is not a JSON object"


# --- known fields -------------------------------------------------------------------------------

ALLOWED = (
    "call_parameters, end_timestamp, expiration_timestamp, max_attempts, max_retries, "
    "message_reference, phone_number, reattempt_wait, result_url, retry_interval, "
    "scheduled_timestamp, start_timestamp"
)


def test_known_fields_pass() -> None:
    check_known_fields(dict.fromkeys(QUEUE_FIELDS, 1), QUEUE_FIELDS)


def test_ignored_plum_fields_pass() -> None:
    assert "is_pci" in IGNORED_FIELDS
    check_known_fields({"phone_number": "6175551234", "is_pci": "false"}, QUEUE_FIELDS)


def test_an_unknown_field_is_named_with_the_allowed_ones() -> None:
    with pytest.raises(InvalidField) as caught:
        check_known_fields({"phone_number": "6175551234", "colour": "red"}, QUEUE_FIELDS)
    assert_error(caught.value, "colour", f"colour: unknown field (allowed: {ALLOWED})")


def test_the_first_unknown_field_in_alphabetical_order_is_named() -> None:
    with pytest.raises(InvalidField) as caught:
        check_known_fields({"zeta": 1, "max_attempt": 2, "phone_number": "1"}, QUEUE_FIELDS)
    assert caught.value.field == "max_attempt"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:secret@hooks.example.com/r?x=1", "https://***@hooks.example.com/r?x=1"),
        ("https://token@hooks.example.com/", "https://***@hooks.example.com/"),
        ("https://hooks.example.com/r", "https://hooks.example.com/r"),
    ],
)
def test_credentials_in_urls_are_redacted(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_url_with_credentials_is_refused() -> None:
    with pytest.raises(InvalidField, match="must not hold a user name or password"):
        parse_result_url("https://user:secret@hooks.example.com/")
