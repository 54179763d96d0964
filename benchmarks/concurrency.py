"""Many calls held at once: peak memory, and how soon a freed line takes the next due call.

    .venv/bin/python benchmarks/concurrency.py --calls 5000 --hold 20

Queues 2 x N calls on a fresh SQLite file, on a simulated trunk with N lines (and a deployment
with N lines) whose callee answers at once and stays on the line ``--hold`` seconds; rates never
hold the dialer back. One ``Dialer`` runs in this process with a dial log. The first N calls
take every line; the other N wait for lines to come free. Once all 2 x N have started, the
dialer is stopped (calls still up are hung up) and the dial log is read:

- for the k-th waiting call to start (in start order), the lag is its start minus the k-th
  earliest end of a call: the end whose line it took. The dial log has a call's end when its
  leg ends (the callee hung up); the claim query counts the line as free once the result is
  committed after that, so the lag includes storing the result and the next claim;
- peak memory is the process's high-water resident set (``VmHWM`` in ``/proc/self/status``),
  with the resident set just before the dialer started for comparison.

Prints the figures, then as its last line one JSON object:
``{"calls": N, "hold_s": ..., "peak_rss_mb": ..., "lag_p50_ms": ..., "lag_p99_ms": ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from outdial.dispatch.dialer import Dialer, DialerSettings
from outdial.options import Schedule
from outdial.store.store import NewCall, Store, new_call_ids
from outdial.trunks import TrunkKind

EMAIL = "bench@example.com"
FIRST_NUMBER = 2_000_000  # calls go to +1617 2000000, +1617 2000001, ...
CPS = 1e6  # trunk and deployment rate: never the limit
POLL = 0.05  # seconds: the dialer's fallback poll (the integration tests use the same)
SAMPLE_EVERY = 0.05  # seconds between looks at how many calls the dialer has started
DRAIN_TIMEOUT = 0.0  # seconds: once every call has started, hang up at once
RUN_TIMEOUT = 900.0  # seconds before a run that does not finish is abandoned
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Figures:
    calls: int
    hold_s: float
    load: float  # 1-minute load average just before the dialer started
    rss_before_mb: float  # resident set with 2 x N calls queued, before the dialer started
    peak_rss_mb: float  # VmHWM: the process's high-water resident set
    peak_active: int  # calls held at once, from the dial log
    fill_s: float  # from the dialer's start until N calls had started
    run_s: float  # from the dialer's start until all 2 x N calls had started
    cpu_s: float  # this process, user + system, during the run
    lags_ms: list[float]  # one per waiting call, sorted
    overhang_ms: list[float]  # first N calls: line held (start to logged end) minus hold, sorted


def status_kib(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_rss_mb() -> float:
    try:
        return status_kib("VmHWM") / 1024
    except (OSError, RuntimeError):  # no /proc: ru_maxrss is in KiB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    return status_kib("VmRSS") / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of values already sorted."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def set_up(store: Store, calls: int, hold: float) -> None:
    """A trunk and a deployment with ``calls`` lines, and 2 x ``calls`` queued calls."""
    config = {
        "seed": 1,
        "rules": [{"match": ".", "outcome": "voice", "ring_s": 0, "talk_s": hold}],
    }
    trunk = store.create_trunk(
        "bench", TrunkKind.SIMULATED, lines=calls, cps=CPS, config=json.dumps(config)
    )
    account, _ = store.create_account(EMAIL)
    app = store.create_application(account.email, "bench")
    # Detection off: this measures lines and dispatch (detection: benchmarks/detect.py).
    dep = store.create_deployment(
        app.id, max_lines=calls, cps=CPS, trunk_id=trunk.id, detection=False
    )
    total = 2 * calls
    numbers = [f"+1617{FIRST_NUMBER + index:07d}" for index in range(total)]
    rows = [
        NewCall(i, n, None, None, None, "{}", None)
        for i, n in zip(new_call_ids(total), numbers, strict=True)
    ]
    store.queue_calls(dep, Schedule(start_at=time.time()), rows)


async def hold_calls(store: Store, calls: int, dial_log: Path) -> float:
    """Run the dialer until all 2 x ``calls`` calls have started, then stop it.

    Returns the Unix time the dialer started.
    """
    settings = DialerSettings(
        poll=POLL,
        max_active=max(DialerSettings().max_active, calls),
        dial_log=dial_log,
        drain_timeout=DRAIN_TIMEOUT,
    )
    dialer = Dialer(store, settings, worker_id="bench")
    started = time.time()
    task = asyncio.create_task(dialer.run(), name="dialer")
    try:
        while dialer.dialed < 2 * calls:
            if task.done():
                raise RuntimeError(f"the dialer stopped after {dialer.dialed} dials")
            elapsed = time.time() - started
            if elapsed > RUN_TIMEOUT:
                raise RuntimeError(f"only {dialer.dialed} of {2 * calls} dials in {elapsed:.0f} s")
            await asyncio.sleep(SAMPLE_EVERY)
    finally:
        dialer.stop()
        await task
    return started


def read_dial_log(path: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Start and end time (Unix seconds) of each call, from the dial log."""
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["attempt"] != 1:
            raise RuntimeError(f"call {entry['call_id']} was attempted more than once")
        if entry["ended_at"] is None:
            if entry["call_id"] in starts:
                raise RuntimeError(f"call {entry['call_id']} was started twice")
            starts[entry["call_id"]] = entry["started_at"]
        else:
            ends[entry["call_id"]] = entry["ended_at"]
    return starts, ends


