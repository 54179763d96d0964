"""Migrations on a real database, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from outdial.store import db
from outdial.store.store import Store
from outdial.store.tables import metadata

MakeDatabase = Callable[..., str]
HEAD = "0007"


@pytest.fixture
def engines() -> Iterator[Callable[[str], Engine]]:
    """``engines(url)``: an engine that is disposed of when the test ends."""
    made: list[Engine] = []

    def make(url: str) -> Engine:
        made.append(db.make_engine(url))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def schema_differences(engine: Engine) -> list[object]:
    """What autogenerate would change to make the database match ``tables.py``."""
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def stamp(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_the_head_revision_is_known(
    make_empty_database: MakeDatabase, engines: Callable[[str], Engine]
) -> None:
    assert db.head_revision(engines(make_empty_database())) == HEAD


def test_migrate_creates_the_schema_at_head(
    make_empty_database: MakeDatabase, engines: Callable[[str], Engine]
) -> None:
    engine = engines(make_empty_database())
    assert db.current_revision(engine) is None
    assert tables(engine) == set()

    db.migrate(engine)

    assert db.current_revision(engine) == HEAD
    assert tables(engine) == set(metadata.tables) | {"alembic_version"}
    assert schema_differences(engine) == []


def test_migrating_twice_is_a_no_op(
    make_empty_database: MakeDatabase, engines: Callable[[str], Engine]
) -> None:
    url = make_empty_database()
    engine = engines(url)
    db.migrate(engine)
    account, key = Store(engine).create_account("ada@example.com")

    db.migrate(engine)

    assert db.current_revision(engine) == HEAD
    assert tables(engine) == set(metadata.tables) | {"alembic_version"}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    assert Store(engines(url)).authenticate("ada@example.com", key) == account


def test_ensure_schema_migrates_an_empty_database(
    make_empty_database: MakeDatabase, engines: Callable[[str], Engine]
) -> None:
    engine = engines(make_empty_database())
    db.ensure_schema(engine)
    assert db.current_revision(engine) == HEAD
    assert schema_differences(engine) == []


def test_ensure_schema_accepts_a_database_at_head(
    make_empty_database: MakeDatabase, engines: Callable[[str], Engine]
) -> None:
    engine = engines(make_empty_database())
    db.migrate(engine)
    db.ensure_schema(engine)
    assert db.current_revision(engine) == HEAD


@pytest.mark.parametrize("revision", ["0000", "9999_from_a_newer_outdial"])
def test_ensure_schema_refuses_a_database_at_another_revision(
    make_empty_database: MakeDatabase, engines: Callable[[str], Engine], revision: str
) -> None:
    engine = engines(make_empty_database())
    db.migrate(engine)
    stamp(engine, revision)
    with pytest.raises(db.SchemaOutdated) as caught:
        db.ensure_schema(engine)
    # Neither revision is one of this outdial's: a newer outdial made them.
    assert str(caught.value) == (
        f"the database is at schema {revision}, which this outdial does not know: "
        "it was migrated by a newer outdial; run that version"
    )
    assert db.current_revision(engine) == revision  # refused, not touched


def test_ensure_schema_asks_for_a_migration_at_an_older_known_revision(
    make_empty_database: MakeDatabase, engines: Callable[[str], Engine]
) -> None:
    engine = engines(make_empty_database())
    db.migrate(engine)
    stamp(engine, "0001")
    with pytest.raises(db.SchemaOutdated) as caught:
        db.ensure_schema(engine)
    assert str(caught.value) == (
        f"the database is at schema 0001, this outdial needs {HEAD}: run `outdial migrate`"
    )


def test_migrating_from_the_first_schema_keeps_queued_calls(
    make_empty_database: MakeDatabase, engines: Callable[[str], Engine]
) -> None:
    from alembic import command

    engine = engines(make_empty_database())
    config = db._alembic_config(engine)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.commit()
    store = Store(engine)
    account, _ = store.create_account("old@example.com")
    app = store.create_application(account.email, "old")
    with engine.begin() as conn:  # a 0001 deployment row: none of the dialer's columns yet
        conn.exec_driver_sql(
            "INSERT INTO deployments (application_id, account_id, name, max_lines, cps, "
            f"retry_on, created_at) VALUES ({app.id}, {account.id}, 'old', 3, 1.0, 'busy', 0)"
        )
    db.migrate(engine)
    assert db.current_revision(engine) == HEAD
    [deployment] = store.deployments_of(account)
    assert (deployment.trunk_id, deployment.ring_timeout, deployment.calling_hours) == (
        None,
        30.0,
        None,
    )


def test_store_open_creates_the_schema(
    make_empty_database: MakeDatabase,
) -> None:
    store = Store.open(make_empty_database())
    try:
        store.ping()
        assert db.current_revision(store.engine) == HEAD
        assert store.create_account("ada@example.com")[0].id == 1
    finally:
        store.close()


def test_migrate_a_database_whose_url_has_a_percent_sign(
    make_empty_database: MakeDatabase, engines: Callable[[str], Engine]
) -> None:
    # A '%' (or a password with '@', ':' or '/', which URLs escape as %40, %3A, %2F) must not
    # stop migrations: the URL is not a configparser template.
    engine = engines(make_empty_database("100%"))
    db.migrate(engine)
    assert db.current_revision(engine) == HEAD
