"""Progress of many calls in one transaction, and the group-commit writer, on both databases.

``apply_progress`` must give each operation the result it would have had alone, keep every
call's events in order with the times the dialer saw them, and let one bad operation fail
alone. ``GroupCommit`` must answer each caller only with what was committed, in fewer
transactions than operations when calls report at once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from outdial.accounts import Account, Deployment
from outdial.calls import CalleeType, CallStatus, IllegalTransition
from outdial.options import Schedule
from outdial.policy import AttemptResult, Decision
from outdial.store import db
from outdial.store.groupcommit import GroupCommit, GroupCommitClosed
from outdial.store.progress import (
    AnswerOp,
    ClaimRef,
    DetectedOp,
    FinishOp,
    Outcome,
    ProgressOp,
    RingingOp,
)
from outdial.store.store import Claim, NewCall, Store, new_call_ids
from outdial.trunks import TrunkKind

HUNG_UP = AttemptResult(True, CalleeType.VOICE, "callee hung up")
BUSY = AttemptResult(False, CalleeType.BUSY, "486 Busy Here", 486)
T0 = 1_800_000_000.0  # the times the "dialer" saw events: far from the store's clock


@pytest.fixture
def store(live: Store) -> Store:
    return live


@pytest.fixture
def tenant(store: Store) -> Account:
    account, _ = store.create_account("progress@example.com")
    return account


@pytest.fixture
def dep(store: Store, tenant: Account) -> Deployment:
    trunk = store.create_trunk(
        "sim", TrunkKind.SIMULATED, lines=100, cps=1000.0, config=json.dumps({"rules": []})
    )
    app = store.create_application(tenant.email, "progress")
    return store.create_deployment(app.id, trunk_id=trunk.id, max_lines=100, cps=1000.0)


def claim_calls(store: Store, dep: Deployment, count: int, worker: str = "w") -> list[Claim]:
    ids = new_call_ids(count)
    numbers = [f"+1617555{1000 + i:04d}" for i in range(count)]
    rows = [NewCall(i, n, None, None, None, "{}", None) for i, n in zip(ids, numbers, strict=True)]
    store.queue_calls(dep, Schedule(start_at=time.time() - 1), rows)
    claims = store.claim(worker, lease=30.0, limit=count, hours=lambda *_: ([], {}))
    assert len(claims) == count
    return sorted(claims, key=lambda c: c.call_pk)


def ref(claim: Claim) -> ClaimRef:
    return ClaimRef(claim.call_pk, claim.attempt)


def events_of(store: Store, tenant: Account, claim: Claim) -> list[tuple[str, float]]:
    call = store.get_call(tenant, claim.call_id)
    return [(e.event, e.at) for e in call.events if e.event != "queued"]


def test_one_batch_gives_each_operation_its_own_result(
    store: Store, tenant: Account, dep: Deployment
) -> None:
    a, b, c, d = claim_calls(store, dep, 4)
    ops: list[ProgressOp] = [
        RingingOp(ref(a), "w", T0 + 1),
        AnswerOp(ref(a), "w", T0 + 2),
        AnswerOp(ref(b), "other worker", T0 + 2),  # not its lease
        FinishOp(ref(c), "w", BUSY, T0 + 3),
        FinishOp(ref(a), "w", HUNG_UP, T0 + 5),
        RingingOp(ref(d), "other worker", T0 + 1),  # not its lease: nothing recorded
    ]
    outcomes = store.apply_progress(ops)

    assert outcomes[0] is None
    assert outcomes[1] is True
    assert outcomes[2] is False
    assert isinstance(outcomes[3], Decision) and outcomes[3].status is CallStatus.FAILED
    assert isinstance(outcomes[4], Decision) and outcomes[4].status is CallStatus.COMPLETED
    assert outcomes[5] is None

    answered = store.get_call(tenant, a.call_id)
    assert answered.status is CallStatus.COMPLETED
    assert answered.callee_type is CalleeType.VOICE
    assert answered.duration == pytest.approx(3.0)  # answered at T0+2, hung up at T0+5
    # In order, each at the time the dialer saw it, not when the batch was written.
    assert events_of(store, tenant, a) == [
        ("dialing", pytest.approx(answered.events[1].at)),
        ("ringing", T0 + 1),
        ("connected", T0 + 2),
        ("disconnected", T0 + 5),
    ]
    [attempt] = answered.attempt_list
    assert (attempt.callee_type, attempt.cause) == (CalleeType.VOICE, "callee hung up")

    assert store.get_call(tenant, b.call_id).status is CallStatus.DIALING
    busy = store.get_call(tenant, c.call_id)
    assert (busy.status, busy.callee_type) == (CallStatus.FAILED, CalleeType.BUSY)
    assert busy.attempt_list[0].sip_code == 486
    assert [e for e, _ in events_of(store, tenant, d)] == ["dialing"]


def test_detection_is_recorded_on_the_attempt_of_a_connected_call(
    store: Store, tenant: Account, dep: Deployment
) -> None:
    machine, ringing = claim_calls(store, dep, 2)
    voicemail = CalleeType.ANSWERINGMACHINE
    outcomes = store.apply_progress(
        [
            AnswerOp(ref(machine), "w", T0),
            DetectedOp(ref(machine), "w", voicemail, "beep after greeting", 5320, 5320, T0 + 6),
            DetectedOp(ref(ringing), "w", voicemail, "greeting", 900, None, T0),  # not answered
        ]
    )
    assert outcomes == [True, True, False]
    live = store.get_call(tenant, machine.call_id)
    assert live.callee_type is voicemail  # shown while the call is still up
    store.apply_progress(
        [FinishOp(ref(machine), "w", AttemptResult(True, voicemail, "bye"), T0 + 9)]
    )
    details = store.get_call(tenant, machine.call_id).details()
    assert details["callee_type"] == "answeringmachine"
    [attempt] = details["attempt_details"]
    first = {
        "callee_type": "answeringmachine",
        "cause": "beep after greeting",
        "decided_ms": 5320,
        "timestamp": int(T0 + 6),
    }
    assert attempt["detection"] == {
        "cause": "beep after greeting",
        "decided_ms": 5320,
        "beep_end_ms": 5320,
        "first": first,
        "revisions": [],
    }
    assert store.get_call(tenant, ringing.call_id).attempt_list[0].detect_cause is None


VOICE, MACHINE = CalleeType.VOICE, CalleeType.ANSWERINGMACHINE


def test_a_revised_verdict_keeps_the_first_and_becomes_the_callee_type(
    store: Store, tenant: Account, dep: Deployment
) -> None:
    """A person at 1.2 s, then a beep at 5.1 s: the attempt keeps both; the call and the
    attempt are the machine; a later beep update of the same verdict is no revision."""
    [claim] = claim_calls(store, dep, 1)
    store.apply_progress([AnswerOp(ref(claim), "w", T0)])
    store.apply_progress(
        [DetectedOp(ref(claim), "w", VOICE, "short greeting then silence", 1200, None, T0 + 2)]
    )
    assert store.get_call(tenant, claim.call_id).callee_type is VOICE
    store.apply_progress(
        [DetectedOp(ref(claim), "w", MACHINE, "beep after voice verdict", 5100, 5060, T0 + 6)]
    )
    assert store.get_call(tenant, claim.call_id).callee_type is MACHINE  # while still up
    store.apply_progress(  # a second beep moves its end: same verdict, no revision
        [DetectedOp(ref(claim), "w", MACHINE, "beep after voice verdict", 5100, 5900, T0 + 7)]
    )
    store.apply_progress([FinishOp(ref(claim), "w", AttemptResult(True, MACHINE, "bye"), T0 + 9)])

    call = store.get_call(tenant, claim.call_id)
    assert call.callee_type is MACHINE
    [attempt] = call.attempt_list
    assert attempt.callee_type is MACHINE
    assert [(v.callee_type, v.cause, v.decided_ms, v.at) for v in attempt.verdicts] == [
        (VOICE, "short greeting then silence", 1200, T0 + 2),
        (MACHINE, "beep after voice verdict", 5100, T0 + 6),
    ]
    assert call.details()["attempt_details"][0]["detection"] == {
        "cause": "beep after voice verdict",
        "decided_ms": 5100,
        "beep_end_ms": 5900,
        "first": {
            "callee_type": "voice",
            "cause": "short greeting then silence",
            "decided_ms": 1200,
            "timestamp": int(T0 + 2),
        },
        "revisions": [
            {
                "callee_type": "answeringmachine",
                "cause": "beep after voice verdict",
                "decided_ms": 5100,
                "timestamp": int(T0 + 6),
            }
        ],
    }


def test_revisions_in_one_batch_and_per_attempt(
    store: Store, tenant: Account, dep: Deployment
) -> None:
    """Several verdicts of one call in one transaction (group commit) are all kept, in
    order; a revision back is a revision too; another worker's verdict is refused."""
    [claim] = claim_calls(store, dep, 1)
    r = ref(claim)
    outcomes = store.apply_progress(
        [
            AnswerOp(r, "w", T0),
            DetectedOp(r, "w", VOICE, "short greeting then silence", 900, None, T0 + 1),
            DetectedOp(r, "w", MACHINE, "greeting phrase", 3000, None, T0 + 3),
            DetectedOp(r, "w", VOICE, "a person after all", 4000, None, T0 + 4),
            DetectedOp(r, "other", MACHINE, "not this worker's call", 4500, None, T0 + 4),
        ]
    )
    assert outcomes == [True, True, True, True, None]
    [attempt] = store.get_call(tenant, claim.call_id).attempt_list
    assert [(v.callee_type, v.decided_ms) for v in attempt.verdicts] == [
        (VOICE, 900),
        (MACHINE, 3000),
        (VOICE, 4000),
    ]
    assert attempt.first_verdict == attempt.verdicts[0]
    assert attempt.revisions == attempt.verdicts[1:]
    assert (attempt.callee_type, attempt.detect_cause) == (VOICE, "a person after all")


