"""Engines and migrations.

SQLite runs in WAL mode with ``synchronous=NORMAL``: a committed transaction
survives the process being killed (the WAL is in the OS page cache), which is
the durability outdial promises; a power cut may lose the last commits.
Writes take the lock up front with ``BEGIN IMMEDIATE`` so two writers never
deadlock upgrading a read lock (STYLE.md habit 3).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT = 30_000  # milliseconds a writer waits for the lock
WRITE_OPTION = "outdial_write"  # execution option: this transaction will write


def make_engine(database_url: str) -> Engine:
    """An engine for ``database_url``; SQLite files get their directory, WAL and pragmas."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            path = Path(url.database)
            path.parent.mkdir(parents=True, exist_ok=True)
            # Created readable by its owner only: it holds every tenant's calls and secrets.
            # SQLite gives its -wal and -shm files the same mode.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("", "psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN, not pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    # configparser reads '%' as interpolation; URL-escaped passwords are full of them.
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    return config


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine) -> None:
    """Bring the database to the latest schema."""
    config = _alembic_config(engine)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()


class SchemaOutdated(RuntimeError):
    """The database schema is older than this outdial: run `outdial migrate`."""


def ensure_schema(engine: Engine) -> None:
    """Migrate an empty database; refuse to run on an outdated one."""
    current = current_revision(engine)
    if current is None:
        log.info("empty database: creating the schema")
        migrate(engine)
    elif current != head_revision(engine):
        known = {
            rev.revision
            for rev in ScriptDirectory.from_config(_alembic_config(engine)).walk_revisions()
        }
        if current not in known:
            raise SchemaOutdated(
                f"the database is at schema {current}, which this outdial does not know: "
                "it was migrated by a newer outdial; run that version"
            )
        raise SchemaOutdated(
            f"the database is at schema {current}, this outdial needs {head_revision(engine)}: "
            "run `outdial migrate`"
        )
