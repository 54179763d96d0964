"""The ``outdial`` command: help, migrate, JSON output, errors on stderr, OUTDIAL_* variables."""

from __future__ import annotations

import json
import subprocess
from contextlib import closing
from pathlib import Path

import pytest
from acceptance_support import clean_environment, run, run_json

from outdial.secretbox import PREFIX, SecretBox
from outdial.store import db
from outdial.store.store import Store

SUBCOMMANDS = [
    ("migrate",),
    ("serve",),
    ("demo",),
    ("account",),
    ("account", "create"),
    ("account", "reset-key"),
    ("account", "set-password"),
    ("secrets",),
    ("secrets", "rotate"),
    ("app",),
    ("app", "create"),
    ("app", "delete"),
    ("deployment",),
    ("deployment", "create"),
    ("deployment", "delete"),
]


def error_of(done: subprocess.CompletedProcess[str], *mentions: str) -> str:
    """Assert a command failed with status 1 and ``{"error": ...}`` alone on stderr."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    body = json.loads(done.stderr)
    assert set(body) == {"error"}, body
    message: str = body["error"]
    for word in mentions:
        assert word in message, (word, message)
    return message


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_help() -> None:
    done = run("--help")

    assert done.returncode == 0, done.stderr
    for command in ("migrate", "serve", "demo", "account", "app", "deployment"):
        assert command in done.stdout


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=" ".join)
def test_each_subcommand_has_help(words: tuple[str, ...]) -> None:
    done = run(*words, "--help")

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: outdial " + " ".join(words))


def test_every_flag_names_its_environment_variable() -> None:
    done = run("serve", "--help")

    for variable in ("OUTDIAL_DATABASE_URL", "OUTDIAL_PORT", "OUTDIAL_HOST", "OUTDIAL_QUEUE_RATE"):
        assert variable in done.stdout


def test_version() -> None:
    done = run("--version")

    assert done.returncode == 0
    assert done.stdout.startswith("outdial ")


def test_no_command_is_a_usage_error() -> None:
    done = run()

    assert done.returncode == 2
    assert "usage: outdial" in done.stderr


def test_migrate_prints_the_revision(database_url: str) -> None:
    first = run_json("migrate", "--database-url", database_url)
    again = run_json("migrate", "--database-url", database_url)

    engine = db.make_engine(database_url)
    try:
        head = db.head_revision(engine)
        current = db.current_revision(engine)
    finally:
        engine.dispose()
    assert first["revision"] == again["revision"] == head == current
    assert first["database_url"] == database_url


def test_account_create_prints_the_key_once(database_url: str) -> None:
    created = run_json(
        "account", "create", "--database-url", database_url, "--email", "Ops@Example.com"
    )

    assert created["email"] == "ops@example.com"
    assert isinstance(created["account_id"], int)
    assert len(created["developer_key"]) >= 24
    assert len(created["webhook_secret"]) >= 32


def test_a_deployment_without_a_trunk_is_made_with_a_note_and_detection(
    database_url: str,
) -> None:
    url = ("--database-url", database_url)
    run_json("account", "create", *url, "--email", "ops@example.com")
    app = run_json("app", "create", *url, "--account", "ops@example.com", "--name", "Reminders")
    done = run("deployment", "create", *url, "--app", str(app["application_id"]))

    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert (made["trunk"], made["detection"], made["detection_params"]) == (None, True, {})
    assert "queued but not dialed" in done.stderr
    tuned = run_json(
        *("deployment", "create", *url, "--app", str(app["application_id"])),
        *("--no-detection", "--detection-params", '{"dead_air_ms": 4000}'),
    )
    assert (tuned["detection"], tuned["detection_params"]) == (False, {"dead_air_ms": 4000})
    refused = run(
        *("deployment", "create", *url, "--app", str(app["application_id"])),
        *("--detection-params", '{"dead_air": 4000}'),
    )
    assert refused.returncode == 2
    assert "'dead_air' is not a detection parameter" in refused.stderr


def test_set_password_signs_in_with_the_new_one_only(database_url: str) -> None:
    run_json(
        "account",
        "create",
        "--database-url",
        database_url,
        "--email",
        "pw@example.com",
        "--password",
        "the old one",
    )
    short = run(
        "account",
        "set-password",
        "--database-url",
        database_url,
        "--email",
        "pw@example.com",
        "--password",
        "short",
    )
    error_of(short, "password", "at least 8 characters")

    done = run_json(
        "account",
        "set-password",
        "--database-url",
        database_url,
        "--email",
        "pw@example.com",
        "--password",
        "the new one",
    )

    assert done == {"email": "pw@example.com", "password": "changed", "sign_ins": "ended"}
    with closing(Store.open(database_url)) as store:
        assert store.check_password("pw@example.com", "the old one") is None
        assert store.check_password("pw@example.com", "the new one") is not None


def test_a_duplicate_account_is_an_error_on_stderr(database_url: str) -> None:
    run_json("account", "create", "--database-url", database_url, "--email", "ops@example.com")

    done = run("account", "create", "--database-url", database_url, "--email", "OPS@example.com")

    error_of(done, "ops@example.com", "already exists")


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (("account", "create", "--email", "not-an-email"), ("email",)),
        (("account", "reset-key", "--email", "nobody@example.com"), ("nobody@example.com",)),
        (
            ("account", "set-password", "--email", "nobody@example.com", "--password", "12345678"),
            ("nobody@example.com",),
        ),
        (
            ("app", "create", "--account", "nobody@example.com", "--name", "x"),
            ("nobody@example.com",),
        ),
        (("app", "delete", "42"), ("42",)),
        (("deployment", "create", "--app", "42"), ("application 42",)),
        (("deployment", "delete", "42"), ("42",)),
    ],
)
def test_errors_are_json_on_stderr_with_status_1(
    database_url: str, args: tuple[str, ...], mentions: tuple[str, ...]
) -> None:
    done = run(*args[:2], "--database-url", database_url, *args[2:])

    error_of(done, *mentions)


@pytest.mark.parametrize(
    "args",
    [
        ("deployment", "create", "--app", "1", "--caller-id", "call-me"),
        ("deployment", "create", "--app", "1", "--max-lines", "0"),
        ("deployment", "create", "--app", "1", "--cps", "-1"),
        ("deployment", "create", "--app", "one"),
        ("account", "create"),
    ],
)
def test_bad_flags_are_usage_errors(database_url: str, args: tuple[str, ...]) -> None:
    done = run(*args[:2], "--database-url", database_url, *args[2:])

    assert done.returncode == 2
    assert "usage:" in done.stderr


def test_the_database_url_comes_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "from-env" / "outdial.db"
    env = clean_environment(OUTDIAL_DATABASE_URL=f"sqlite:///{path}")

    migrated = run_json("migrate", env=env)
    created = run_json("account", "create", "--email", "env@example.com", env=env)
    duplicate = run("account", "create", "--email", "env@example.com", env=env)

    assert migrated["database_url"] == f"sqlite:///{path}"
    assert path.exists()
    assert created["email"] == "env@example.com"
    error_of(duplicate, "already exists")  # the same database both times
    assert not (tmp_path / "var").exists()


def test_a_flag_beats_the_environment(tmp_path: Path) -> None:
    env = clean_environment(OUTDIAL_DATABASE_URL=f"sqlite:///{tmp_path / 'env.db'}")

    run_json("migrate", "--database-url", f"sqlite:///{tmp_path / 'flag.db'}", env=env)

    assert (tmp_path / "flag.db").exists()
    assert not (tmp_path / "env.db").exists()


def test_required_flags_may_come_from_the_environment(tmp_path: Path) -> None:
    env = clean_environment(
        OUTDIAL_DATABASE_URL=f"sqlite:///{tmp_path / 'outdial.db'}", OUTDIAL_EMAIL="var@example.com"
    )

    created = run_json("account", "create", env=env)

    assert created["email"] == "var@example.com"


def test_the_default_database_is_under_the_working_directory(tmp_path: Path) -> None:
    done = run("migrate", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "var" / "outdial.db").exists()


def test_secrets_are_sealed_with_a_key_file_made_on_first_use_and_rotated(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'db' / 'outdial.db'}"
    created = run_json("account", "create", "--database-url", url, "--email", "key@example.com")
    key_file = tmp_path / "db" / "secret.key"

    assert key_file.stat().st_mode & 0o777 == 0o600
    with closing(Store.open(url)) as store:  # no key: what is stored, as stored
        stored = store.account_by_email("key@example.com")
        assert stored is not None and stored.webhook_secret.startswith(PREFIX)
        assert created["webhook_secret"] not in stored.webhook_secret

    rotated = run_json("secrets", "rotate", "--database-url", url)

    assert (rotated["keys"], rotated["sealed_again"]) == (2, 1)
    assert len(key_file.read_bytes().split()) == 2
    with closing(Store.open(url, box=SecretBox.from_file(key_file, create=False))) as store:
        again = store.account_by_email("key@example.com")
        assert again is not None and again.webhook_secret == created["webhook_secret"]
    wrong = run(
        "account",
        "reset-key",
        "--database-url",
        url,
        "--email",
        "key@example.com",
        "--secret-key-file",
        str(tmp_path / "other.key"),
    )
    error_of(wrong, "does not open with the secret key file")
