"""Web UI sign-ins kept on the server: created at sign-in, looked up on every page, deleted at
sign-out, and all of an account's deleted by "sign out everywhere" and a password change.

The cookie carries a random token; only its SHA-256 is stored, so a copy of the database
signs no one in.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import delete, insert, select, update

from outdial import security
from outdial.accounts import Account
from outdial.errors import InvalidField, NotFound
from outdial.store.base import StoreBase
from outdial.store.tables import accounts, web_sessions

TOKEN_BYTES = 32
MIN_PASSWORD = 8  # characters


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore(StoreBase):
    def start_session(self, account: Account, lifetime: float) -> str:
        """A new sign-in of ``account``; returns the token for its cookie."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self.clock()
        with self._write() as conn:
            conn.execute(
                delete(web_sessions).where(web_sessions.c.expires_at <= now)  # keep it small
            )
            conn.execute(
                insert(web_sessions).values(
                    token_hash=_hash(token),
                    account_id=account.id,
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )
        return token

    def session_account(self, token: str) -> Account | None:
        """The account signed in with ``token``; None when it ended, expired or never was."""
        with self._read() as conn:
            row = conn.execute(
                select(accounts.c.id, accounts.c.email, accounts.c.webhook_secret)
                .join(web_sessions, web_sessions.c.account_id == accounts.c.id)
                .where(
                    web_sessions.c.token_hash == _hash(token),
                    web_sessions.c.expires_at > self.clock(),
                )
            ).first()
        return self._account(row) if row else None

    def end_session(self, token: str) -> None:
        with self._write() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == _hash(token)))

    def end_sessions(self, account: Account) -> int:
        """Every sign-in of ``account`` ends; how many there were."""
        with self._write() as conn:
            result = conn.execute(
                delete(web_sessions).where(web_sessions.c.account_id == account.id)
            )
        return int(result.rowcount or 0)

    def set_password(self, email: str, password: str) -> Account:
        """A new web UI password; every sign-in of the account ends."""
        if len(password) < MIN_PASSWORD:
            raise InvalidField("password", f"must be at least {MIN_PASSWORD} characters")
        if len(password) > 1024:
            raise InvalidField("password", "must be at most 1024 characters")
        hashed = security.hash_password(password)
        with self._write() as conn:
            row = conn.execute(
                select(accounts.c.id, accounts.c.email, accounts.c.webhook_secret).where(
                    accounts.c.email == email.strip().lower()
                )
            ).first()
            if row is None:
                raise NotFound(f"no account with e-mail {email!r}")
            conn.execute(
                update(accounts).where(accounts.c.id == row.id).values(password_hash=hashed)
            )
            conn.execute(delete(web_sessions).where(web_sessions.c.account_id == row.id))
        return self._account(row)


__all__ = ["MIN_PASSWORD", "SessionStore"]
