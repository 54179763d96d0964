"""The connection handling every part of the Store shares."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, select

from outdial.accounts import Account
from outdial.secretbox import SecretBox
from outdial.store import db

Clock = Callable[[], float]


class StoreBase:
    def __init__(
        self, engine: Engine, clock: Clock = time.time, box: SecretBox | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock
        # Seals webhook secrets and trunk settings (passwords) in the database. None: kept as
        # they are (tests that build a Store by hand); the CLI and the app always give one.
        self.box = box

    def _seal(self, text: str) -> str:
        return self.box.seal(text) if self.box is not None else text

    def _unseal(self, stored: str) -> str:
        return self.box.open(stored) if self.box is not None else stored

    def _account(self, row: Any) -> Account:
        """An ``accounts`` row (id, email, webhook_secret) as the Account it is."""
        return Account(row.id, row.email, self._unseal(row.webhook_secret))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction that will write (SQLite: BEGIN IMMEDIATE, so writers queue up)."""
        with (
            self.engine.connect().execution_options(**{db.WRITE_OPTION: True}) as conn,
            conn.begin(),
        ):
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self._read() as conn:
            conn.execute(select(1)).scalar_one()