def lags_ms(starts: dict[str, float], ends: dict[str, float], lines: int) -> list[float]:
    """For each call that waited for a line, its start minus the end of the call it replaced."""
    start_order = sorted(starts.values())
    waiting = start_order[lines:]
    freed = sorted(ends.values())
    if len(freed) < len(waiting):
        raise RuntimeError(f"{len(waiting)} calls waited for a line, only {len(freed)} ended")
    lags = [(start - end) * 1000 for start, end in zip(waiting, freed, strict=False)]
    if min(lags, default=0.0) < 0:
        raise RuntimeError(f"a call started {-min(lags):.1f} ms before a line was free")
    return sorted(lags)


def overhang_ms(
    starts: dict[str, float], ends: dict[str, float], lines: int, hold: float
) -> list[float]:
    """For the first ``lines`` calls to start: how much longer than ``hold`` each leg was up.

    A simulated call keeps its own timeline from the dial (the callee hangs up ``ring_s +
    talk_s`` after it), so this is the event loop's delay in running the callee's timer.
    """
    first = sorted(starts, key=starts.__getitem__)[:lines]
    return sorted((ends[c] - starts[c] - hold) * 1000 for c in first)


def max_concurrent(starts: dict[str, float], ends: dict[str, float]) -> int:
    points = sorted([(t, 1) for t in starts.values()] + [(t, -1) for t in ends.values()])
    level = peak = 0
    for _, step in points:
        level += step
        peak = max(peak, level)
    return peak


def run(calls: int, hold: float, tmp: Path) -> Figures:
    store = Store.open(f"sqlite:///{tmp / 'outdial.db'}")
    dial_log = tmp / "dial.jsonl"
    try:
        set_up(store, calls, hold)
        load = os.getloadavg()[0]
        rss_before = rss_mb()
        cpu_before = cpu_seconds()
        started = asyncio.run(hold_calls(store, calls, dial_log))
        cpu = cpu_seconds() - cpu_before
        peak = peak_rss_mb()
    finally:
        store.close()
    starts, ends = read_dial_log(dial_log)
    if len(starts) != 2 * calls:
        raise RuntimeError(f"{len(starts)} calls started, not {2 * calls}")
    start_order = sorted(starts.values())
    return Figures(
        calls=calls,
        hold_s=hold,
        load=load,
        rss_before_mb=rss_before,
        peak_rss_mb=peak,
        peak_active=max_concurrent(starts, ends),
        fill_s=start_order[calls - 1] - started,
        run_s=start_order[-1] - started,
        cpu_s=cpu,
        lags_ms=lags_ms(starts, ends, calls),
        overhang_ms=overhang_ms(starts, ends, calls, hold),
    )


def show(f: Figures) -> None:
    lags = f.lags_ms
    per_call_kib = (f.peak_rss_mb - f.rss_before_mb) * 1024 / f.calls
    print(
        f"calls held at once        {f.calls:,} lines, {2 * f.calls:,} calls, {f.hold_s:g} s each"
    )
    print(f"1-min load before         {f.load:.2f} on {os.cpu_count()} CPUs")
    print(f"peak calls up at once     {f.peak_active:,} (from the dial log)")
    print(f"first {f.calls:,} started in      {f.fill_s:8.2f} s")
    print(f"all {2 * f.calls:,} started in       {f.run_s:8.2f} s  (CPU {f.cpu_s:.2f} s)")
    print(f"RSS before dialing        {f.rss_before_mb:8.1f} MB")
    print(f"peak RSS (VmHWM)          {f.peak_rss_mb:8.1f} MB  ({per_call_kib:.1f} KiB per call)")
    print(f"line-free -> next start   {len(lags):,} calls waited for a line")
    for name, fraction in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        print(f"  {name}                     {percentile(lags, fraction):10.1f} ms")
    print(f"  min / max               {lags[0]:10.1f} / {lags[-1]:.1f} ms")
    over = f.overhang_ms
    print(f"line held beyond talk     first {f.calls:,} calls: logged end - start - {f.hold_s:g} s")
    for name, fraction in (("p50", 0.5), ("p99", 0.99)):
        print(f"  {name}                     {percentile(over, fraction):10.1f} ms")


def significant(value: float) -> float:
    return float(f"{value:.4g}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5_000, help="calls held up at once")
    parser.add_argument("--hold", type=float, default=20.0, help="seconds each call stays up")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.hold < 0:
        parser.error("--calls must be at least 1 and --hold at least 0")
    tmp = Path(tempfile.mkdtemp(prefix="outdial-bench-"))
    try:
        figures = run(args.calls, args.hold, tmp)
    finally:
        if args.keep:
            print(f"kept {tmp} (dial log: {tmp / 'dial.jsonl'})", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    show(figures)
    result = {
        "calls": figures.calls,
        "hold_s": figures.hold_s,
        "peak_rss_mb": significant(figures.peak_rss_mb),
        "lag_p50_ms": significant(percentile(figures.lags_ms, 0.5)),
        "lag_p99_ms": significant(percentile(figures.lags_ms, 0.99)),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
