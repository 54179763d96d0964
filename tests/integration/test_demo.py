"""The demo `make run` starts: what it creates, and what it keeps across restarts."""

from __future__ import annotations

import json
import time
from pathlib import Path

from simdial_support import all_final, run_dialers

from outdial.calls import CalleeType, CallStatus
from outdial.cli.demo import (
    DEMO_EMAIL,
    DEMO_PARAMETERS,
    DEMO_PASSWORD,
    DEMO_PHONE_NUMBER,
    DEMO_SPOKEN_NUMBER,
    ensure_demo,
)
from outdial.options import Schedule
from outdial.store.store import NewCall, Store, new_call_ids


def test_the_demo_keeps_its_key_and_sessions_across_restarts(tmp_path: Path) -> None:
    credentials = tmp_path / "demo-credentials.json"
    store = Store.open(f"sqlite:///{tmp_path / 'outdial.db'}")
    try:
        first = ensure_demo(store, credentials)
        again = ensure_demo(store, credentials)  # `make run` a second time
        assert store.check_password(DEMO_EMAIL, DEMO_PASSWORD) is not None
        account = store.authenticate(DEMO_EMAIL, first["developer_key"])
        assert account is not None
        deployment = store.deployments_of(account)[0]
    finally:
        store.close()
    assert again == first  # same key, IDs and UI session secret: nobody is signed out
    assert len(first["session_secret"]) == 64
    assert json.loads(credentials.read_text()) == first
    assert credentials.stat().st_mode & 0o077 == 0  # only the owner reads the secrets
    assert deployment.trunk_id is not None and deployment.detection


def test_the_demo_call_of_the_banner_confirms_the_appointment(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'outdial.db'}")
    try:
        demo = ensure_demo(store, tmp_path / "demo-credentials.json")
        ensure_demo(store, tmp_path / "demo-credentials.json")  # a restart saves no new version
        account = store.authenticate(DEMO_EMAIL, demo["developer_key"])
        assert account is not None
        [deployment] = store.deployments_of(account)
        assert [v.version for v in store.flow_versions(deployment.application_id)] == [1]
        ids = new_call_ids(2)
        params = json.dumps(DEMO_PARAMETERS)
        rows = [
            NewCall(call_id, number, None, None, None, params, None)
            for call_id, number in zip(ids, [DEMO_PHONE_NUMBER, DEMO_SPOKEN_NUMBER], strict=True)
        ]
        store.queue_calls(deployment, Schedule(start_at=time.time()), rows)
        run_dialers(store, all_final(store, account, ids), timeout=60.0)
        pressed, spoken = (store.get_call(account, call_id) for call_id in ids)
    finally:
        store.close()
    for call in (pressed, spoken):
        assert (call.status, call.callee_type) == (CallStatus.COMPLETED, CalleeType.VOICE)
        assert call.results == {"confirmed": "yes"}
    outcomes = {
        call.phone_number: next(
            entry["outcome"]
            for entry in call.details()["attempt_details"][0]["flow"]["trace"]
            if entry["step"] == "ask"
        )
        for call in (pressed, spoken)
    }
    assert outcomes == {DEMO_PHONE_NUMBER: "key 1", DEMO_SPOKEN_NUMBER: "said 'yes': key 1"}
