"""Sealing every stored secret with the box's first key: at start-up (secrets stored in clear
before encryption, or under a key since rotated) and by ``outdial secrets rotate``."""

from __future__ import annotations

from sqlalchemy import select, update

from outdial.store.base import StoreBase
from outdial.store.tables import accounts, trunks


class SealingStore(StoreBase):
    def seal_secrets(self) -> int:
        """Seal what is not sealed with the current key; how many values changed."""
        box = self.box
        if box is None:
            return 0
        changed = 0
        with self._write() as conn:
            for table, column in ((accounts, accounts.c.webhook_secret), (trunks, trunks.c.config)):
                for row_id, stored in conn.execute(select(table.c.id, column)).all():
                    if box.needs_sealing(stored):
                        conn.execute(
                            update(table)
                            .where(table.c.id == row_id)
                            .values({column.name: box.seal(box.open(stored))})
                        )
                        changed += 1
        return changed


__all__ = ["SealingStore"]
