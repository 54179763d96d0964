"""The Store: every read and write of outdial's data goes through its methods.

API, CLI, UI and dialer call these; none of them builds a query of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from outdial.secretbox import SecretBox
from outdial.store import db, notify
from outdial.store.base import Clock, StoreBase
from outdial.store.dispatchstore import Claim, DispatchStore, Held
from outdial.store.flowstore import FlowStore, FlowVersion
from outdial.store.newcalls import (
    BatchReport,
    CallQuery,
    CallRow,
    NewCall,
    Reject,
    new_call_id,
    new_call_ids,
)
from outdial.store.reportstore import ReportStore
from outdial.store.sealing import SealingStore
from outdial.store.sessions import SessionStore
from outdial.store.tenants import TenantStore
from outdial.store.webhookstore import (
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    DeliveryView,
    WebhookStore,
)

__all__ = [
    "BatchReport",
    "CallQuery",
    "CallRow",
    "Claim",
    "Clock",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryState",
    "DeliveryView",
    "FlowStore",
    "FlowVersion",
    "Held",
    "NewCall",
    "Reject",
    "Store",
    "StoreBase",
    "WebhookStore",
    "new_call_id",
    "new_call_ids",
]


class Store(
    TenantStore, SessionStore, SealingStore, DispatchStore, WebhookStore, ReportStore, FlowStore
):
    @classmethod
    def open(
        cls, database_url: str, clock: Clock = time.time, box: SecretBox | None = None
    ) -> Store:
        """Connect, and create the schema if the database is empty. With ``box``, secrets
        stored in clear or under an older key are sealed with its first key."""
        engine = db.make_engine(database_url)
        db.ensure_schema(engine)
        store = cls(engine, clock, box)
        if box is not None:
            store.seal_secrets()
        return store

    async def listen_for_queued(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` whenever another process queues calls (PostgreSQL LISTEN), until
        cancelled; returns at once on SQLite, where one process does everything."""
        await notify.listen_for_queued(self.engine, wake)
