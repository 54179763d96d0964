"""The dial log: one JSON line when each dial starts and one when it ends (``--sim-dial-log``).

Tests read it to prove that no call was dialed twice at the same time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from outdial.store.store import Claim


class DialLog:
    """Appends ``{"call_id", "attempt", "phone_number", "started_at", "ended_at"}`` lines."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def write(self, claim: Claim, started_at: float, ended_at: float | None) -> None:
        line = {
            "call_id": claim.call_id,
            "attempt": claim.attempt,
            "phone_number": claim.phone_number,
            "started_at": started_at,
            "ended_at": ended_at,
        }
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()  # in the OS's hands: survives the process being killed

    def close(self) -> None:
        self._file.close()


__all__ = ["DialLog"]
