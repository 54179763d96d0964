"""Accounts, applications and deployments: who owns what."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from outdial import security
from outdial.accounts import (
    DEFAULT_CPS,
    DEFAULT_MAX_LINES,
    MIN_RING_TIMEOUT,
    RING_TIMEOUT,
    Account,
    Application,
    Deployment,
)
from outdial.calls import DEFAULT_RETRY_ON, CalleeType
from outdial.errors import Conflict, InvalidField, NotFound
from outdial.store.base import StoreBase
from outdial.store.tables import accounts, applications, deployments

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class TenantStore(StoreBase):
    # -- accounts ---------------------------------------------------------------------------

    def create_account(self, email: str, password: str | None = None) -> tuple[Account, str]:
        """A new account and its developer key (returned once; only its hash is kept)."""
        email = email.strip().lower()
        if not _EMAIL.fullmatch(email) or len(email) > 320:
            raise InvalidField("email", f"{email!r} is not an e-mail address")
        key = security.new_developer_key()
        secret = security.new_webhook_secret()
        values = {
            "email": email,
            "key_hash": security.hash_developer_key(key),
            "password_hash": security.hash_password(password) if password else None,
            "webhook_secret": self._seal(secret),
            "created_at": self.clock(),
        }
        try:
            with self._write() as conn:
                account_id = conn.execute(
                    insert(accounts).values(values).returning(accounts.c.id)
                ).scalar_one()
        except IntegrityError:
            raise Conflict(f"an account with e-mail {email!r} already exists") from None
        return Account(account_id, email, secret), key

    def reset_developer_key(self, email: str) -> str:
        key = security.new_developer_key()
        with self._write() as conn:
            result = conn.execute(
                update(accounts)
                .where(accounts.c.email == email.strip().lower())
                .values(key_hash=security.hash_developer_key(key))
            )
            if result.rowcount == 0:
                raise NotFound(f"no account with e-mail {email!r}")
        return key

    def account_by_email(self, email: str) -> Account | None:
        with self._read() as conn:
            row = conn.execute(
                select(accounts.c.id, accounts.c.email, accounts.c.webhook_secret).where(
                    accounts.c.email == email.strip().lower()
                )
            ).first()
        return self._account(row) if row else None

    def _account_row(self, email: str) -> Row[Any] | None:
        with self._read() as conn:
            return conn.execute(
                select(accounts).where(accounts.c.email == email.strip().lower())
            ).first()

    def authenticate(self, email: str, developer_key: str) -> Account | None:
        row = self._account_row(email)
        # An unknown e-mail costs the same hash as a wrong key: its timing names no account.
        key_hash = row.key_hash if row is not None else security.DUMMY_KEY_HASH
        if not security.developer_key_matches(developer_key, key_hash) or row is None:
            return None
        return self._account(row)

    def check_password(self, email: str, password: str) -> Account | None:
        row = self._account_row(email)
        # An unknown e-mail (or one without a password) costs the same scrypt as a wrong
        # password: its timing names no account.
        stored = row.password_hash if row is not None and row.password_hash else None
        if not security.password_matches(password, stored or security.dummy_password_hash()):
            return None
        if row is None or stored is None:
            return None
        return self._account(row)

    # -- applications and deployments -------------------------------------------------------

    def create_application(self, account_email: str, name: str) -> Application:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidField("name", "must be 1 to 200 characters")
        account = self.account_by_email(account_email)
        if account is None:
            raise NotFound(f"no account with e-mail {account_email!r}")
        with self._write() as conn:
            app_id = conn.execute(
                insert(applications)
                .values(account_id=account.id, name=name, created_at=self.clock())
                .returning(applications.c.id)
            ).scalar_one()
        return Application(app_id, account.id, name)

    def delete_application(self, application_id: int) -> None:
        now = self.clock()
        with self._write() as conn:
            result = conn.execute(
                update(applications)
                .where(applications.c.id == application_id, applications.c.deleted_at.is_(None))
                .values(deleted_at=now)
            )
            if result.rowcount == 0:
                raise NotFound(f"application {application_id} not found or already deleted")
            conn.execute(
                update(deployments)
                .where(
                    deployments.c.application_id == application_id,
                    deployments.c.deleted_at.is_(None),
                )
                .values(deleted_at=now)
            )

    def create_deployment(
        self,
        application_id: int,
        *,
        name: str | None = None,
        max_lines: int = DEFAULT_MAX_LINES,
        cps: float = DEFAULT_CPS,
        caller_id: str | None = None,
        retry_on: frozenset[CalleeType] = DEFAULT_RETRY_ON,
        trunk_id: int | None = None,
        ring_timeout: float = RING_TIMEOUT,
        calling_hours: str | None = None,
        detection: bool = True,
        detection_params: Mapping[str, Any] | None = None,
    ) -> Deployment:
        if not ring_timeout >= MIN_RING_TIMEOUT:
            raise InvalidField(
                "ring_timeout", f"{ring_timeout:g} s is under the minimum of {MIN_RING_TIMEOUT:g} s"
            )
        if max_lines < 1:
            raise InvalidField("max_lines", f"{max_lines} must be at least 1")
        if not cps > 0:
            raise InvalidField("cps", f"{cps} must be more than 0")
        with self._write() as conn:
            app = live_application(conn, application_id)
            name = (name or f"{app.name} deployment").strip()[:200]
            dep_id = conn.execute(
                insert(deployments)
                .values(
                    application_id=application_id,
                    account_id=app.account_id,
                    name=name,
                    max_lines=max_lines,
                    cps=cps,
                    caller_id=caller_id,
                    retry_on=",".join(sorted(retry_on)),
                    created_at=self.clock(),
                    trunk_id=trunk_id,
                    ring_timeout=ring_timeout,
                    calling_hours=calling_hours,
                    detection=detection,
                    detection_params=json.dumps(dict(detection_params))
                    if detection_params
                    else None,
                    next_dial_at=0.0,
                )
                .returning(deployments.c.id)
            ).scalar_one()
            row = conn.execute(select(deployments).where(deployments.c.id == dep_id)).one()
        return _deployment(row, app.name)

    def set_deployment_trunk(self, deployment_id: int, trunk_id: int | None) -> None:
        """Bind a deployment to the trunk that places its calls (None: stop dialing it)."""
        with self._write() as conn:
            changed = conn.execute(
                update(deployments)
                .where(deployments.c.id == deployment_id, deployments.c.deleted_at.is_(None))
                .values(trunk_id=trunk_id)
            ).rowcount
        if not changed:
            raise NotFound(f"deployment {deployment_id} not found or deleted")

    def delete_deployment(self, deployment_id: int) -> None:
        with self._write() as conn:
            result = conn.execute(
                update(deployments)
                .where(deployments.c.id == deployment_id, deployments.c.deleted_at.is_(None))
                .values(deleted_at=self.clock())
            )
            if result.rowcount == 0:
                raise NotFound(f"deployment {deployment_id} not found or already deleted")

    def deployment_for(
        self, account: Account, application_id: int, deployment_id: int
    ) -> Deployment:
        """The deployment at ``/api/apps/{app}/{dep}``, if ``account`` owns it."""

        with self._read() as conn:
            app = _owned_application(conn, account, application_id)
            dep = conn.execute(
                select(deployments).where(
                    deployments.c.id == deployment_id,
                    deployments.c.application_id == application_id,
                )
            ).first()
        if dep is None:
            raise NotFound(f"deployment {deployment_id} not found in application {application_id}")
        if dep.deleted_at is not None:
            raise Conflict(f"deployment {deployment_id} was deleted")
        return _deployment(dep, app.name)

    def application_of(self, account: Account, application_id: int) -> Application:
        """The application ``account`` owns: 404 if none or another's, 409 if deleted."""
        with self._read() as conn:
            row = _owned_application(conn, account, application_id)
        return Application(row.id, row.account_id, row.name)

    def deployments_of(self, account: Account) -> list[Deployment]:
        with self._read() as conn:
            rows = conn.execute(
                select(deployments, applications.c.name.label("application_name"))
                .join(applications, applications.c.id == deployments.c.application_id)
                .where(deployments.c.account_id == account.id, deployments.c.deleted_at.is_(None))
                .order_by(deployments.c.id)
            ).all()
        return [_deployment(row, row.application_name) for row in rows]


