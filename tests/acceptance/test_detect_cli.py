"""``outdial detect FILE...`` as an operator runs it: one JSON line per file, in order."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import numpy as np
from acceptance_support import run

from outdial.audio import synth
from outdial.audio.g711 import alaw_encode, ulaw_encode

FIELDS = {"file", "callee_type", "decided_ms", "beep_end_ms", "cause"}


def wav_bytes(tag: int, rate: int, bits: int, payload: bytes) -> bytes:
    block = bits // 8
    fmt = struct.pack("<HHIIHH", tag, 1, rate, rate * block, block, bits)
    body = b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(payload))
    return b"RIFF" + struct.pack("<I", 4 + len(body) + len(payload)) + b"WAVE" + body + payload


def test_detect_classifies_each_file_and_reports_the_unreadable_one(tmp_path: Path) -> None:
    sit = np.concatenate([synth.silence(300), synth.sit(913.8, 1370.6, (274, 274, 380))])
    fax = np.concatenate([synth.silence(200), synth.ced(3000, reversals=True)])
    silence = synth.silence(6000).astype(np.int16)
    files = {
        "sit.ul": ulaw_encode(sit.astype(np.int16)).tobytes(),
        "broken.wav": b"RIFF\x10\x00\x00\x00WAVEjunkjunk",
        "fax-alaw.wav": wav_bytes(6, 8000, 8, alaw_encode(fax.astype(np.int16)).tobytes()),
        "silence-16k.wav": wav_bytes(1, 16000, 16, np.repeat(silence, 2).tobytes()),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    paths = [str(tmp_path / name) for name in files] + [str(tmp_path / "missing.al")]

    done = run("detect", *paths)

    assert done.returncode == 1, done.stderr  # some files could not be read
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["file"] for line in lines] == paths
    sit_line, broken, fax_line, silent, missing = lines
    assert set(sit_line) == set(fax_line) == set(silent) == FIELDS
    assert (sit_line["callee_type"], sit_line["beep_end_ms"]) == ("informationtone", None)
    assert 300 < sit_line["decided_ms"] <= 1300
    assert fax_line["callee_type"] == "fax"
    assert (silent["callee_type"], silent["cause"], silent["decided_ms"]) == (
        "unknown",
        "dead air",
        5000,
    )
    assert broken == {"file": paths[1], "error": "WAV file has no fmt chunk"}
    assert missing == {"file": paths[4], "error": "No such file or directory"}


def test_a_recording_that_stops_is_heard_as_a_call_going_on_in_silence(tmp_path: Path) -> None:
    quiet = tmp_path / "quiet.ul"
    quiet.write_bytes(b"\xff" * 8000)  # one second of µ-law silence
    hello = tmp_path / "hello.wav"  # espeak-ng writes 22.05 kHz WAV, cut right after the word
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(hello), "Hello?"], check=True)

    done = run("detect", str(quiet), str(hello))

    assert done.returncode == 0, done.stderr
    silent, person = (json.loads(line) for line in done.stdout.splitlines())
    assert silent == {
        "file": str(quiet),
        "callee_type": "unknown",
        "decided_ms": 5000,
        "beep_end_ms": None,
        "cause": "dead air",
    }
    assert (person["callee_type"], person["beep_end_ms"]) == ("voice", None)


def test_detect_help_names_the_formats() -> None:
    done = run("detect", "--help")
    assert done.returncode == 0
    assert "µ-law" in done.stdout
