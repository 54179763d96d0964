"""Wake dialers in other processes when calls are queued: PostgreSQL LISTEN/NOTIFY.

The store sends ``NOTIFY outdial_queue`` inside every transaction that queues calls, so the
notification is delivered only if the calls were committed. Each dialer on PostgreSQL keeps one
connection listening; on SQLite (one process) the in-process wake-up is enough. Polling remains
the fallback either way, so a lost connection only delays dialing by one poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine

log = logging.getLogger(__name__)

CHANNEL = "outdial_queue"
RECONNECT_DELAY = 2.0  # seconds before listening again after the connection dropped


def libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def listen(engine: Engine, wake: Callable[[], None]) -> None:
    """Call ``wake`` on every notification until cancelled; reconnects after failures."""
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
