"""``outdial trunk create --kind sip``: the settings land in the trunk's config, bad ones are
refused with an error naming the flag, and the stored trunk builds a SIP carrier."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from outdial.cli import main
from outdial.secretbox import SecretBox
from outdial.store import db
from outdial.store.store import Store
from outdial.telephony.sip.carrier import SipCarrier
from outdial.telephony.trunk import build_carrier


@pytest.fixture
def database(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "outdial.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def _create(database: str, *flags: str, env: dict[str, str] | None = None) -> int:
    argv = ["trunk", "create", "--database-url", database, "--name", "carrier", *flags]
    return main(argv, env or {})


def test_sip_trunk_settings_are_stored_and_build_a_sip_carrier(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _create(
        database, "--kind", "sip", "--uri", "sip:trunk.example.com:5080", "--username", "acme",
        "--from-domain", "acme.example.com", "--rtp-ports", "30000-30100", "--lines", "20",
        env={"OUTDIAL_PASSWORD": "s3cret"},
    )  # fmt: skip
    assert code == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "sip"
    # The password is sealed with the key file the CLI made beside the database.
    key_file = Path(database.removeprefix("sqlite:///")).parent / "secret.key"
    store = Store(db.make_engine(database), box=SecretBox.from_file(key_file, create=False))
    try:
        trunk = store.trunk_by_name("carrier")
        with store.engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT config FROM trunks").scalar_one()
    finally:
        store.close()
    assert "s3cret" not in stored
    assert trunk is not None and trunk.lines == 20
    assert json.loads(trunk.config) == {
        "uri": "sip:trunk.example.com:5080",
        "transport": "udp",
        "username": "acme",
        "password": "s3cret",
        "from_domain": "acme.example.com",
        "rtp_ports": [30000, 30100],
    }
    carrier = build_carrier(trunk)
    assert isinstance(carrier, SipCarrier)
    assert carrier.config.uri.host_port == ("trunk.example.com", 5080)


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["--kind", "sip"], "uri: is required (sip:HOST[:PORT])"),
        (["--kind", "sip", "--uri", "sip:h", "--transport", "tls"],
         "transport: 'tls' is not supported (supported: udp, tcp)"),
        (["--kind", "sip", "--uri", "sip:h", "--username", "u"],
         "password: give both username and password, or neither"),
        (["--kind", "sip", "--uri", "sip:h", "--rtp-ports", "30000"],
         "rtp_ports: '30000' is not LOW-HIGH"),
        (["--kind", "simulated", "--uri", "sip:h"],
         "uri: --uri is for sip trunks, not simulated ones"),
    ],
)  # fmt: skip
def test_bad_sip_trunks_are_refused(
    database: str, capsys: pytest.CaptureFixture[str], flags: list[str], error: str
) -> None:
    assert _create(database, *flags) == 1
    assert json.loads(capsys.readouterr().err) == {"error": error}
