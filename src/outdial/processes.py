"""Worker processes end with the process that started them, even after a ``kill -9``: the
server's ingest workers, and every dialer's speech recognition and phrase-spotting workers.

A worker of a ``ProcessPoolExecutor`` waits on its call queue, whose pipe it holds both ends
of, so the parent's death never reaches it as an end of file: it would linger under PID 1.
``exit_with_parent`` (the pool's initializer, given the server's process ID) starts a thread
that notices the parent has gone (the worker's parent process ID is no longer the server's) and
ends the worker. The ID is passed in, not read at start: a worker still starting when the server
died would read its new parent's.
"""

from __future__ import annotations

import os
import threading
import time

CHECK_EVERY_S = 0.5  # how soon an orphaned worker notices


def exit_with_parent(parent: int, check_every_s: float = CHECK_EVERY_S) -> None:
    """Pool initializer: end this process once ``parent`` is no longer its parent."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(check_every_s)
        os._exit(0)  # nothing of the worker's is worth finishing: its server is gone

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


__all__ = ["exit_with_parent"]