def test_a_bad_operation_fails_alone(store: Store, tenant: Account, dep: Deployment) -> None:
    good, bad = claim_calls(store, dep, 2)
    # An answered result for a call never recorded as connected skips a status: refused.
    outcomes = store.apply_progress(
        [FinishOp(ref(bad), "w", HUNG_UP, T0), FinishOp(ref(good), "w", BUSY, T0)]
    )
    assert isinstance(outcomes[0], IllegalTransition)
    assert isinstance(outcomes[1], Decision)
    assert store.get_call(tenant, bad.call_id).status is CallStatus.DIALING
    assert store.get_call(tenant, good.call_id).status is CallStatus.FAILED


def test_finishing_twice_records_once(store: Store, tenant: Account, dep: Deployment) -> None:
    [call] = claim_calls(store, dep, 1)
    first, second = store.apply_progress(
        [FinishOp(ref(call), "w", BUSY, T0), FinishOp(ref(call), "w", BUSY, T0 + 1)]
    )
    assert isinstance(first, Decision)
    assert second is None  # the call is no longer held after the first
    assert [e for e, _ in events_of(store, tenant, call)] == ["dialing", "disconnected", "failed"]


def run_group(store: Store, ops: Sequence[ProgressOp]) -> tuple[list[Outcome], GroupCommit]:
    """Submit every op from one event loop turn, as many calls reporting at once do."""
    writer = GroupCommit(store)

    async def main() -> list[Outcome]:
        futures = [writer.submit(op) for op in ops]
        return list(await asyncio.gather(*futures, return_exceptions=True))

    try:
        return asyncio.run(main()), writer
    finally:
        writer.close()


