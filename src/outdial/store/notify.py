"""Wake dialers in other processes when calls are queued: PostgreSQL LISTEN/NOTIFY.

The store owns both ends of the channel (as procrastinate's manager does). ``notify_queued``
runs inside every transaction that queues calls, so the notification is delivered only if the
calls were committed. Each dialer on PostgreSQL keeps one connection in ``listen_for_queued``;
on SQLite (one process) the in-process wake-up is enough. Polling remains the fallback either
way, so a lost connection only delays dialing by one poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

CHANNEL = "outdial_queue"
RECONNECT_DELAY = 2.0  # seconds before listening again after the connection dropped


def notify_queued(conn: Connection) -> None:
    """Wake listening dialers once this transaction commits (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"NOTIFY {CHANNEL}")


def libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def listen_for_queued(engine: Engine, wake: Callable[[], None]) -> None:
    """Call ``wake`` on every notification until cancelled; reconnects after failures.

    Returns at once on databases without LISTEN (SQLite).
    """
    if engine.dialect.name != "postgresql":
        return
    import psycopg  # only PostgreSQL deployments need the driver loaded

    url = libpq_url(engine)
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                wake()  # calls may have been queued while we were not listening
                async for _ in conn.notifies():
                    wake()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("listening for queued calls failed (%s); polling meanwhile", error)
        await asyncio.sleep(RECONNECT_DELAY)
