"""The demo `make run` starts: what it creates, and what it keeps across restarts."""

from __future__ import annotations

import json
from pathlib import Path

from outdial.cli.demo import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo
from outdial.store.store import Store


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
