"""The Store on a real database: every test runs on SQLite and on PostgreSQL.

Tests go through the Store's methods and check what an API user would see. Direct SQL
appears only where the Store has no method for it yet: reading a table to prove something
is *not* there (a hash instead of a key, nothing left behind by a failed transaction), and
playing the dialer, which does not exist yet: putting a call into dialing, connected or a
final status (``force``), and claiming a call while a cancel is under way.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from outdial.accounts import DEFAULT_CPS, DEFAULT_MAX_LINES, Account, Deployment
from outdial.calls import DEFAULT_RETRY_ON, FINAL_STATUSES, CalleeType, CallStatus
from outdial.errors import Conflict, InvalidField, NotFound
from outdial.options import Schedule
from outdial.store.store import CallQuery, NewCall, Reject, Store, new_call_id
from outdial.store.tables import accounts, batch_rejects, batches, call_events, calls

MakeAccount = Callable[..., tuple[Account, str]]
MakeDeployment = Callable[..., Deployment]
MakeCalls = Callable[..., list[str]]

HOUR = 3600.0
NUMBERS = ["+16175550100", "+16175550101", "+16175550102"]


@pytest.fixture
def account(make_account: MakeAccount) -> Account:
    return make_account("owner@example.com")[0]


@pytest.fixture
def deployment(make_deployment: MakeDeployment, account: Account) -> Deployment:
    return make_deployment(account)


def new_call(
    number: str = "+16175550100",
    *,
    row: int | None = None,
    call_id: str | None = None,
    ani: str | None = None,
    postd: str | None = None,
    message_reference: str | None = None,
    call_parameters: dict[str, Any] | None = None,
) -> NewCall:
    return NewCall(
        call_id or new_call_id(),
        number,
        ani,
        postd,
        message_reference,
        json.dumps(call_parameters or {}),
        row,
    )


def count(store: Store, table: Any) -> int:
    """Rows in ``table``, read directly: for proving nothing was left behind."""
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def force(store: Store, call_id: str, **values: Any) -> None:
    """Set columns of a call directly: stands in for the dialer, which has no Store methods yet."""
    with store.engine.begin() as conn:
        conn.execute(update(calls).where(calls.c.call_id == call_id).values(**values))


def events_of(store: Store, account: Account, call_id: str) -> list[str]:
    return [e.event for e in store.get_call(account, call_id).events]


# --- accounts -----------------------------------------------------------------------------------


def test_a_new_account_authenticates_with_its_key(store: Store, make_account: MakeAccount) -> None:
    account, key = make_account("ada@example.com")
    assert account.email == "ada@example.com"
    assert store.authenticate("ada@example.com", key) == account
    assert store.account_by_email("ada@example.com") == account


def test_a_wrong_key_or_unknown_email_does_not_authenticate(
    store: Store, make_account: MakeAccount
) -> None:
    _, key = make_account("ada@example.com")
    other, other_key = make_account("bob@example.com")
    assert store.authenticate("ada@example.com", key + "x") is None
    assert store.authenticate("ada@example.com", "") is None
    assert store.authenticate("ada@example.com", other_key) is None
    assert store.authenticate("nobody@example.com", key) is None
    assert store.authenticate("bob@example.com", other_key) == other


def test_emails_are_case_insensitive(store: Store, make_account: MakeAccount) -> None:
    account, key = make_account("  Ada.Lovelace@Example.COM ")
    assert account.email == "ada.lovelace@example.com"
    assert store.authenticate("ADA.LOVELACE@example.com", key) == account
    assert store.account_by_email("Ada.Lovelace@EXAMPLE.com") == account


@pytest.mark.parametrize("again", ["ada@example.com", "ADA@Example.com", " ada@example.com"])
def test_a_second_account_with_the_same_email_conflicts(
    store: Store, make_account: MakeAccount, again: str
) -> None:
    make_account("ada@example.com")
    with pytest.raises(Conflict) as caught:
        make_account(again)
    assert caught.value.status == 409
    assert caught.value.message == "an account with e-mail 'ada@example.com' already exists"
    assert count(store, accounts) == 1


@pytest.mark.parametrize("email", ["ada", "ada@example", "ada@@example.com", "a da@example.com"])
def test_an_invalid_email_is_refused(store: Store, email: str) -> None:
    with pytest.raises(InvalidField) as caught:
        store.create_account(email)
    assert caught.value.message == f"email: {email!r} is not an e-mail address"


def test_only_a_hash_of_the_key_is_stored(store: Store, make_account: MakeAccount) -> None:
    account, key = make_account("ada@example.com", password="correct horse")
    with store.engine.connect() as conn:
        row = conn.execute(select(accounts).where(accounts.c.id == account.id)).one()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    stored = " ".join(str(value) for value in row)
    assert key not in stored
    assert "correct horse" not in stored


def test_every_account_has_its_own_key_and_webhook_secret(make_account: MakeAccount) -> None:
    first, first_key = make_account()
    second, second_key = make_account()
    assert first_key != second_key
    assert first.webhook_secret != second.webhook_secret
    assert len(first_key) >= 32


def test_a_reset_key_replaces_the_old_one(store: Store, make_account: MakeAccount) -> None:
    account, old_key = make_account("ada@example.com")
    new_key = store.reset_developer_key("ADA@example.com")
    assert store.authenticate("ada@example.com", new_key) == account
    assert store.authenticate("ada@example.com", old_key) is None
    with pytest.raises(NotFound):
        store.reset_developer_key("nobody@example.com")


def test_password_check(store: Store, make_account: MakeAccount) -> None:
    account, _ = make_account("ada@example.com", password="correct horse")
    assert store.check_password("Ada@Example.com", "correct horse") == account
    assert store.check_password("ada@example.com", "correct horsE") is None
    assert store.check_password("ada@example.com", "") is None
    assert store.check_password("nobody@example.com", "correct horse") is None


def test_an_account_without_a_password_cannot_log_in(
    store: Store, make_account: MakeAccount
) -> None:
    make_account("ada@example.com")
    assert store.check_password("ada@example.com", "") is None
    assert store.check_password("ada@example.com", "anything") is None


# --- applications and deployments ---------------------------------------------------------------


def test_a_new_deployment_has_the_default_settings(store: Store, make_account: MakeAccount) -> None:
    account, _ = make_account("ada@example.com")
    application = store.create_application("ada@example.com", "  Reminders ")
    assert (application.account_id, application.name) == (account.id, "Reminders")
    deployment = store.create_deployment(application.id)
    assert deployment.application_id == application.id
    assert deployment.account_id == account.id
    assert deployment.name == "Reminders deployment"
    assert deployment.application_name == "Reminders"
    assert deployment.max_lines == DEFAULT_MAX_LINES
    assert deployment.cps == DEFAULT_CPS
    assert deployment.caller_id is None
    assert deployment.retry_on == DEFAULT_RETRY_ON
    assert store.deployment_for(account, application.id, deployment.id) == deployment


def test_a_deployment_keeps_its_settings(store: Store, make_account: MakeAccount) -> None:
    account, _ = make_account()
    application = store.create_application(account.email, "Surveys")
    deployment = store.create_deployment(
        application.id,
        name="Evening",
        max_lines=3,
        cps=0.5,
        caller_id="+18009957586",
        retry_on=frozenset({CalleeType.BUSY}),
    )
    found = store.deployment_for(account, application.id, deployment.id)
    assert found == deployment
    assert (found.name, found.max_lines, found.cps, found.caller_id) == (
        "Evening",
        3,
        0.5,
        "+18009957586",
    )
    assert found.retry_on == {CalleeType.BUSY}


def test_an_application_needs_a_name_and_an_account(
    store: Store, make_account: MakeAccount
) -> None:
    account, _ = make_account()
    with pytest.raises(InvalidField, match=r"^name: must be 1 to 200 characters$"):
        store.create_application(account.email, "   ")
    with pytest.raises(InvalidField, match=r"^name: must be 1 to 200 characters$"):
        store.create_application(account.email, "x" * 201)
    with pytest.raises(NotFound, match=r"^no account with e-mail 'nobody@example\.com'$"):
        store.create_application("nobody@example.com", "Reminders")


def test_deployment_settings_are_checked(store: Store, make_account: MakeAccount) -> None:
    account, _ = make_account()
    application = store.create_application(account.email, "Reminders")
    with pytest.raises(InvalidField, match=r"^max_lines: 0 must be at least 1$"):
        store.create_deployment(application.id, max_lines=0)
    with pytest.raises(InvalidField, match=r"^cps: 0 must be more than 0$"):
        store.create_deployment(application.id, cps=0)
    with pytest.raises(NotFound, match=r"^application 999999 not found$"):
        store.create_deployment(999_999)
    store.delete_application(application.id)
    with pytest.raises(Conflict, match=f"^application {application.id} was deleted$"):
        store.create_deployment(application.id)


def test_deployment_for_an_unknown_application_is_not_found(
    store: Store, account: Account, deployment: Deployment
) -> None:
    with pytest.raises(NotFound) as caught:
        store.deployment_for(account, 999_999, deployment.id)
    assert caught.value.status == 404
    assert caught.value.message == "application 999999 not found"


def test_deployment_for_another_accounts_application_is_not_found(
    store: Store, make_deployment: MakeDeployment, make_account: MakeAccount
) -> None:
    deployment = make_deployment()
    intruder, _ = make_account("mallory@example.com")
    with pytest.raises(NotFound) as caught:
        store.deployment_for(intruder, deployment.application_id, deployment.id)
    assert caught.value.status == 404
    assert caught.value.message == f"application {deployment.application_id} not found"


def test_deployment_for_a_deleted_application_conflicts(
    store: Store, make_account: MakeAccount, make_deployment: MakeDeployment
) -> None:
    account, _ = make_account()
    deployment = make_deployment(account)
    store.delete_application(deployment.application_id)
    with pytest.raises(Conflict) as caught:
        store.deployment_for(account, deployment.application_id, deployment.id)
    assert caught.value.status == 409
    assert caught.value.message == f"application {deployment.application_id} was deleted"
    with pytest.raises(NotFound, match="already deleted"):
        store.delete_application(deployment.application_id)


def test_deployment_for_a_deleted_deployment_conflicts(
    store: Store, make_account: MakeAccount, make_deployment: MakeDeployment
) -> None:
    account, _ = make_account()
    deployment = make_deployment(account)
    store.delete_deployment(deployment.id)
    with pytest.raises(Conflict) as caught:
        store.deployment_for(account, deployment.application_id, deployment.id)
    assert caught.value.status == 409
    assert caught.value.message == f"deployment {deployment.id} was deleted"
    with pytest.raises(NotFound, match="already deleted"):
        store.delete_deployment(deployment.id)


def test_deployment_for_a_deployment_of_another_application_is_not_found(
    store: Store, make_account: MakeAccount, make_deployment: MakeDeployment
) -> None:
    account, _ = make_account()
    first = make_deployment(account)
    second = make_deployment(account)
    with pytest.raises(NotFound) as caught:
        store.deployment_for(account, first.application_id, second.id)
    assert caught.value.message == (
        f"deployment {second.id} not found in application {first.application_id}"
    )
    with pytest.raises(NotFound):
        store.deployment_for(account, first.application_id, 999_999)


def test_deployments_of_lists_the_accounts_live_deployments(
    store: Store, make_account: MakeAccount, make_deployment: MakeDeployment
) -> None:
    account, _ = make_account()
    first = make_deployment(account)
    second = make_deployment(account)
    deleted = make_deployment(account)
    make_deployment()  # another account's
    store.delete_deployment(deleted.id)
    assert store.deployments_of(account) == [first, second]


# --- queuing ------------------------------------------------------------------------------------


def test_a_queued_call_shows_every_field_of_call_details(
    store: Store, clock: Any, account: Account, deployment: Deployment
) -> None:
    schedule = Schedule(
        max_attempts=3,
        reattempt_wait=600,
        start_at=clock.now + HOUR,
        end_at=clock.now + 24 * HOUR,
        result_url="https://example.com/results",
    )
    call = new_call(
        "+16175551234",
        ani="8009957586",
        postd="2#",
        message_reference="order-17",
        call_parameters={"name": "Ada", "balance": 12.5, "vip": True},
    )
    assert store.queue_calls(deployment, schedule, [call]) is None
    clock.advance(30)

    found = store.get_call(account, call.call_id)
    assert found.details() == {
        "call_id": call.call_id,
        "phone_number": "+16175551234",
        "status": "queued",
        "callee_type": None,
        "attempts": 0,
        "max_attempts": 3,
        "queued_timestamp": 1_800_000_000,
        "start_timestamp": 1_800_003_600,
        "end_timestamp": 1_800_086_400,
        "reattempt_wait": 600,
        "last_attempt_timestamp": None,
        "duration": None,
        "message_reference": "order-17",
        "call_parameters": {"name": "Ada", "balance": 12.5, "vip": True},
        "results": {},
        "recordings": [],
        "events": [{"event": "queued", "timestamp": 1_800_000_000}],
        "attempt_details": [],
    }
    assert (found.ani, found.postd, found.result_url) == (
        "8009957586",
        "2#",
        "https://example.com/results",
    )
    assert (found.account_id, found.application_id, found.deployment_id) == (
        account.id,
        deployment.application_id,
        deployment.id,
    )
    assert (found.batch_id, found.batch_row) == (None, None)


def test_calls_queued_one_by_one_each_get_their_own_id(
    store: Store, account: Account, deployment: Deployment, make_calls: MakeCalls
) -> None:
    ids = [make_calls(deployment, [number])[0] for number in NUMBERS]
    assert len(set(ids)) == 3
    assert [store.get_call(account, i).phone_number for i in ids] == NUMBERS


def test_a_batch_is_recorded_with_its_rejected_rows(
    store: Store, clock: Any, account: Account, deployment: Deployment
) -> None:
    good = [new_call(number, row=row) for row, number in [(1, NUMBERS[0]), (3, NUMBERS[1])]]
    good.append(new_call(NUMBERS[2], row=5, message_reference="last"))
    rejects = [Reject(2, "12", "not a phone number"), Reject(4, "+16175550100", "duplicate")]
    report = store.queue_calls(
        deployment,
        Schedule(start_at=clock.now),
        good,
        source="csv",
        filename="reminders.csv",
        rejects=rejects,
        total_rows=5,
    )
    assert report is not None
    assert (report.source, report.filename, report.total_rows) == ("csv", "reminders.csv", 5)
    assert (report.accepted, report.rejected, report.created_at) == (3, 2, clock.now)
    assert report.call_ids == tuple(c.call_id for c in good)
    assert report.rejects == tuple(rejects)

    clock.advance(60)
    assert store.batch_report(account, report.batch_id) == report
    for call in good:
        found = store.get_call(account, call.call_id)
        assert (found.batch_id, found.batch_row) == (report.batch_id, call.batch_row)
        assert found.status is CallStatus.QUEUED
        assert [e.event for e in found.events] == ["queued"]


def test_a_batch_counts_its_rows_when_not_told(
    store: Store, clock: Any, account: Account, deployment: Deployment
) -> None:
    report = store.queue_calls(
        deployment,
        Schedule(start_at=clock.now),
        [new_call(row=2)],
        source="json",
        rejects=[Reject(1, "x", "bad")],
    )
    assert report is not None
    assert (report.total_rows, report.accepted, report.rejected) == (2, 1, 1)
    assert report.filename is None
    assert store.batch_report(account, report.batch_id) == report


def test_a_batch_of_only_rejected_rows_is_recorded(
    store: Store, clock: Any, account: Account, deployment: Deployment
) -> None:
    rejects = [Reject(1, "12", "too short"), Reject(2, "", "is required")]
    report = store.queue_calls(
        deployment, Schedule(start_at=clock.now), [], source="csv", rejects=rejects
    )
    assert report is not None
    stored = store.batch_report(account, report.batch_id)
    assert (stored.accepted, stored.rejected, stored.call_ids) == (0, 2, ())
    assert stored.rejects == tuple(rejects)


def test_a_large_batch_keeps_its_row_order(
    store: Store, clock: Any, account: Account, deployment: Deployment
) -> None:
    good = [new_call(f"+1617555{row:04d}", row=row) for row in range(1, 501)]
    report = store.queue_calls(deployment, Schedule(start_at=clock.now), good, source="json")
    assert report is not None
    assert store.batch_report(account, report.batch_id).call_ids == tuple(c.call_id for c in good)
    listed, total = store.list_calls(deployment, CallQuery(per_page=1000))
    assert total == 500
    assert [c.batch_row for c in listed] == list(range(1, 501))


def test_batch_report_of_an_unknown_batch_or_another_account(
    store: Store, clock: Any, deployment: Deployment, make_account: MakeAccount
) -> None:
    report = store.queue_calls(
        deployment, Schedule(start_at=clock.now), [new_call(row=1)], source="json"
    )
    assert report is not None
    intruder, _ = make_account("mallory@example.com")
    with pytest.raises(NotFound) as hidden:
        store.batch_report(intruder, report.batch_id)
    assert hidden.value.message == f"batch {report.batch_id!r} not found"
    with pytest.raises(NotFound) as missing:
        store.batch_report(intruder, "no-such-batch")
    assert missing.value.message == "batch 'no-such-batch' not found"


# --- atomicity ----------------------------------------------------------------------------------


def test_a_batch_that_fails_half_way_leaves_nothing_behind(
    store: Store, clock: Any, deployment: Deployment
) -> None:
    first = new_call(NUMBERS[0], row=1)
    good = [first, new_call(NUMBERS[1], row=2), new_call(NUMBERS[2], row=3, call_id=first.call_id)]
    with pytest.raises(IntegrityError):
        store.queue_calls(
            deployment,
            Schedule(start_at=clock.now),
            good,
            source="csv",
            rejects=[Reject(4, "x", "bad")],
        )
    assert (count(store, calls), count(store, batches), count(store, batch_rejects)) == (0, 0, 0)


def test_single_calls_that_fail_leave_nothing_behind(
    store: Store, clock: Any, deployment: Deployment, make_calls: MakeCalls
) -> None:
    [existing] = make_calls(deployment, [NUMBERS[0]])
    with pytest.raises(IntegrityError):
        store.queue_calls(
            deployment,
            Schedule(start_at=clock.now),
            [new_call(NUMBERS[1]), new_call(NUMBERS[2], call_id=existing)],
        )
    assert count(store, calls) == 1
    listed, total = store.list_calls(deployment, CallQuery())
    assert (total, [c.call_id for c in listed]) == (1, [existing])


def test_a_batch_whose_rows_fail_to_read_half_way_leaves_nothing_behind(
    store: Store, clock: Any, deployment: Deployment
) -> None:
    class BrokenUpload:
        """A bulk upload whose reader fails after its first chunk of calls."""

        def __init__(self) -> None:
            self.rejects = [Reject(2, "x", "bad")]
            self.total_rows = 3

        def chunks(self) -> Iterator[list[NewCall]]:
            yield [new_call(NUMBERS[0], row=1)]
            raise ValueError("the upload broke off")

    source = BrokenUpload()
    with pytest.raises(ValueError, match="the upload broke off"):
        store.queue_batch(deployment, Schedule(start_at=clock.now), source, source="csv")
    assert (count(store, calls), count(store, batches), count(store, batch_rejects)) == (0, 0, 0)


# --- reading calls ------------------------------------------------------------------------------


def test_get_call_of_another_account_is_not_found(
    store: Store, deployment: Deployment, make_account: MakeAccount, make_calls: MakeCalls
) -> None:
    [call_id] = make_calls(deployment)
    intruder, _ = make_account("mallory@example.com")
    with pytest.raises(NotFound) as caught:
        store.get_call(intruder, call_id)
    assert caught.value.status == 404
    assert caught.value.message == f"call {call_id!r} not found"


def test_get_call_of_an_unknown_call_is_not_found(store: Store, account: Account) -> None:
    with pytest.raises(NotFound) as caught:
        store.get_call(account, "00000000-0000-4000-8000-000000000000")
    assert caught.value.status == 404
    assert caught.value.message == "call '00000000-0000-4000-8000-000000000000' not found"


@pytest.fixture
def calls_to_list(
    store: Store,
    clock: Any,
    account: Account,
    deployment: Deployment,
    make_calls: MakeCalls,
    make_deployment: MakeDeployment,
) -> dict[str, str]:
    """Seven calls of ``deployment`` in every status, queued a minute apart, by name."""
    names = ["queued", "dialing", "connected", "completed", "failed", "uncalled", "later"]
    numbers = {
        "queued": "+16175550100",
        "dialing": "+16175550111",
        "connected": "+442071838750",
        "completed": "+16175550133",
        "failed": "+16175550144",
        "uncalled": "+16175550155",
        "later": "+16175550100",
    }
    ids: dict[str, str] = {}
    for name in names:
        [ids[name]] = make_calls(deployment, [numbers[name]], message_reference=f"ref-{name}")
        clock.advance(60)
    force(store, ids["dialing"], status="dialing", attempts=1, last_attempt_at=clock.now)
    force(store, ids["connected"], status="connected", attempts=1, last_attempt_at=clock.now)
    force(store, ids["completed"], status="completed", attempts=1, callee_type="voice")
    force(store, ids["failed"], status="failed", attempts=1, callee_type="busy")
    store.cancel_call(account, ids["uncalled"])
    make_calls(make_deployment(account), ["+16175550100"])  # another deployment's call
    return ids


def listed(store: Store, deployment: Deployment, **query: Any) -> tuple[list[str], int]:
    found, total = store.list_calls(deployment, CallQuery(**query))
    return [c.call_id for c in found], total


def test_list_calls_of_a_deployment_oldest_first(
    store: Store, deployment: Deployment, calls_to_list: dict[str, str]
) -> None:
    assert listed(store, deployment) == (list(calls_to_list.values()), 7)


def test_list_calls_newest_first(
    store: Store, deployment: Deployment, calls_to_list: dict[str, str]
) -> None:
    assert listed(store, deployment, newest_first=True) == (
        list(reversed(calls_to_list.values())),
        7,
    )


def test_list_calls_by_group(
    store: Store, deployment: Deployment, calls_to_list: dict[str, str]
) -> None:
    ids = calls_to_list
    assert listed(store, deployment, group="pending") == (
        [ids["queued"], ids["dialing"], ids["connected"], ids["later"]],
        4,
    )
    assert listed(store, deployment, group="completed") == (
        [ids["completed"], ids["failed"], ids["uncalled"]],
        3,
    )


def test_list_calls_by_status(
    store: Store, deployment: Deployment, calls_to_list: dict[str, str]
) -> None:
    ids = calls_to_list
    assert listed(store, deployment, statuses=(CallStatus.QUEUED,)) == (
        [ids["queued"], ids["later"]],
        2,
    )
    assert listed(store, deployment, statuses=(CallStatus.FAILED, CallStatus.UNCALLED)) == (
        [ids["failed"], ids["uncalled"]],
        2,
    )
    assert listed(store, deployment, group="pending", statuses=(CallStatus.FAILED,)) == ([], 0)


def test_list_calls_by_callee_type(
    store: Store, deployment: Deployment, calls_to_list: dict[str, str]
) -> None:
    ids = calls_to_list
    assert listed(store, deployment, callee_types=(CalleeType.VOICE,)) == ([ids["completed"]], 1)
    assert listed(store, deployment, callee_types=(CalleeType.BUSY, CalleeType.NOATTEMPT)) == (
        [ids["failed"], ids["uncalled"]],
        2,
    )


def test_list_calls_by_phone_digits(
    store: Store, deployment: Deployment, calls_to_list: dict[str, str]
) -> None:
    ids = calls_to_list
    assert listed(store, deployment, phone_number="6175550100") == (
        [ids["queued"], ids["later"]],
        2,
    )
    assert listed(store, deployment, phone_number="2071838") == ([ids["connected"]], 1)
    assert listed(store, deployment, phone_number="+1617555014") == ([ids["failed"]], 1)
    assert listed(store, deployment, phone_number="999") == ([], 0)
    # LIKE wildcards in the search are plain characters, not patterns
    assert listed(store, deployment, phone_number="%")[1] == 0
    assert listed(store, deployment, phone_number="617_55")[1] == 0


def test_list_calls_by_message_reference(
    store: Store, deployment: Deployment, calls_to_list: dict[str, str]
) -> None:
    assert listed(store, deployment, message_reference="ref-later") == (
        [calls_to_list["later"]],
        1,
    )
    assert listed(store, deployment, message_reference="ref-") == ([], 0)  # exact match only


def test_list_calls_by_queued_time(
    store: Store, deployment: Deployment, calls_to_list: dict[str, str]
) -> None:
    ids = list(calls_to_list.values())
    start = 1_800_000_000.0  # the first call; each next one a minute later
    assert listed(store, deployment, since=start + 120) == (ids[2:], 5)  # since is inclusive
    assert listed(store, deployment, until=start + 120) == (ids[:2], 2)  # until is exclusive
    assert listed(store, deployment, since=start + 60, until=start + 180) == (ids[1:3], 2)
    assert listed(store, deployment, since=start + 3600) == ([], 0)


def test_list_calls_in_pages(
    store: Store, deployment: Deployment, calls_to_list: dict[str, str]
) -> None:
    ids = list(calls_to_list.values())
    assert listed(store, deployment, per_page=3) == (ids[0:3], 7)
    assert listed(store, deployment, per_page=3, page=2) == (ids[3:6], 7)
    assert listed(store, deployment, per_page=3, page=3) == (ids[6:], 7)
    assert listed(store, deployment, per_page=3, page=4) == ([], 7)
    assert listed(store, deployment, per_page=2, page=2, newest_first=True) == (
        [ids[4], ids[3]],
        7,
    )
    assert listed(store, deployment, per_page=1, page=2, group="completed") == ([ids[4]], 3)


def test_list_calls_shows_each_calls_fields(
    store: Store, deployment: Deployment, calls_to_list: dict[str, str]
) -> None:
    found, _ = store.list_calls(deployment, CallQuery(callee_types=(CalleeType.BUSY,)))
    [call] = found
    assert (call.call_id, call.status, call.callee_type) == (
        calls_to_list["failed"],
        CallStatus.FAILED,
        CalleeType.BUSY,
    )
    assert (call.phone_number, call.message_reference, call.attempts) == (
        "+16175550144",
        "ref-failed",
        1,
    )


# --- cancelling one call ------------------------------------------------------------------------


def test_cancelling_a_queued_call_leaves_it_uncalled(
    store: Store, clock: Any, account: Account, deployment: Deployment, make_calls: MakeCalls
) -> None:
    [call_id] = make_calls(deployment)
    clock.advance(90)
    cancelled = store.cancel_call(account, call_id)
    assert cancelled == store.get_call(account, call_id)
    assert (cancelled.status, cancelled.callee_type) == (CallStatus.UNCALLED, CalleeType.NOATTEMPT)
    assert cancelled.end_reason == "canceled"
    assert cancelled.attempts == 0
    assert cancelled.details()["events"] == [
        {"event": "queued", "timestamp": 1_800_000_000},
        {"event": "canceled", "timestamp": 1_800_000_090},
    ]
    assert cancelled.events[-1].detail == "canceled"


def test_cancelling_with_a_reason(
    store: Store, account: Account, deployment: Deployment, make_calls: MakeCalls
) -> None:
    [call_id] = make_calls(deployment)
    cancelled = store.cancel_call(account, call_id, reason="customer asked")
    assert cancelled.end_reason == "customer asked"
    assert cancelled.events[-1].detail == "customer asked"


def test_cancelling_a_queued_call_with_failed_attempts_fails_it(
    store: Store, account: Account, deployment: Deployment, make_calls: MakeCalls
) -> None:
    busy, unknown = make_calls(deployment, NUMBERS[:2])
    force(store, busy, attempts=1, callee_type="busy")  # waiting for its retry
    force(store, unknown, attempts=2)
    assert (store.cancel_call(account, busy).status, store.get_call(account, busy).callee_type) == (
        CallStatus.FAILED,
        CalleeType.BUSY,
    )
    cancelled = store.cancel_call(account, unknown)
    assert (cancelled.status, cancelled.callee_type) == (CallStatus.FAILED, CalleeType.UNKNOWN)
    assert cancelled.attempts == 2


@pytest.mark.parametrize("final", ["completed", "failed"])
def test_cancelling_a_final_call_conflicts(
    store: Store, account: Account, deployment: Deployment, make_calls: MakeCalls, final: str
) -> None:
    [call_id] = make_calls(deployment)
    force(store, call_id, status=final, attempts=1, callee_type="voice")
    with pytest.raises(Conflict) as caught:
        store.cancel_call(account, call_id)
    assert caught.value.status == 409
    assert caught.value.message == f"call {call_id!r} is already {final}"
    assert events_of(store, account, call_id) == ["queued"]


def test_cancelling_twice_conflicts_and_records_one_event(
    store: Store, account: Account, deployment: Deployment, make_calls: MakeCalls
) -> None:
    [call_id] = make_calls(deployment)
    store.cancel_call(account, call_id)
    with pytest.raises(Conflict, match=r"is already uncalled$"):
        store.cancel_call(account, call_id)
    assert events_of(store, account, call_id) == ["queued", "canceled"]


def test_cancelling_another_accounts_call_is_forbidden(
    store: Store,
    account: Account,
    deployment: Deployment,
    make_account: MakeAccount,
    make_calls: MakeCalls,
) -> None:
    [call_id] = make_calls(deployment)
    intruder, _ = make_account("mallory@example.com")
    with pytest.raises(NotFound, match=r"not found$"):
        store.cancel_call(intruder, call_id)
    assert store.get_call(account, call_id).status is CallStatus.QUEUED
    with pytest.raises(NotFound):
        store.cancel_call(account, "no-such-call")


def test_cancelling_a_call_being_dialed_marks_it_for_hang_up(
    store: Store, account: Account, deployment: Deployment, make_calls: MakeCalls
) -> None:
    [call_id] = make_calls(deployment)
    force(store, call_id, status="dialing", attempts=1)
    cancelled = store.cancel_call(account, call_id)
    # The dialer hangs up and makes it final; until then it is still being dialed.
    assert cancelled.status is CallStatus.DIALING
    assert cancelled.end_reason == "canceled"
    assert [e.event for e in cancelled.events] == ["queued", "canceled"]
    with store.engine.connect() as conn:
        flag = conn.execute(select(calls.c.cancel_requested).where(calls.c.call_id == call_id))
        assert flag.scalar_one() is True
    again = store.cancel_call(account, call_id)
    assert [e.event for e in again.events] == ["queued", "canceled"]


def test_cancelling_a_connected_call_does_not_record_a_cancellation_that_did_nothing(
    store: Store, account: Account, deployment: Deployment, make_calls: MakeCalls
) -> None:
    [call_id] = make_calls(deployment)
    force(store, call_id, status="connected", attempts=1)
    try:
        cancelled = store.cancel_call(account, call_id)
    except Conflict:
        # Refusing is one honest answer: nothing changed, nothing recorded.
        assert events_of(store, account, call_id) == ["queued"]
    else:
        # Accepting is the other: then the call must actually be marked for hang-up.
        assert "canceled" in [e.event for e in cancelled.events]
        assert cancelled.end_reason == "canceled"


@contextmanager
def dialer_claims_before_cancel_updates(
    store: Store, database_url: str, call_id: str
) -> Iterator[list[str]]:
    """Have a second connection start dialing ``call_id`` just before the cancel's first UPDATE.

    This is the dialer's claim (queued -> dialing) arriving between the Store reading a call
    and changing it. The claim gives up after a short lock wait: where the cancel holds the
    row (or, on SQLite, the write lock) the claim must wait, and the cancel wins cleanly.
    The yielded list says what the claim did: "claimed" or "blocked".
    """
    outcome: list[str] = []
    if database_url.startswith("sqlite"):
        other = create_engine(database_url, connect_args={"timeout": 0.3})
    else:
        other = create_engine(database_url, connect_args={"options": "-c lock_timeout=300"})

    def claim(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if outcome or not statement.lstrip().upper().startswith("UPDATE CALLS"):
            return
        outcome.append("pending")
        try:
            with other.begin() as conn:
                conn.execute(
                    text(
                        "UPDATE calls SET status = 'dialing', attempts = attempts + 1 "
                        "WHERE call_id = :call_id AND status = 'queued'"
                    ),
                    {"call_id": call_id},
                )
            outcome[0] = "claimed"
        except OperationalError:  # SQLite: database is locked; PostgreSQL: lock timeout
            outcome[0] = "blocked"

    event.listen(store.engine, "before_cursor_execute", claim)
    try:
        yield outcome
    finally:
        event.remove(store.engine, "before_cursor_execute", claim)
        other.dispose()


def test_a_cancel_racing_the_dialer_is_never_lost(
    store: Store,
    database_url: str,
    account: Account,
    deployment: Deployment,
    make_calls: MakeCalls,
) -> None:
    [call_id] = make_calls(deployment)
    with dialer_claims_before_cancel_updates(store, database_url, call_id) as outcome:
        store.cancel_call(account, call_id)
    assert outcome in (["claimed"], ["blocked"])
    call = store.get_call(account, call_id)
    # Either the cancel came first (the call is final) or the dialer did (the call is marked
    # for hang-up). A call being dialed with a "canceled" event and no hang-up request would
    # be a cancellation the user was told about and the dialer never sees.
    assert call.end_reason == "canceled"
    assert (call.status in FINAL_STATUSES) == (outcome == ["blocked"])
    assert [e.event for e in call.events].count("canceled") == 1


# --- cancelling a deployment --------------------------------------------------------------------


def test_cancelling_a_deployment_ends_its_pending_calls_only(
    store: Store,
    clock: Any,
    account: Account,
    deployment: Deployment,
    make_deployment: MakeDeployment,
    make_calls: MakeCalls,
) -> None:
    queued = make_calls(deployment, NUMBERS)
    dialing, completed = make_calls(deployment, ["+16175550200", "+16175550201"])
    force(store, dialing, status="dialing", attempts=1)
    force(store, completed, status="completed", attempts=1, callee_type="voice")
    other_deployment = make_deployment(account)
    untouched = make_calls(other_deployment, NUMBERS)
    clock.advance(10)

    assert store.cancel_deployment(deployment) == 4

    for call_id in queued:
        call = store.get_call(account, call_id)
        assert (call.status, call.callee_type, call.end_reason) == (
            CallStatus.UNCALLED,
            CalleeType.NOATTEMPT,
            "canceled",
        )
        assert call.details()["events"] == [
            {"event": "queued", "timestamp": 1_800_000_000},
            {"event": "canceled", "timestamp": 1_800_000_010},
        ]
    being_dialed = store.get_call(account, dialing)
    assert (being_dialed.status, being_dialed.end_reason) == (CallStatus.DIALING, "canceled")
    assert events_of(store, account, completed) == ["queued"]
    assert store.get_call(account, completed).status is CallStatus.COMPLETED
    for call_id in untouched:
        assert store.get_call(account, call_id).status is CallStatus.QUEUED
        assert events_of(store, account, call_id) == ["queued"]
    assert listed(store, deployment, group="pending") == ([dialing], 1)


def test_cancelling_a_deployment_twice_affects_nothing_the_second_time(
    store: Store, account: Account, deployment: Deployment, make_calls: MakeCalls
) -> None:
    [call_id] = make_calls(deployment)
    assert store.cancel_deployment(deployment) == 1
    assert store.cancel_deployment(deployment) == 0
    assert events_of(store, account, call_id) == ["queued", "canceled"]
    assert count(store, call_events) == 1


def test_cancelling_an_empty_deployment(store: Store, deployment: Deployment) -> None:
    assert store.cancel_deployment(deployment) == 0


def test_cancelling_a_deployment_with_failed_attempts(
    store: Store, account: Account, deployment: Deployment, make_calls: MakeCalls
) -> None:
    fresh, retrying = make_calls(deployment, NUMBERS[:2])
    force(store, retrying, attempts=1, callee_type="noanswer")
    assert store.cancel_deployment(deployment, reason="campaign stopped") == 2
    assert store.get_call(account, fresh).status is CallStatus.UNCALLED
    failed = store.get_call(account, retrying)
    assert (failed.status, failed.callee_type, failed.end_reason) == (
        CallStatus.FAILED,
        CalleeType.NOANSWER,
        "campaign stopped",
    )


def test_a_deployment_cancel_racing_the_dialer_loses_no_call(
    store: Store,
    database_url: str,
    account: Account,
    deployment: Deployment,
    make_calls: MakeCalls,
) -> None:
    ids = make_calls(deployment, NUMBERS)
    with dialer_claims_before_cancel_updates(store, database_url, ids[0]) as outcome:
        store.cancel_deployment(deployment)
    assert outcome in (["claimed"], ["blocked"])
    for call_id in ids:
        call = store.get_call(account, call_id)
        assert call.status in FINAL_STATUSES or call.end_reason == "canceled", call
        assert [e.event for e in call.events].count("canceled") == 1


# --- concurrency --------------------------------------------------------------------------------

THREADS = 6
SINGLES_PER_THREAD = 5
BATCH_ROWS = 40


def test_calls_queued_at_once_from_many_threads_are_each_stored_once(
    store: Store, clock: Any, account: Account, deployment: Deployment
) -> None:
    start = threading.Barrier(THREADS)
    queued: list[list[str]] = [[] for _ in range(THREADS)]
    batch_ids: list[str] = []
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            start.wait(timeout=10)
            for n in range(SINGLES_PER_THREAD):
                call = new_call(f"+1617555{index:02d}{n:02d}")
                store.queue_calls(deployment, Schedule(start_at=clock.now), [call])
                queued[index].append(call.call_id)
            rows = [new_call(f"+1857555{index:02d}{n:02d}", row=n) for n in range(BATCH_ROWS)]
            report = store.queue_calls(
                deployment, Schedule(start_at=clock.now), rows, source="json"
            )
            assert report is not None
            batch_ids.append(report.batch_id)
            queued[index].extend(c.call_id for c in rows)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []

    expected = {call_id for ids in queued for call_id in ids}
    assert len(expected) == THREADS * (SINGLES_PER_THREAD + BATCH_ROWS)
    found, total = store.list_calls(deployment, CallQuery(per_page=1000))
    assert total == len(expected)
    assert sorted(c.call_id for c in found) == sorted(expected)
    for batch_id in batch_ids:
        report = store.batch_report(account, batch_id)
        assert report.accepted == len(report.call_ids) == BATCH_ROWS


def test_one_email_registered_at_once_from_many_threads_makes_one_account(store: Store) -> None:
    start = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def register() -> None:
        start.wait(timeout=10)
        try:
            store.create_account("ada@example.com")
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=register) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["created"]
    assert count(store, accounts) == 1


def test_a_new_sqlite_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new" / "outdial.db"
    with closing(Store.open(f"sqlite:///{path}")) as store:
        store.create_account("mode@example.com")
        for made in path.parent.iterdir():  # the database, and its -wal and -shm if any
            assert made.stat().st_mode & 0o777 == 0o600, made
