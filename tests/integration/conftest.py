"""Fixtures the integration tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from outdial.store import db
from outdial.store.store import Store


@pytest.fixture
def live(database_url: str) -> Iterator[Store]:
    """A Store on the test database (both backends) that reads the real clock: dialers and
    webhook senders pace and back off in real time."""
    store = Store(db.make_engine(database_url))
    try:
        yield store
    finally:
        store.close()
