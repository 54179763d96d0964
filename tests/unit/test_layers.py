"""The store is the bottom layer: importing it loads no audio, detection, SIP or dialer code.

Checked in a fresh interpreter, since this test process has long since imported everything.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import outdial.store

FORBIDDEN = ("numpy", "webrtcvad", "outdial.telephony", "outdial.detect", "outdial.dispatch")


def _store_modules() -> list[str]:
    found = ["outdial.store"]
    for info in pkgutil.walk_packages(outdial.store.__path__, "outdial.store."):
        if ".migrations" not in info.name:  # Alembic scripts, loaded by Alembic alone
            found.append(info.name)
    return found


def test_every_store_module_is_found() -> None:
    modules = _store_modules()
    assert {"outdial.store.store", "outdial.store.progress", "outdial.store.notify"} <= set(modules)


def test_importing_the_store_loads_nothing_above_it() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {_store_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    loaded = json.loads(out)
    assert "outdial.store.store" in loaded
    offending = [
        name
        for name in loaded
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
    ]
    assert offending == []
