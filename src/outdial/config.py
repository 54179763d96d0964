"""Settings, built once at the edge (the CLI) and passed down explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path

DEFAULT_DATABASE_PATH = Path("var/outdial.db")
MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # bytes; a 100,000-row CSV is about 5 MB
MAX_REQUEST_BYTES = 1024 * 1024  # bytes, for every request but bulk_queue
QUEUE_RATE = 5.0  # single-call queue requests per second per account, sustained
QUEUE_BURST = 20  # single-call queue requests an account may make at once
MAX_BULK_ROWS = 500_000  # rows per bulk request
CALL_LEASE = 30.0  # seconds a claimed call stays its dialer's without a heartbeat


def default_database_url() -> str:
    return f"sqlite:///{DEFAULT_DATABASE_PATH}"


SECRET_KEY_NAME = "secret.key"


def default_secret_key_file(database_url: str) -> Path | None:
    """Where the key sealing stored secrets is kept by default: beside a SQLite database file.
    None for other databases: every process sharing one, on whatever machine, must be given
    the same file, so it is never guessed."""
    prefix = "sqlite:///"
    if database_url.startswith(prefix) and database_url[len(prefix) :] not in ("", ":memory:"):
        return Path(database_url[len(prefix) :]).parent / SECRET_KEY_NAME
    return None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a running outdial needs to know; no module reads the environment itself."""

    database_url: str
    default_region: str = "US"
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_request_bytes: int = MAX_REQUEST_BYTES
    queue_rate: float = QUEUE_RATE
    queue_burst: int = QUEUE_BURST
    max_bulk_rows: int = MAX_BULK_ROWS
    ingest_workers: int = 2  # processes validating large uploads; 0 validates in-process
    dialer: bool = True  # run the dialer in this process
    lease: float = CALL_LEASE  # seconds a claimed call stays ours without a heartbeat
    dial_log: Path | None = None  # JSON lines per dial start and end (tests prove exactly-once)
    tts_cache: Path | None = None  # a directory keeping synthesised prompts across restarts
    # Signs the web UI's session cookies. None: a random one per process, so sign-ins end when
    # it restarts; give every process behind one address the same secret.
    session_secret: str | None = None
    # The bearer token a Prometheus scraper sends to GET /metrics. None: /metrics is off (404),
    # since its counts name every tenant's deployments and trunks.
    metrics_token: str | None = None
    # Networks of the operator's own receivers that flow URLs, goto and http steps and result
    # callbacks may reach although they are not public (loopback, private...): none by default.
    allow_url_networks: tuple[IPv4Network | IPv6Network, ...] = ()
    # The key file sealing webhook secrets and trunk passwords in the database (created on
    # first start). None: the app is given its Store (tests), or secrets are not sealed.
    secret_key_file: Path | None = None
