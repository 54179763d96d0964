"""Secrets sealed with the operator's key: round trips, old rows, wrong keys, rotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from outdial.secretbox import PREFIX, SecretBox, SecretKeyError


def test_a_sealed_secret_opens_and_does_not_show() -> None:
    box = SecretBox.generate()
    sealed = box.seal("whsec-1234")
    assert sealed.startswith(PREFIX) and "whsec-1234" not in sealed
    assert box.open(sealed) == "whsec-1234"
    assert not box.needs_sealing(sealed)


def test_a_secret_stored_before_encryption_opens_as_it_is_and_needs_sealing() -> None:
    box = SecretBox.generate()
    assert box.open("plain-secret") == "plain-secret"
    assert box.needs_sealing("plain-secret")


def test_another_key_does_not_open_it() -> None:
    sealed = SecretBox.generate().seal("whsec-1234")
    with pytest.raises(SecretKeyError, match="does not open with the secret key file"):
        SecretBox.generate().open(sealed)


def test_a_new_key_seals_and_the_old_ones_still_open() -> None:
    old = SecretBox.generate()
    sealed = old.seal("whsec-1234")
    new = old.with_new_key()
    assert new.open(sealed) == "whsec-1234"
    assert new.needs_sealing(sealed)  # sealed with a key that is no longer the first
    assert not new.needs_sealing(new.seal("x"))


def test_the_key_file_is_created_for_its_owner_only_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret.key"
    first = SecretBox.from_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = SecretBox.from_file(path)
    assert again.open(first.seal("s")) == "s"


def test_a_broken_key_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_text("not a key\n")
    with pytest.raises(SecretKeyError, match=r"secret\.key: not a Fernet key"):
        SecretBox.from_file(path)
    with pytest.raises(SecretKeyError, match="cannot read"):
        SecretBox.from_file(tmp_path / "missing.key", create=False)


def test_processes_starting_together_keep_one_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "secret.key"
    with ThreadPoolExecutor(8) as pool:
        boxes = list(pool.map(lambda _: SecretBox.from_file(path), range(16)))
    assert len({box.keys for box in boxes}) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]
