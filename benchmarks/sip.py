"""SIP call throughput: outdial's dialer on a SIP trunk against sipp's own caller.

    .venv/bin/python benchmarks/sip.py --calls 1000

One sipp callee (UAS) on 127.0.0.1 answers every call, streams 5 s of audio and hangs up.
First sipp's own caller (UAC) places N calls against it with at most 200 at once (``-l 200``)
at a rate above what 200 lines of 5 s calls allow (so the line limit, not the rate, binds).
Then outdial places N queued calls through a SIP trunk with 200 lines against a fresh callee,
with callee-type detection listening to every answered call (the deployment's default), and
counts the calls up at once, the RTP packets of each call and the calls detection decided.

Prints the figures, then as its last line one JSON object:
``{"calls", "outdial_cps", "sipp_cps", "ratio", "outdial_failed", "max_concurrent",
"rtp_both_ways", "detected"}`` (detected: calls whose callee type detection decided).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from outdial.audio import g711
from outdial.calls import CallStatus
from outdial.dispatch.dialer import Dialer, DialerSettings
from outdial.options import Schedule
from outdial.store import db
from outdial.store.store import NewCall, Store, new_call_ids
from outdial.telephony.carrier import Carrier, DialRequest, Leg
from outdial.telephony.sip.call import SipLeg
from outdial.telephony.sip.carrier import SipCarrier
from outdial.telephony.sip.config import SipTrunkConfig, load_sip_config
from outdial.telephony.sip.uri import SipUri
from outdial.trunks import Trunk, TrunkKind

HERE = Path(__file__).parent / "sip"
LINES = 200  # calls up at once, for sipp (-l) and for the outdial trunk
TALK_MS = 5000  # how long the callee streams audio before it hangs up
FINAL = {CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.UNCALLED}


def free_port_block(size: int, start: int) -> int:
    for base in range(start, 60000, size):
        ok = True
        for port in range(base, base + size):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free ports")


def start_uas(
    work: Path, calls: int, audio: Path, name: str
) -> tuple[subprocess.Popen[bytes], int]:
    text = (HERE / "uas.xml").read_text()
    text = text.replace("[audio]", str(audio)).replace("[talk_ms]", str(TALK_MS))
    scenario = work / f"{name}-uas.xml"
    scenario.write_text(text)
    base = free_port_block(30, 41000 if name == "sipp" else 43000)
    args = [
        "sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(base), "-mp", str(base + 2),
        "-cp", str(base + 28), "-m", str(calls), "-nostdin", "-timeout", "600s", "-trace_err",
        "-buff_size", "4194304",
    ]  # fmt: skip
    log = (work / f"{name}-uas.log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    time.sleep(0.5)
    return process, base


def run_sipp_baseline(work: Path, calls: int, audio: Path) -> float:
    uas, uas_port = start_uas(work, calls, audio, "sipp")
    base = free_port_block(30, 47000)
    args = [
        "sipp", f"127.0.0.1:{uas_port}", "-sf", str(HERE / "uac.xml"), "-i", "127.0.0.1",
        "-p", str(base), "-mp", str(base + 2), "-cp", str(base + 28), "-m", str(calls),
        "-l", str(LINES), "-r", str(LINES), "-nostdin", "-timeout", "600s", "-buff_size", "4194304",
    ]  # fmt: skip
    started = time.monotonic()
    with (work / "sipp-uac.log").open("wb") as log:
        code = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, cwd=work).returncode
    elapsed = time.monotonic() - started
    uas.wait(30)
    print(f"sipp: {calls} calls in {elapsed:.1f} s (exit {code})")
    return calls / elapsed


class CountingCarrier(Carrier):
    """A SipCarrier that counts calls up at once and the calls with RTP both ways."""

    def __init__(self, inner: SipCarrier) -> None:
        self.inner = inner
        self.up = 0
        self.max_up = 0
        self.both_ways = 0
        self._watchers: set[asyncio.Task[None]] = set()

    def dial(self, request: DialRequest) -> Leg:
        leg = self.inner.dial(request)
        task = asyncio.get_running_loop().create_task(self._watch(leg))
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)
        return leg

    async def _watch(self, leg: SipLeg) -> None:
        self.up += 1
        self.max_up = max(self.max_up, self.up)
        try:
            await leg.wait_closed()
        finally:
            self.up -= 1
        rtp = getattr(leg, "rtp", None)
        if rtp is not None and rtp.packets_sent > 0 and rtp.packets_received > 0:
            self.both_ways += 1

    async def close(self) -> None:
        await asyncio.gather(*self._watchers, return_exceptions=True)
        await self.inner.close()


def run_outdial(work: Path, calls: int, audio: Path) -> tuple[float, int, int, int, int]:
    uas, uas_port = start_uas(work, calls, audio, "outdial")
    store = Store(db.make_engine(f"sqlite:///{work / 'outdial.db'}"))
    config = SipTrunkConfig(
        uri=SipUri("127.0.0.1", port=uas_port), local_host="127.0.0.1", rtp_ports=(30000, 31000)
    )
    trunk = store.create_trunk(
        "bench", TrunkKind.SIP, lines=LINES, cps=1000.0, config=config.to_json()
    )
    account, _ = store.create_account("bench@example.com")
    app = store.create_application(account.email, "sip bench")
    dep = store.create_deployment(app.id, trunk_id=trunk.id, max_lines=LINES, cps=1000.0)
    ids = new_call_ids(calls)
    rows = [NewCall(i, "+16175551234", None, None, None, "{}", None) for i in ids]
    store.queue_calls(dep, Schedule(start_at=time.time()), rows)
    carriers: list[CountingCarrier] = []

    def factory(t: Trunk) -> Carrier:
        carrier = CountingCarrier(SipCarrier(load_sip_config(t.config)))
        carriers.append(carrier)
        return carrier

    async def main() -> float:
        dialer = Dialer(
            store, DialerSettings(poll=0.05), worker_id="bench", carrier_factory=factory
        )
        started = time.monotonic()
        task = asyncio.create_task(dialer.run())
        while await asyncio.to_thread(_pending, work / "outdial.db"):
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - started
        dialer.stop()
        await task
        return elapsed

    elapsed = asyncio.run(main())
    done = [store.get_call(account, i) for i in ids]
    failed = sum(1 for call in done if call.status is not CallStatus.COMPLETED)
    detected = sum(1 for call in done if call.attempt_list and call.attempt_list[-1].detect_cause)
    store.close()
    uas.wait(30)
    counting = carriers[0]
    print(
        f"outdial: {calls} calls in {elapsed:.1f} s, {failed} not completed, "
        f"{counting.max_up} up at once, {counting.both_ways} with RTP both ways, "
        f"{detected} decided by detection"
    )
    return calls / elapsed, failed, counting.max_up, counting.both_ways, detected


def _pending(path: Path) -> int:
    """Calls not final yet: one cheap query (the dialer shares this process's GIL)."""
    final = ", ".join(f"'{s.value}'" for s in FINAL)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(
            conn.execute(f"SELECT count(*) FROM calls WHERE status NOT IN ({final})").fetchone()[0]
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--workdir", type=Path, help="keep sipp's logs and the database here")
    args = parser.parse_args(argv)
    if shutil.which("sipp") is None:
        print("sipp is not installed (Debian package sip-tester)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="outdial-sip-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        t = np.arange(8000 * TALK_MS // 1000) / 8000
        audio = work / "voice.ul"
        audio.write_bytes(g711.encode((5000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)))
        db.migrate(db.make_engine(f"sqlite:///{work / 'outdial.db'}"))
        sipp_cps = run_sipp_baseline(work, args.calls, audio)
        outdial_cps, failed, max_up, both_ways, detected = run_outdial(work, args.calls, audio)
    result = {
        "calls": args.calls,
        "outdial_cps": round(outdial_cps, 2),
        "sipp_cps": round(sipp_cps, 2),
        "ratio": round(outdial_cps / sipp_cps, 3),
        "outdial_failed": failed,
        "max_concurrent": max_up,
        "rtp_both_ways": both_ways,
        "detected": detected,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
