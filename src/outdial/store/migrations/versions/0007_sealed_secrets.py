"""sealed secrets: webhook secrets stored encrypted (enc:v1:<Fernet token>) need more than 64
characters

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite does not enforce a VARCHAR's length, and rebuilding accounts would break the
    # tables that reference it: nothing to do there.
    if op.get_bind().dialect.name == "sqlite":
        return
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column(
            "webhook_secret", existing_type=sa.String(length=64), type_=sa.Text(), nullable=False
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column(
            "webhook_secret", existing_type=sa.Text(), type_=sa.String(length=64), nullable=False
        )
