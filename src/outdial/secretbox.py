"""Secrets kept in the database encrypted with a key the operator holds (Fernet).

A sealed value reads ``enc:v1:<Fernet token>``. The key file holds one Fernet key per line:
the first seals, every one opens, so a key can be rotated (a new first line, every secret
sealed again with it: ``outdial secrets rotate``) and the old line removed afterwards. A value
stored before encryption (no prefix) is opened as it is, and sealed by the next
``seal_secrets``. Without the key file the secrets cannot be read: back it up with the database,
apart from it.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "enc:v1:"
OPENED_KEPT = 4096  # sealed values kept opened per box


class SecretKeyError(Exception):
    """The key file is unreadable, malformed, or does not open a stored secret."""


class SecretBox:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise SecretKeyError("no key")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except ValueError as error:
            raise SecretKeyError(f"not a Fernet key ({error})") from None
        self._current = Fernet(keys[0])
        self.keys = tuple(keys)
        # Every API request opens its account's webhook secret and every dialer cycle its
        # trunks' settings: a sealed value is decrypted once (an opened secret stays in memory
        # as long as the process uses it anyway).
        self._opened = functools.lru_cache(maxsize=OPENED_KEPT)(self._decrypt)

    @classmethod
    def generate(cls) -> SecretBox:
        return cls([Fernet.generate_key()])

    @classmethod
    def from_file(cls, path: Path, *, create: bool = True) -> SecretBox:
        """The keys in ``path``; a new file with one new key (mode 0600) when it is missing
        and ``create``."""
        if not path.exists() and create:
            _create(path)
        try:
            lines = path.read_bytes().split()
        except OSError as error:
            raise SecretKeyError(f"cannot read the secret key file {path}: {error}") from None
        try:
            return cls([line.strip() for line in lines if line.strip()])
        except SecretKeyError as error:
            raise SecretKeyError(f"the secret key file {path}: {error}") from None

    def seal(self, text: str) -> str:
        return PREFIX + self._current.encrypt(text.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret in ``stored`` (plain text as it is, from before encryption)."""
        if not stored.startswith(PREFIX):
            return stored
        return self._opened(stored)

    def _decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret does not open with the secret key file's keys "
                "(the wrong file, or a key removed too soon)"
            ) from None

    def needs_sealing(self, stored: str) -> bool:
        """Plain text, or sealed with another key than the first."""
        if not stored.startswith(PREFIX):
            return True
        token = stored[len(PREFIX) :].encode()
        try:
            self._current.decrypt(token)
        except InvalidToken:
            return True
        return False

    def with_new_key(self) -> SecretBox:
        """The same keys behind a new first one."""
        return SecretBox([Fernet.generate_key(), *self.keys])


def _create(path: Path) -> None:
    """A key file with one new key, mode 0600, appearing whole: written aside, then linked in
    place (several processes starting at once keep the first one's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{secrets.token_hex(8)}.new")
    descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(Fernet.generate_key() + b"\n")
    try:
        os.link(aside, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(aside)


__all__ = ["PREFIX", "SecretBox", "SecretKeyError"]
