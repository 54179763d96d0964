"""Webhook secrets and trunk settings are sealed in the database, on both backends."""

from __future__ import annotations

import json
from contextlib import closing

from sqlalchemy import select

from outdial.secretbox import PREFIX, SecretBox
from outdial.store import db
from outdial.store.store import Store
from outdial.store.tables import accounts, trunks
from outdial.trunks import TrunkKind

SIP_CONFIG = json.dumps({"uri": "sip:pbx.example.com", "username": "acme", "password": "s3cret!"})


def raw(store: Store) -> tuple[str, str]:
    with store.engine.connect() as conn:
        secret = conn.execute(select(accounts.c.webhook_secret)).scalar_one()
        config = conn.execute(select(trunks.c.config)).scalar_one()
    return str(secret), str(config)


def test_secrets_are_sealed_at_rest_and_read_in_clear(database_url: str) -> None:
    box = SecretBox.generate()
    with closing(Store(db.make_engine(database_url), box=box)) as store:
        account, key = store.create_account("sealed@example.com")
        trunk = store.create_trunk("pbx", TrunkKind.SIP, lines=2, cps=1.0, config=SIP_CONFIG)

        secret, config = raw(store)
        assert secret.startswith(PREFIX) and account.webhook_secret not in secret
        assert config.startswith(PREFIX) and "s3cret!" not in config
        authenticated = store.authenticate("sealed@example.com", key)
        assert authenticated is not None
        assert authenticated.webhook_secret == account.webhook_secret
        assert store.all_trunks()[0].config == SIP_CONFIG == trunk.config
        assert store.trunk_by_name("pbx") == trunk


def test_secrets_kept_in_clear_are_sealed_on_open_and_again_after_rotation(
    database_url: str,
) -> None:
    with closing(Store(db.make_engine(database_url))) as before:  # no key: as before 0007
        account, _ = before.create_account("old@example.com")
        before.create_trunk("pbx", TrunkKind.SIP, lines=2, cps=1.0, config=SIP_CONFIG)
        assert raw(before) == (account.webhook_secret, SIP_CONFIG)

    old = SecretBox.generate()
    with closing(Store.open(database_url, box=old)) as store:
        sealed_once = raw(store)
        assert all(v.startswith(PREFIX) for v in sealed_once)
        assert store.account_by_email("old@example.com") == account

    new = old.with_new_key()
    with closing(Store.open(database_url, box=new)) as store:
        sealed_twice = raw(store)
        assert sealed_twice != sealed_once
        assert not any(new.needs_sealing(v) for v in sealed_twice)
        assert store.account_by_email("old@example.com") == account
        assert store.seal_secrets() == 0  # nothing left to seal
