"""The dial log (``--sim-dial-log``): one JSON line as each dial starts and one as it ends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from outdial.dispatch.diallog import DialLog
from outdial.store.store import Claim

CLAIM = Claim(
    call_pk=7,
    call_id="c-7",
    deployment_id=2,
    trunk_id=1,
    attempt=3,
    phone_number="+16175551234",
    caller_id=None,
    postd=None,
    ring_timeout=30.0,
)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_each_dial_writes_a_start_line_and_an_end_line(tmp_path: Path) -> None:
    path = tmp_path / "dials.jsonl"
    log = DialLog(path)
    log.write(CLAIM, 100.5, None)
    log.write(CLAIM, 100.5, 131.25)
    log.close()
    start = {
        "call_id": "c-7",
        "attempt": 3,
        "phone_number": "+16175551234",
        "started_at": 100.5,
        "ended_at": None,
    }
    assert lines(path) == [start, {**start, "ended_at": 131.25}]


def test_a_line_is_readable_as_soon_as_it_is_written(tmp_path: Path) -> None:
    # Tests read the log of a process they kill: each line must reach the OS at once.
    path = tmp_path / "dials.jsonl"
    log = DialLog(path)
    try:
        log.write(CLAIM, 1.0, None)
        assert [line["call_id"] for line in lines(path)] == ["c-7"]
    finally:
        log.close()


def test_the_log_is_appended_to_and_its_folder_made(tmp_path: Path) -> None:
    path = tmp_path / "var" / "sim" / "dials.jsonl"
    for started in (1.0, 2.0):  # two processes, one after the other
        log = DialLog(path)
        log.write(CLAIM, started, None)
        log.close()
    assert [line["started_at"] for line in lines(path)] == [1.0, 2.0]