def test_group_commit_writes_many_calls_per_transaction(
    store: Store, tenant: Account, dep: Deployment
) -> None:
    claims = claim_calls(store, dep, 60)
    ops: list[ProgressOp] = []
    for claim in claims:
        ops += [RingingOp(ref(claim), "w", T0), AnswerOp(ref(claim), "w", T0 + 1)]
    ops += [FinishOp(ref(claim), "w", HUNG_UP, T0 + 2) for claim in claims]
    outcomes, writer = run_group(store, ops)

    assert outcomes[: 2 * len(claims)] == [None, True] * len(claims)
    assert all(isinstance(o, Decision) for o in outcomes[2 * len(claims) :])
    assert writer.ops == len(ops)
    assert writer.batches < len(ops)  # grouped: one commit served many calls
    for claim in claims:
        call = store.get_call(tenant, claim.call_id)
        assert call.status == CallStatus.COMPLETED
        assert call.duration == pytest.approx(1.0)


def test_group_commit_refuses_work_once_closed(store: Store) -> None:
    writer = GroupCommit(store)
    writer.close()

    async def main() -> None:
        writer.submit(RingingOp(ClaimRef(1, 1), "w", T0))

    with pytest.raises(GroupCommitClosed):
        asyncio.run(main())


class FailingStore(Store):
    """A real store whose batches fail as a database would, while ``failing`` is set."""

    failing: type[Exception] | None = None

    def apply_progress(self, ops: Sequence[ProgressOp]) -> list[Any]:
        if self.failing is IntegrityError and len(ops) > 1:
            raise IntegrityError("INSERT ...", {}, Exception("constraint failed"))
        if self.failing is OperationalError:
            raise OperationalError("BEGIN", {}, Exception("database is locked"))
        return super().apply_progress(ops)


def test_a_batch_that_breaks_a_constraint_is_retried_one_by_one(
    database_url: str, tenant: Account, dep: Deployment
) -> None:
    store = FailingStore(db.make_engine(database_url))
    try:
        claims = claim_calls(store, dep, 5)
        store.failing = IntegrityError
        outcomes, writer = run_group(store, [FinishOp(ref(c), "w", BUSY, T0) for c in claims])
        assert all(isinstance(o, Decision) for o in outcomes)
        assert writer.batches == len(claims)  # each alone after the batch failed
        assert all(store.get_call(tenant, c.call_id).status is CallStatus.FAILED for c in claims)
    finally:
        store.close()


def test_a_database_failure_fails_the_whole_batch(
    database_url: str, tenant: Account, dep: Deployment
) -> None:
    store = FailingStore(db.make_engine(database_url))
    try:
        claims = claim_calls(store, dep, 3)
        store.failing = OperationalError
        outcomes, writer = run_group(store, [FinishOp(ref(c), "w", BUSY, T0) for c in claims])
        assert all(isinstance(o, OperationalError) for o in outcomes)
        assert writer.batches == 0
        # nothing was written: the callers retry later
        assert all(store.get_call(tenant, c.call_id).status is CallStatus.DIALING for c in claims)
    finally:
        store.close()
