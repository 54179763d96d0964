"""Call flows in the store: an application's flow versions, a deployment's flow URL, and what
an answered attempt keeps (results as they are set, its trace, recordings)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from outdial.accounts import Account, Application
from outdial.calls import CallEvent, Recording
from outdial.errors import InvalidField, NotFound
from outdial.store.callrows import lock_calls_in_order, owned_call, recording_from_row
from outdial.store.callstore import CallStore
from outdial.store.tables import (
    accounts,
    app_audio,
    applications,
    attempts,
    calls,
    deployments,
    flow_versions,
    recordings,
)
from outdial.store.tenants import live_application

FLOW_FORMATS = ("yaml", "json")
AUDIO_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}")
MAX_AUDIO_BYTES = 10 * 60 * 8000  # ten minutes of µ-law
MAX_FLOW_URL = 2048  # characters, as result_url


@dataclass(frozen=True, slots=True)
class FlowVersion:
    application_id: int
    version: int
    source: str  # the document as written
    format: str  # "yaml" or "json"
    author: str
    created_at: float


def _version(row: Any) -> FlowVersion:
    return FlowVersion(
        row.application_id, row.version, row.source, row.format, row.author, row.created_at
    )


class FlowStore(CallStore):
    # -- applications and their flows -------------------------------------------------------

    def applications_of(self, account: Account) -> list[Application]:
        with self._read() as conn:
            rows = conn.execute(
                select(applications)
                .where(applications.c.account_id == account.id, applications.c.deleted_at.is_(None))
                .order_by(applications.c.id)
            ).all()
        return [Application(r.id, r.account_id, r.name) for r in rows]

    def save_flow(self, application_id: int, source: str, fmt: str, author: str) -> FlowVersion:
        """Store ``source`` (already validated by the caller) as the application's newest flow."""
        if fmt not in FLOW_FORMATS:
            raise InvalidField("format", f"must be one of {', '.join(FLOW_FORMATS)}")
        now = self.clock()
        with self._write() as conn:
            live_application(conn, application_id)
            newest = conn.execute(
                select(func.max(flow_versions.c.version)).where(
                    flow_versions.c.application_id == application_id
                )
            ).scalar()
            version = (newest or 0) + 1
            conn.execute(
                insert(flow_versions).values(
                    application_id=application_id,
                    version=version,
                    source=source,
                    format=fmt,
                    author=author[:320],
                    created_at=now,
                )
            )
        return FlowVersion(application_id, version, source, fmt, author[:320], now)

    def current_flow(self, application_id: int) -> FlowVersion | None:
        """The application's newest flow version, or None if it has none."""
        with self._read() as conn:
            row = conn.execute(
                select(flow_versions)
                .where(flow_versions.c.application_id == application_id)
                .order_by(flow_versions.c.version.desc())
                .limit(1)
            ).first()
        return None if row is None else _version(row)

    def flow_version(self, application_id: int, version: int) -> FlowVersion:
        with self._read() as conn:
            row = conn.execute(
                select(flow_versions).where(
                    flow_versions.c.application_id == application_id,
                    flow_versions.c.version == version,
                )
            ).first()
        if row is None:
            raise NotFound(f"application {application_id} has no flow version {version}")
        return _version(row)

    def flow_versions(self, application_id: int) -> list[FlowVersion]:
        """Every version of the application's flow, newest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(flow_versions)
                .where(flow_versions.c.application_id == application_id)
                .order_by(flow_versions.c.version.desc())
            ).all()
        return [_version(row) for row in rows]

    def deployment_secret(self, deployment_id: int) -> str:
        """The webhook secret of the account that owns the deployment (signs flow requests)."""
        with self._read() as conn:
            secret = conn.execute(
                select(accounts.c.webhook_secret)
                .join(deployments, deployments.c.account_id == accounts.c.id)
                .where(deployments.c.id == deployment_id)
            ).scalar()
        if secret is None:
            raise NotFound(f"deployment {deployment_id} not found")
        return self._unseal(str(secret))

    def set_flow_url(self, deployment_id: int, url: str | None) -> None:
        """Have the deployment fetch its flow from ``url`` per call (None: the stored flow)."""
        if url is not None and len(url) > MAX_FLOW_URL:
            raise InvalidField("flow_url", f"is longer than {MAX_FLOW_URL} characters")
        with self._write() as conn:
            changed = conn.execute(
                update(deployments)
                .where(deployments.c.id == deployment_id, deployments.c.deleted_at.is_(None))
                .values(flow_url=url)
            ).rowcount
        if not changed:
            raise NotFound(f"deployment {deployment_id} not found or deleted")

    # -- an application's audio prompts -----------------------------------------------------

    def save_audio(self, application_id: int, name: str, ulaw: bytes) -> float:
        """Keep (or replace) the audio prompt ``name`` (µ-law 8 kHz); its length in seconds."""
        if not AUDIO_NAME.fullmatch(name):
            raise InvalidField("name", f"{name!r}: use 1 to 100 letters, digits, '.', '_' or '-'")
        if not ulaw:
            raise InvalidField("audio", "is empty")
        if len(ulaw) > MAX_AUDIO_BYTES:
            raise InvalidField("audio", f"is longer than {MAX_AUDIO_BYTES // 8000} seconds")
        seconds = len(ulaw) / 8000
        with self._write() as conn:
            live_application(conn, application_id)
            conn.execute(
                delete(app_audio).where(
                    app_audio.c.application_id == application_id, app_audio.c.name == name
                )
            )
            conn.execute(
                insert(app_audio).values(
                    application_id=application_id,
                    name=name,
                    audio=ulaw,
                    duration_s=seconds,
                    created_at=self.clock(),
                )
            )
        return seconds

    def audio_prompt(self, application_id: int, name: str) -> bytes | None:
        with self._read() as conn:
            audio = conn.execute(
                select(app_audio.c.audio).where(
                    app_audio.c.application_id == application_id, app_audio.c.name == name
                )
            ).scalar()
        return None if audio is None else bytes(audio)

    def audio_prompts(self, application_id: int) -> list[tuple[str, float]]:
        """The application's audio prompts: (name, seconds), by name."""
        with self._read() as conn:
            rows = conn.execute(
                select(app_audio.c.name, app_audio.c.duration_s)
                .where(app_audio.c.application_id == application_id)
                .order_by(app_audio.c.name)
            ).all()
        return [(r.name, r.duration_s) for r in rows]

    # -- what an answered attempt keeps -----------------------------------------------------

    def merge_results(self, call_pk: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Add a flow's ``result`` fields to the call's results at once (a later hang-up keeps
        them, and the result callback carries them); returns the results as now stored."""
        with self._write() as conn:
            lock_calls_in_order(conn, calls.c.id == call_pk)
            stored = conn.execute(select(calls.c.results).where(calls.c.id == call_pk)).scalar()
            results = dict(json.loads(stored)) if stored else {}
            results.update(fields)
            conn.execute(
                update(calls).where(calls.c.id == call_pk).values(results=json.dumps(results))
            )
        return results

    def record_flow_trace(
        self, call_pk: int, attempt: int, version: int | None, trace: Sequence[Mapping[str, Any]]
    ) -> None:
        """The flow an attempt ran (its stored version, if any) and the trace of its steps."""
        with self._write() as conn:
            conn.execute(
                update(attempts)
                .where(attempts.c.call_pk == call_pk, attempts.c.number == attempt)
                .values(flow_version=version, flow_trace=json.dumps(list(trace)))
            )

    def add_call_event(self, call_pk: int, event: CallEvent, detail: str | None) -> None:
        """An event of the call's timeline that no state change carries (a flow's failure)."""
        with self._write() as conn:
            self._add_events(conn, [call_pk], event, self.clock(), detail)

    def save_recording(
        self, call_pk: int, attempt: int, step: str, audio: bytes, duration_s: float
    ) -> str:
        """Keep a record step's audio (µ-law 8 kHz); returns its recording ID."""
        recording_id = str(uuid.uuid4())
        with self._write() as conn:
            conn.execute(
                insert(recordings).values(
                    recording_id=recording_id,
                    call_pk=call_pk,
                    attempt=attempt,
                    step=step[:64],
                    audio=audio,
                    duration_s=duration_s,
                    created_at=self.clock(),
                )
            )
        return recording_id

    def recording_audio(
        self, account: Account, call_id: str, recording_id: str
    ) -> tuple[Recording, bytes]:
        """A recording of a call ``account`` owns, with its µ-law audio."""
        with self._read() as conn:
            row = conn.execute(
                select(calls.c.id, calls.c.account_id).where(calls.c.call_id == call_id)
            ).first()
            call_pk = owned_call(row, account, call_id).id
            rec = conn.execute(
                select(recordings).where(
                    recordings.c.recording_id == recording_id, recordings.c.call_pk == call_pk
                )
            ).first()
        if rec is None:
            raise NotFound(f"call {call_id!r} has no recording {recording_id!r}")
        return recording_from_row(rec, call_id), bytes(rec.audio)
