"""detection: each attempt's decision, each deployment's switch and parameters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("detect_cause", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("decided_ms", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("beep_end_ms", sa.Integer(), nullable=True))
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(
            sa.Column("detection", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("detection_params", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("detection_params")
        batch.drop_column("detection")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("beep_end_ms")
        batch.drop_column("decided_ms")
        batch.drop_column("detect_cause")
