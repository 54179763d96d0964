"""Flows in the store, on SQLite and PostgreSQL: versions, flow URLs, results, traces and
recordings of answered attempts."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from outdial.accounts import Account, Deployment
from outdial.calls import CalleeType
from outdial.errors import Conflict, InvalidField, NotFound
from outdial.options import Schedule
from outdial.policy import AttemptResult
from outdial.store.newcalls import NewCall, new_call_ids
from outdial.store.store import Claim, Store
from outdial.trunks import TrunkKind

FLOW = "flow: 1\nstart: bye\nsteps:\n  bye: {type: hangup}\n"
MakeAccount = Callable[..., tuple[Account, str]]


def answered_claim(store: Store, account: Account) -> tuple[Deployment, Claim]:
    trunk = store.create_trunk(
        f"sim-{account.id}", TrunkKind.SIMULATED, lines=10, cps=100.0, config='{"rules": []}'
    )
    app = store.create_application(account.email, "reminders")
    deployment = store.create_deployment(app.id, trunk_id=trunk.id)
    [call_id] = new_call_ids(1)
    params = json.dumps({"first_name": "Ada"})
    store.queue_calls(
        deployment,
        Schedule(start_at=store.clock()),
        [NewCall(call_id, "+16175550101", None, None, None, params, None)],
    )
    [claim] = store.claim("w", lease=30.0, limit=1, hours=lambda *_: ([], {}))
    assert store.record_answer(claim, "w")
    return deployment, claim


def test_each_save_is_a_new_version_and_the_newest_is_current(
    store: Store, make_account: MakeAccount
) -> None:
    account, _ = make_account()
    app = store.create_application(account.email, "reminders")
    assert store.current_flow(app.id) is None
    first = store.save_flow(app.id, FLOW, "yaml", account.email)
    second = store.save_flow(app.id, '{"flow": 1}', "json", "cli")
    assert (first.version, second.version) == (1, 2)
    current = store.current_flow(app.id)
    assert current is not None
    assert (current.version, current.format, current.author) == (2, "json", "cli")
    assert [v.version for v in store.flow_versions(app.id)] == [2, 1]
    assert store.flow_version(app.id, 1).source == FLOW
    with pytest.raises(NotFound, match="no flow version 3"):
        store.flow_version(app.id, 3)


def test_flows_of_missing_deleted_or_foreign_applications_are_refused(
    store: Store, make_account: MakeAccount
) -> None:
    owner, _ = make_account()
    stranger, _ = make_account()
    app = store.create_application(owner.email, "reminders")
    assert store.application_of(owner, app.id).name == "reminders"
    with pytest.raises(NotFound, match=f"^application {app.id} not found$"):
        store.application_of(stranger, app.id)
    with pytest.raises(NotFound):
        store.application_of(owner, app.id + 1000)
    with pytest.raises(InvalidField, match="format"):
        store.save_flow(app.id, FLOW, "xml", owner.email)
    store.delete_application(app.id)
    with pytest.raises(Conflict):
        store.save_flow(app.id, FLOW, "yaml", owner.email)
    with pytest.raises(Conflict):
        store.application_of(owner, app.id)
    assert store.applications_of(owner) == []


def test_a_claim_carries_what_the_flow_needs(store: Store, make_account: MakeAccount) -> None:
    account, _ = make_account()
    deployment, claim = answered_claim(store, account)
    store.set_flow_url(deployment.id, "https://flows.example.com/next")
    assert claim.application_id == deployment.application_id
    assert json.loads(claim.call_parameters) == {"first_name": "Ada"}
    assert claim.flow_url is None  # set after this claim
    assert store.deployments_of(account)[0].flow_url == "https://flows.example.com/next"
    with pytest.raises(InvalidField, match="flow_url"):
        store.set_flow_url(deployment.id, "https://x.example/" + "a" * 2048)


def test_results_merge_as_they_are_set_and_survive_the_end_of_the_call(
    store: Store, make_account: MakeAccount
) -> None:
    account, _ = make_account()
    _, claim = answered_claim(store, account)
    assert store.merge_results(claim.call_pk, {"confirmed": "yes"}) == {"confirmed": "yes"}
    store.merge_results(claim.call_pk, {"callback": "617", "confirmed": "no"})
    trace = [{"step": "ask", "type": "menu", "start_ms": 10, "end_ms": 4100, "outcome": "key 2"}]
    store.record_flow_trace(claim.call_pk, claim.attempt, 4, trace)
    store.finish_attempt(claim, "w", AttemptResult(True, CalleeType.VOICE, "callee hung up", 200))
    call = store.get_call(account, claim.call_id)
    assert call.results == {"confirmed": "no", "callback": "617"}
    [attempt] = call.details()["attempt_details"]
    assert attempt["flow"] == {"version": 4, "trace": trace}


def test_recordings_are_kept_and_served_to_the_owner_only(
    store: Store, make_account: MakeAccount
) -> None:
    account, _ = make_account()
    stranger, _ = make_account()
    _, claim = answered_claim(store, account)
    audio = bytes(range(256)) * 40
    recording_id = store.save_recording(claim.call_pk, claim.attempt, "comment", audio, 1.28)
    call = store.get_call(account, claim.call_id)
    assert call.details()["recordings"] == [
        {
            "recording_id": recording_id,
            "attempt": 1,
            "step": "comment",
            "duration_s": 1.28,
            "url": f"/api/outbound/{claim.call_id}/recordings/{recording_id}",
        }
    ]
    recording, stored = store.recording_audio(account, claim.call_id, recording_id)
    assert (recording.step, stored) == ("comment", audio)
    with pytest.raises(NotFound):
        store.recording_audio(stranger, claim.call_id, recording_id)
    with pytest.raises(NotFound):
        store.recording_audio(account, claim.call_id, "no-such-recording")


def test_audio_prompts_are_replaced_by_name(store: Store, make_account: MakeAccount) -> None:
    account, _ = make_account()
    app = store.create_application(account.email, "reminders")
    assert store.save_audio(app.id, "hello.wav", b"\x7f" * 8000) == 1.0
    assert store.save_audio(app.id, "hello.wav", b"\xff" * 4000) == 0.5  # replaced
    assert store.audio_prompt(app.id, "hello.wav") == b"\xff" * 4000
    assert store.audio_prompt(app.id, "missing") is None
    assert store.audio_prompts(app.id) == [("hello.wav", 0.5)]
    with pytest.raises(InvalidField, match="name"):
        store.save_audio(app.id, "../etc/passwd", b"\x7f")
    with pytest.raises(InvalidField, match="audio"):
        store.save_audio(app.id, "empty", b"")
    with pytest.raises(NotFound):
        store.save_audio(app.id + 1000, "hello", b"\x7f")
