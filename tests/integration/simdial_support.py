"""Helpers for tests that run real dialers on the simulated carrier against a test database."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from outdial.accounts import Account, Deployment
from outdial.calls import CallStatus
from outdial.dispatch.dialer import Dialer, DialerSettings
from outdial.options import Schedule
from outdial.store.store import NewCall, Store, new_call_ids
from outdial.trunks import TrunkKind

FINAL = {CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.UNCALLED}


def make_trunk(store: Store, name: str, rules: list[dict[str, Any]], **limits: Any) -> int:
    trunk = store.create_trunk(
        name,
        TrunkKind.SIMULATED,
        lines=limits.get("lines", 50),
        cps=limits.get("cps", 1000.0),
        config=json.dumps({"seed": 7, "rules": rules}),
    )
    return trunk.id


def make_dep(store: Store, account: Account, trunk_id: int, **options: Any) -> Deployment:
    app = store.create_application(account.email, options.pop("app_name", "dialer test"))
    return store.create_deployment(app.id, trunk_id=trunk_id, **options)


def queue(
    store: Store,
    dep: Deployment,
    numbers: list[str],
    schedule: Schedule | None = None,
) -> list[str]:
    ids = new_call_ids(len(numbers))
    rows = [NewCall(i, n, None, None, None, "{}", None) for i, n in zip(ids, numbers, strict=True)]
    store.queue_calls(dep, schedule or Schedule(start_at=time.time()), rows)
    return ids


def run_dialers(
    store: Store,
    done: Callable[[], bool],
    *,
    count: int = 1,
    timeout: float = 30.0,
    log: Path | None = None,
    lease: float = 5.0,
) -> list[Dialer]:
    """Run ``count`` dialers until ``done()`` or the timeout; then stop them gracefully."""

    async def main() -> list[Dialer]:
        dialers = [
            Dialer(store, DialerSettings(lease=lease, poll=0.05, dial_log=log), worker_id=f"w{i}")
            for i in range(count)
        ]
        tasks = [asyncio.create_task(d.run()) for d in dialers]
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(done):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        for d in dialers:
            d.stop()
        await asyncio.gather(*tasks)
        return dialers

    return asyncio.run(main())


def all_final(store: Store, account: Account, ids: list[str]) -> Callable[[], bool]:
    return lambda: all(store.get_call(account, i).status in FINAL for i in ids)