def live_application(conn: Connection, application_id: int) -> Row[Any]:
    """The application's row: 404 if there is none, 409 if it was deleted."""
    app = conn.execute(select(applications).where(applications.c.id == application_id)).first()
    if app is None:
        raise NotFound(f"application {application_id} not found")
    if app.deleted_at is not None:
        raise Conflict(f"application {application_id} was deleted")
    return app


def _owned_application(conn: Connection, account: Account, application_id: int) -> Row[Any]:
    app = conn.execute(select(applications).where(applications.c.id == application_id)).first()
    # Another account's application is not found, exactly like a missing one: a different
    # answer would tell a stranger which IDs exist.
    if app is None or app.account_id != account.id:
        raise NotFound(f"application {application_id} not found")
    if app.deleted_at is not None:
        raise Conflict(f"application {application_id} was deleted")
    return app


def _deployment(row: Row[Any], application_name: str) -> Deployment:
    retry_on = frozenset(CalleeType(t) for t in row.retry_on.split(",") if t)
    return Deployment(
        row.id,
        row.application_id,
        row.account_id,
        row.name,
        row.max_lines,
        row.cps,
        row.caller_id,
        retry_on,
        application_name,
        row.trunk_id,
        row.ring_timeout,
        row.calling_hours,
        row.detection,
        json.loads(row.detection_params) if row.detection_params else {},
        row.flow_url,
    )
