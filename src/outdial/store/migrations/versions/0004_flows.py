"""call flows: an application's flow versions and audio prompts, a deployment's flow URL, what
each attempt ran and recorded

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "flow_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_flow_versions_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_versions")),
    )
    op.create_index(
        "ux_flow_versions_app_version", "flow_versions", ["application_id", "version"], unique=True
    )
    op.create_table(
        "app_audio",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_app_audio_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_audio")),
    )
    op.create_index("ux_app_audio_app_name", "app_audio", ["application_id", "name"], unique=True)
    op.create_table(
        "recordings",
        sa.Column("id", BigId, nullable=False),
        sa.Column("recording_id", sa.String(length=36), nullable=False),
        sa.Column("call_pk", BigId, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_pk"], ["calls.id"], name=op.f("fk_recordings_call_pk_calls")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("recording_id", name=op.f("uq_recordings_recording_id")),
    )
    op.create_index("ix_recordings_call", "recordings", ["call_pk", "id"])
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("flow_url", sa.String(length=2048), nullable=True))
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("flow_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("flow_trace", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("flow_trace")
        batch.drop_column("flow_version")
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("flow_url")
    op.drop_index("ix_recordings_call", table_name="recordings")
    op.drop_table("recordings")
    op.drop_index("ux_app_audio_app_name", table_name="app_audio")
    op.drop_table("app_audio")
    op.drop_index("ux_flow_versions_app_version", table_name="flow_versions")
    op.drop_table("flow_versions")
