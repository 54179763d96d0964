"""Alembic environment: runs on the connection outdial hands it (see store.db.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from outdial.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    # Plain `alembic` command line (autogenerate during development).
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        conn.commit()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
