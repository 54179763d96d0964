"""The media clock's cost: what keeping 1,000 answered calls' audio on the RTP clock adds.

    .venv/bin/python benchmarks/mediaclock.py --sessions 1000 --seconds 10

One ``RtpSession`` per call (a fake transport: packets are built and handed to it, not sent),
ticked as the carrier's one ``RtpClock`` ticks them, 50 times a simulated second, against
three cases measured in the same run:

- baseline: sending only (no media clock), as before it existed;
- flowing: listening, with the far end's audio arriving every 20 ms (nothing to fill);
- idle: listening, with a far end that sends nothing (every session delivers a silent frame
  every tick, to a reader that keeps it: the cost of 1,000 silent calls being listened to).

Prints CPU microseconds per session per tick for each (the fastest of three runs), then one
JSON line: ``{"sessions", "ticks", "baseline_us", "flowing_no_clock_us", "flowing_us",
"idle_us", "idle_extra_us"}``.
No timers are involved: the clock is one loop, here a Python loop over the sessions.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any, cast

from outdial.telephony.rtp.packet import RtpPacket
from outdial.telephony.rtp.session import RtpSession
from outdial.telephony.sip.sdp import PCMU, MediaParams

TICK = 0.020  # seconds
REPEATS = 3  # runs of each case; the fastest counts


class _Transport:
    def sendto(self, data: bytes, addr: object) -> None:
        pass

    def close(self) -> None:
        pass


def _sessions(count: int, *, listen: bool, sink: list[bytes]) -> list[RtpSession]:
    sessions = []
    for _ in range(count):
        session = RtpSession(on_audio=sink.append, on_digit=lambda _: None)
        session.connection_made(cast(Any, _Transport()))
        session.set_remote(MediaParams("127.0.0.1", 4000, PCMU, 101, "sendrecv"))
        session.sending = True
        if listen:
            session.listen(0.0)
        sessions.append(session)
    return sessions


def _run(count: int, ticks: int, *, listen: bool, far_end_sends: bool) -> float:
    """CPU µs per session per tick (packets received included when the far end sends)."""
    sink: list[bytes] = []
    sessions = _sessions(count, listen=listen, sink=sink)
    packets = [
        RtpPacket(PCMU, seq, seq * 160, 7, b"\x55" * 160).serialize() for seq in range(ticks)
    ]
    start = time.process_time()
    for tick in range(ticks):
        now = tick * TICK
        for session in sessions:
            if far_end_sends:
                session.datagram_received(packets[tick], ("127.0.0.1", 4000))
            session.tick(now)
        sink.clear()  # a reader that keeps up
    return (time.process_time() - start) / (count * ticks) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0, help="simulated seconds")
    args = parser.parse_args()
    ticks = int(args.seconds / TICK)

    def best(**case: bool) -> float:  # the least disturbed of a few runs: cores are shared
        return min(_run(args.sessions, ticks, **case) for _ in range(REPEATS))

    baseline = best(listen=False, far_end_sends=False)
    flowing = best(listen=True, far_end_sends=True)
    flowing_base = best(listen=False, far_end_sends=True)
    idle = best(listen=True, far_end_sends=False)
    print(f"{args.sessions} sessions, {ticks} ticks ({args.seconds:g} s of media)")
    print(f"baseline, sending only:              {baseline:6.2f} µs a session a tick")
    print(f"far end sending, no media clock:     {flowing_base:6.2f} µs")
    print(f"far end sending, media clock:        {flowing:6.2f} µs")
    print(f"far end silent, media clock filling: {idle:6.2f} µs")
    per_core = 1e6 / (50 * (idle - baseline)) if idle > baseline else float("inf")
    print(f"filling costs {idle - baseline:.2f} µs a tick: {per_core:,.0f} silent calls a core")
    result = {
        "sessions": args.sessions,
        "ticks": ticks,
        "baseline_us": round(baseline, 3),
        "flowing_no_clock_us": round(flowing_base, 3),
        "flowing_us": round(flowing, 3),
        "idle_us": round(idle, 3),
        "idle_extra_us": round(idle - baseline, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
