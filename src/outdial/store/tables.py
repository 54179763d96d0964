"""Table definitions (SQLAlchemy Core). Migrations in ``store/migrations`` create them.

Times are stored as Unix seconds (floating point, UTC): they compare the same
way on SQLite and PostgreSQL, cost nothing to index, and the API speaks Unix
seconds anyway. Python code turns them into aware datetimes where it needs to.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
    true,
)

from outdial.options import MAX_MESSAGE_REFERENCE

# BIGINT primary keys on PostgreSQL; on SQLite an INTEGER PRIMARY KEY is the rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("password_hash", Text, nullable=True),
    # Sealed: enc:v1:<Fernet token>, about 190 characters. SQLite keeps VARCHAR(64) from the
    # first schema (it enforces no length; migration 0007 leaves it).
    Column("webhook_secret", Text().with_variant(String(64), "sqlite"), nullable=False),
    Column("created_at", Float, nullable=False),
)

# Web UI sign-ins, kept on the server so that signing out ends one at once, and a password
# change or "sign out everywhere" ends them all. The cookie holds the token; this, its hash.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_web_sessions_account", "account_id"),
)

applications = Table(
    "applications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("deleted_at", Float, nullable=True),
)

trunks = Table(
    "trunks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # "simulated" or "sip"
    Column("lines", Integer, nullable=False),
    Column("cps", Float, nullable=False),
    Column("config", Text, nullable=False),  # JSON, per kind
    Column("next_dial_at", Float, nullable=False),  # pacing state (GCRA), Unix seconds
    Column("created_at", Float, nullable=False),
)

deployments = Table(
    "deployments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("application_id", Integer, ForeignKey("applications.id"), nullable=False, index=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("max_lines", Integer, nullable=False),
    Column("cps", Float, nullable=False),
    Column("caller_id", String(16), nullable=True),
    Column("retry_on", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("deleted_at", Float, nullable=True),
    Column("trunk_id", Integer, ForeignKey("trunks.id"), nullable=True),
    Column("ring_timeout", Float, nullable=False, server_default="30"),
    Column("calling_hours", String(32), nullable=True),  # "08:00-21:00", callee's local time
    Column("next_dial_at", Float, nullable=False, server_default="0"),  # pacing state (GCRA)
    # Callee-type detection on answered calls (SPEC §7), and its parameters as a JSON object
    # of DetectionParams fields that differ from the defaults.
    Column("detection", Boolean, nullable=False, server_default=true()),
    Column("detection_params", Text, nullable=True),
    # Where the call flow comes from when not stored: the user's web service, asked per call.
    Column("flow_url", String(2048), nullable=True),
)

# An application's call flow, every version of it: the current flow is the newest version, and
# restoring an old one adds a copy of it as the newest (nothing is rewritten).
flow_versions = Table(
    "flow_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("application_id", Integer, ForeignKey("applications.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("source", Text, nullable=False),  # the document as its author wrote it
    Column("format", String(8), nullable=False),  # "yaml" or "json"
    Column("author", String(320), nullable=False),  # who saved it: an e-mail, or "cli"
    Column("created_at", Float, nullable=False),
    Index("ux_flow_versions_app_version", "application_id", "version", unique=True),
)

batches = Table(
    "batches",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("batch_id", String(36), nullable=False, unique=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("deployment_id", Integer, ForeignKey("deployments.id"), nullable=False, index=True),
    Column("source", String(8), nullable=False),  # "csv" or "json"
    Column("filename", String(255), nullable=True),
    Column("total_rows", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
)

batch_rejects = Table(
    "batch_rejects",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("batch_pk", BigId, ForeignKey("batches.id"), nullable=False, index=True),
    Column("row", Integer, nullable=False),
    Column("value", Text, nullable=False),
    Column("reason", Text, nullable=False),
)

calls = Table(
    "calls",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("call_id", String(36), nullable=False, unique=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("deployment_id", Integer, ForeignKey("deployments.id"), nullable=False),
    Column("batch_pk", BigId, ForeignKey("batches.id"), nullable=True),
    Column("batch_row", Integer, nullable=True),
    Column("phone_number", String(16), nullable=False),
    Column("ani", String(16), nullable=True),
    Column("postd", String(32), nullable=True),
    Column("status", String(16), nullable=False),
    Column("callee_type", String(16), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("reattempt_wait", Integer, nullable=True),
    Column("queued_at", Float, nullable=False),
    Column("start_at", Float, nullable=False),
    Column("end_at", Float, nullable=True),
    Column("next_attempt_at", Float, nullable=False),
    Column("last_attempt_at", Float, nullable=True),
    Column("duration", Float, nullable=True),
    Column("message_reference", String(MAX_MESSAGE_REFERENCE), nullable=True),
    Column("call_parameters", Text, nullable=False),  # JSON object
    Column("result_url", String(2048), nullable=True),
    Column("results", Text, nullable=True),  # JSON object recorded by the flow
    Column("end_reason", String(200), nullable=True),
    Column("cancel_requested", Boolean, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("lease_owner", String(64), nullable=True),  # the worker dialing it
    Column("lease_expires_at", Float, nullable=True),
    # Listing a deployment's calls by status, oldest first; the dialer's claim query too.
    Index("ix_calls_deployment_status", "deployment_id", "status", "id"),
    # The lease reaper looks for calls in progress whose worker stopped renewing them.
    Index("ix_calls_status_lease", "status", "lease_expires_at"),
)

call_events = Table(
    "call_events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("call_pk", BigId, ForeignKey("calls.id"), nullable=False),
    Column("event", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Column("detail", Text, nullable=True),
    Index("ix_call_events_call", "call_pk", "id"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("call_pk", BigId, ForeignKey("calls.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("answered_at", Float, nullable=True),
    Column("ended_at", Float, nullable=True),
    Column("sip_code", Integer, nullable=True),
    Column("cause", String(200), nullable=True),
    Column("callee_type", String(16), nullable=True),
    Column("duration", Float, nullable=True),
    # What detection decided on an answered attempt: its rule, when (ms of audio from answer),
    # and where the voicemail beep ended.
    Column("detect_cause", String(100), nullable=True),
    Column("decided_ms", Integer, nullable=True),
    Column("beep_end_ms", Integer, nullable=True),
    # The first verdict and every revision of it (a verdict whose callee type differs from
    # the one before), oldest first: JSON list of {callee_type, cause, decided_ms, at}. The
    # columns above hold the latest verdict. NULL: detection did not decide (or before 0005).
    Column("detection_history", Text, nullable=True),
    # The call flow an answered attempt ran: its version (None for a fetched flow or none) and
    # the trace of its steps (JSON list of {step, type, start_ms, end_ms, outcome}).
    Column("flow_version", Integer, nullable=True),
    Column("flow_trace", Text, nullable=True),
    Index("ix_attempts_call_number", "call_pk", "number", unique=True),
    # At most one unfinished attempt per call: the database itself refuses to let a call be
    # dialed twice at the same time, whatever a worker believes.
    Index(
        "ux_attempts_one_open_per_call",
        "call_pk",
        unique=True,
        sqlite_where=text("ended_at IS NULL"),
        postgresql_where=text("ended_at IS NULL"),
    ),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("call_pk", BigId, ForeignKey("calls.id"), nullable=False, unique=True),  # once
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("body", Text, nullable=False),  # the exact bytes signed and sent (JSON)
    Column("state", String(16), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("delivered_at", Float, nullable=True),
    Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("delivery_id", BigId, ForeignKey("webhook_deliveries.id"), nullable=False, index=True),
    Column("at", Float, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Float, nullable=False),
)

# An application's audio prompts (``say: {audio: NAME}``), µ-law 8 kHz, replaced by name.
app_audio = Table(
    "app_audio",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("application_id", Integer, ForeignKey("applications.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("audio", LargeBinary, nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ux_app_audio_app_name", "application_id", "name", unique=True),
)

# Audio a flow's record steps took, kept in the database so every API process serves it,
# wherever the dialer that recorded it ran. µ-law 8 kHz; at most a few MB each (max_s).
recordings = Table(
    "recordings",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("recording_id", String(36), nullable=False, unique=True),  # public, unguessable
    Column("call_pk", BigId, ForeignKey("calls.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("step", String(64), nullable=False),
    Column("audio", LargeBinary, nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_recordings_call", "call_pk", "id"),
)
