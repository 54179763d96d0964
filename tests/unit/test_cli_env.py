"""Every flag of the CLI can also be set as OUTDIAL_<FLAG>, switches included."""

from __future__ import annotations

from outdial.cli import build_parser


def test_values_come_from_the_environment_when_the_flag_is_absent() -> None:
    env = {"OUTDIAL_DATABASE_URL": "sqlite:///x.db", "OUTDIAL_PORT": "9000"}
    args = build_parser(env).parse_args(["serve"])
    assert (args.database_url, args.port) == ("sqlite:///x.db", 9000)
    flagged = build_parser(env).parse_args(["serve", "--port", "9001"])
    assert flagged.port == 9001  # the flag wins


def test_switches_come_from_the_environment() -> None:
    for value, expected in (("true", True), ("1", True), ("yes", True), ("0", False), ("", False)):
        args = build_parser({"OUTDIAL_NO_DIALER": value}).parse_args(["serve"])
        assert args.no_dialer is expected, value
    assert build_parser({}).parse_args(["serve"]).no_dialer is False


def test_required_flags_may_come_from_the_environment() -> None:
    args = build_parser({"OUTDIAL_EMAIL": "ops@example.com"}).parse_args(["account", "create"])
    assert args.email == "ops@example.com"
