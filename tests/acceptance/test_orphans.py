"""After ``kill -9`` of ``outdial serve``, the processes it started end by themselves."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from acceptance_support import Server

EXIT_WITHIN_S = 5.0


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended while we looked
            continue
        if int(fields[1]) == pid:  # field 4 of stat, after the command name: the parent
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


def test_ingest_workers_exit_when_the_server_is_killed(database_url: str, workdir: Path) -> None:
    server = Server(database_url, workdir, "--ingest-workers", "2")
    try:
        server.wait_until_healthy()
        deadline = time.monotonic() + 30
        while len(children := children_of(server.process.pid)) < 2:
            assert time.monotonic() < deadline, "the ingest workers did not start"
            time.sleep(0.1)

        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(5)

        deadline = time.monotonic() + EXIT_WITHIN_S
        while (left := {pid for pid in children if alive(pid)}) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"still running {EXIT_WITHIN_S} s after the server was killed: {left}"
    finally:
        for pid in children_of(server.process.pid) if server.process.poll() is None else ():
            os.kill(pid, signal.SIGKILL)
        server.stop()
