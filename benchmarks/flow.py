"""Call flows on real SIP calls: the appointment reminder on 200 lines against sipp.

    .venv/bin/python benchmarks/flow.py --calls 400 [--machines 40] [--workdir DIR] [--voice V]

Three phases, in one run, with tcpdump capturing loopback throughout (so each phase pays for it):

1. **Silent calls** (``benchmarks/sip.py``'s outdial side, its code reused): N calls through a
   200-line SIP trunk to a sipp callee that streams 5 s of tone and hangs up; no flow.
2. **People**: N calls through a 200-line trunk, each running ``examples/flows/
   appointment_reminder.yaml`` (detection on, as deployments have it) in ``--voice`` (default
   ``en-us``, espeak-ng, instead of the example's festival voice: the platform's latencies,
   comparable with earlier runs; ``--voice festival:us-slt-hts`` measures the example as it
   ships, a cold cache then costing ~20 times espeak-ng's synthesis): sipp answers after
   200 ms of ringing, says "Hello?" (espeak-ng), and presses 1 (RFC 4733, sipp's own DTMF
   capture) 3 s after the answer, during the greeting; the flow barges in, confirms, says
   thanks (about 1.9 s) and hangs up: about 5 s a call, like the silent calls.
3. **Voicemails**: M calls to a sipp voicemail (greeting, 500 ms beep at 1000 Hz, quiet); the
   flow waits for the beep and leaves its message. Not counted in the throughput.

Latencies come from the capture (``benchmarks/wire.py``, no outdial code), per call:
- answer → first prompt packet: the 200 OK on the wire to our first RTP packet that is not
  silence;
- key → next prompt: sipp's first RFC 4733 packet to the first packet of the "thank you"
  prompt (found by its first loud frame, as synthesised again here, less the frames before
  it);
- beep end → message: the callee's last beep packet to our first non-silent packet after it.

Prints the figures, then as its last line one JSON object:
``{"calls", "machines", "first_prompt_p50_ms", "first_prompt_p99_ms", "key_prompt_p50_ms",
"key_prompt_p99_ms", "beep_message_p50_ms", "beep_message_p99_ms", "flow_cps", "silent_cps",
"ratio", "failed", "silent_failed", "max_concurrent", "invite_retransmitted"}``.

The callees absorb a retransmitted INVITE (as a UAS's server transaction does); sipp's default
would abort such a call. Under a burst of 200 answers our loop can read the 100/180 late
enough that Timer A (500 ms) fires first: ``invite_retransmitted`` counts those calls.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import sip
import wire
from outdial.calls import CallStatus
from outdial.dispatch.dialer import Dialer, DialerSettings
from outdial.flow.engines import synthesizers
from outdial.flow.voices import parse_voice, voice_problem
from outdial.options import Schedule
from outdial.store import db
from outdial.store.store import NewCall, Store, new_call_ids
from outdial.telephony.carrier import Carrier
from outdial.telephony.sip.carrier import SipCarrier
from outdial.telephony.sip.config import SipTrunkConfig, load_sip_config
from outdial.telephony.sip.uri import SipUri
from outdial.trunks import Trunk, TrunkKind

HERE = Path(__file__).parent
REMINDER = HERE.parent / "examples" / "flows" / "appointment_reminder.yaml"
DTMF_1 = Path("/usr/share/sip-tester/dtmf_2833_1.pcap")
RTP_PORTS = (30000, 31000)  # as benchmarks/sip.py: its silent calls use the same range
KEY_MS = 3000  # the callee presses 1 this long after the answer (the greeting is ~4.2 s)
RING_MS = 200  # the scenarios' ringing, as benchmarks/sip.py's callee
BEEP_HZ = 1000.0
THANKS = "Thank you. See you soon."
NAMES = [
    "Ann",
    "Bob",
    "Carla",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jamal",
    "Kofi",
    "Lena",
    "Marta",
    "Nils",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Vera",
    "Wei",
    "Xena",
    "Yusuf",
    "Zoe",
    "Aaron",
    "Bea",
    "Cyril",
    "Dana",
]  # fmt: skip  (first names vary per call, so greetings are synthesised while it rings)
SILENCE = bytes([0xFF]) * 160  # what outdial sends between prompts (µ-law zero)
TEL_EVENT = 101


@dataclass
class CallOnWire:
    """One call as the capture shows it."""

    call_id: str
    our_port: int = 0
    their_port: int = 0
    answered_at: float | None = None
    ended_at: float | None = None
    invites: int = 0  # INVITEs we sent (more than 1: Timer A retransmitted it)


@dataclass
class Phase:
    calls: int
    elapsed: float
    failed: int
    max_up: int
    first_prompt_ms: list[float] = field(default_factory=list)
    key_prompt_ms: list[float] = field(default_factory=list)
    beep_message_ms: list[float] = field(default_factory=list)

    @property
    def cps(self) -> float:
        return self.calls / self.elapsed


def _audio_files(work: Path) -> tuple[Path, Path]:
    """The person's "Hello?" then quiet, and the voicemail: greeting, beep, quiet (µ-law)."""

    def say(text: str, voice: str, speed: int) -> np.ndarray:
        wav = subprocess.run(
            ["espeak-ng", "--stdout", "-v", voice, "-s", str(speed), "--", text],
            capture_output=True,
            check=True,
        ).stdout
        ulaw = subprocess.run(
            [
                *("sox", "-q", "-t", "wav", "-", "-r", "8000", "-c", "1", "-t", "ul", "-"),
                *("sinc", "300-3400", "norm", "-6"),
            ],
            input=wav,
            capture_output=True,
            check=True,
        ).stdout
        return wire.ULAW[np.frombuffer(ulaw, np.uint8)]

    def quiet(seconds: float) -> np.ndarray:
        return np.zeros(int(8000 * seconds), np.int16)

    person = work / "person.ul"
    person.write_bytes(
        wire.ulaw_encode(np.concatenate([quiet(0.2), say("Hello?", "en-us", 170), quiet(9.0)]))
    )
    t = np.arange(4000) / 8000
    beep = (6000 * np.sin(2 * np.pi * BEEP_HZ * t)).astype(np.int16)
    greeting = say(
        "The person you are calling is not available. Please leave a message after the tone.",
        "en-gb+f2",
        150,
    )
    machine = work / "machine.ul"
    machine.write_bytes(
        wire.ulaw_encode(np.concatenate([quiet(0.2), greeting, quiet(0.3), beep, quiet(14.0)]))
    )
    return person, machine


def _start_sipp(
    work: Path, name: str, calls: int, values: dict[str, object], port_from: int
) -> tuple[subprocess.Popen[bytes], int]:
    text = (HERE / "sip" / f"{name}.xml").read_text()
    for key, value in values.items():
        text = text.replace(f"[{key}]", str(value))
    scenario = work / f"{name}.xml"
    scenario.write_text(text)
    base = sip.free_port_block(30, port_from)
    args = [
        "sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(base), "-mp", str(base + 2),
        "-cp", str(base + 28), "-m", str(calls), "-nostdin", "-timeout", "900s", "-trace_err",
        "-buff_size", "4194304",
    ]  # fmt: skip
    log = (work / f"{name}.log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    time.sleep(0.5)
    return process, base


def reminder(voice: str) -> str:
    """The example reminder flow, speaking in ``voice`` (the example's own voice is replaced)."""
    text, count = re.subn(r"(?m)^voice: .*$", f"voice: '{voice}'", REMINDER.read_text())
    assert count == 1, "the example flow names its voice on one line"
    return text


def _run_flows(
    work: Path, name: str, calls: int, sipp_port: int, kind: str, voice: str
) -> tuple[float, int, int, list[str]]:
    """Queue ``calls`` reminder calls to the sipp on ``sipp_port`` and dial them all; the
    elapsed time, calls that failed (not completed, or without the expected result), the most
    calls up at once, and the SIP Call-IDs are read from the capture later."""
    path = work / f"{name}.db"
    db.migrate(db.make_engine(f"sqlite:///{path}"))
    store = Store(db.make_engine(f"sqlite:///{path}"))
    config = SipTrunkConfig(
        uri=SipUri("127.0.0.1", port=sipp_port), local_host="127.0.0.1", rtp_ports=RTP_PORTS
    )
    trunk = store.create_trunk(
        "bench", TrunkKind.SIP, lines=sip.LINES, cps=1000.0, config=config.to_json()
    )
    account, _ = store.create_account("bench@example.com")
    app = store.create_application(account.email, "flow bench")
    store.save_flow(app.id, reminder(voice), "yaml", account.email)
    dep = store.create_deployment(app.id, trunk_id=trunk.id, max_lines=sip.LINES, cps=1000.0)
    ids = new_call_ids(calls)
    rows = [
        NewCall(
            call_id,
            "+16175551234",
            None,
            None,
            None,
            json.dumps({"first_name": NAMES[index % len(NAMES)], "date": "May 3"}),
            None,
        )
        for index, call_id in enumerate(ids)
    ]
    store.queue_calls(dep, Schedule(start_at=time.time()), rows)
    carriers: list[sip.CountingCarrier] = []

    def factory(t: Trunk) -> Carrier:
        carrier = sip.CountingCarrier(SipCarrier(load_sip_config(t.config)))
        carriers.append(carrier)
        return carrier

    async def main() -> float:
        settings = DialerSettings(poll=0.05, tts_cache=work / "tts")
        dialer = Dialer(store, settings, worker_id="bench", carrier_factory=factory)
        started = time.monotonic()
        task = asyncio.create_task(dialer.run())
        while await asyncio.to_thread(sip._pending, path):
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - started
        dialer.stop()
        await task
        return elapsed

    elapsed = asyncio.run(main())
    expected = {"confirmed": "yes"} if kind == "person" else {"voicemail": "left"}
    failed = 0
    for call_id in ids:
        call = store.get_call(account, call_id)
        if call.status is not CallStatus.COMPLETED or call.results != expected:
            failed += 1
    store.close()
    print(
        f"{name}: {calls} calls in {elapsed:.1f} s ({calls / elapsed:.1f}/s), {failed} failed, "
        f"{carriers[0].max_up} up at once"
    )
    return elapsed, failed, carriers[0].max_up, ids


# -- the capture ------------------------------------------------------------------------------

HEADER = re.compile(rb"^(Call-ID|CSeq):\s*(.+?)\r?$", re.MULTILINE | re.IGNORECASE)
MEDIA = re.compile(rb"^m=audio (\d+) ", re.MULTILINE)


def calls_on_wire(datagrams: Sequence[wire.Datagram], sipp_port: int) -> list[CallOnWire]:
    """The calls between us and the sipp on ``sipp_port``: ports, answer and end times."""
    calls: dict[str, CallOnWire] = {}
    for d in datagrams:
        if sipp_port not in (d.src, d.dst) or d.data[:1] not in (b"I", b"S", b"B"):
            continue
        headers = {k.lower(): v.strip() for k, v in HEADER.findall(d.data)}
        call_id = headers.get(b"call-id", b"").decode()
        if not call_id:
            continue
        call = calls.setdefault(call_id, CallOnWire(call_id))
        cseq = headers.get(b"cseq", b"")
        media = MEDIA.search(d.data)
        if d.data.startswith(b"INVITE ") and d.dst == sipp_port and media:
            call.our_port = int(media.group(1))
            call.invites += 1
        elif d.data.startswith(b"SIP/2.0 200") and cseq.endswith(b"INVITE") and media:
            if call.answered_at is None:
                call.answered_at = d.at
                call.their_port = int(media.group(1))
        elif d.data.startswith(b"BYE ") and call.ended_at is None:
            call.ended_at = d.at
    return [c for c in calls.values() if c.answered_at is not None and c.our_port]


class Streams:
    """RTP packets by (source port, destination port), in time order."""

    def __init__(self, packets: Sequence[wire.Rtp]) -> None:
        self._by: dict[tuple[int, int], list[wire.Rtp]] = defaultdict(list)
        self._to: dict[int, list[wire.Rtp]] = defaultdict(list)
        for p in packets:
            self._by[(p.src, p.dst)].append(p)
            self._to[p.dst].append(p)
        self._times = {key: [p.at for p in value] for key, value in self._by.items()}
        self._to_times = {key: [p.at for p in value] for key, value in self._to.items()}

    def window(self, src: int, dst: int, start: float, end: float) -> list[wire.Rtp]:
        packets, times = self._by.get((src, dst), []), self._times.get((src, dst), [])
        return packets[bisect.bisect_left(times, start) : bisect.bisect_right(times, end)]

    def to(self, dst: int, start: float, end: float) -> list[wire.Rtp]:
        packets, times = self._to.get(dst, []), self._to_times.get(dst, [])
        return packets[bisect.bisect_left(times, start) : bisect.bisect_right(times, end)]


def _sounding(packet: wire.Rtp) -> bool:
    """Audio that is not outdial's silence filler: a prompt is playing."""
    return packet.payload_type == wire.PCMU and packet.payload != SILENCE


def _loud_frame(prompt: bytes) -> tuple[np.ndarray, int]:
    """The prompt's first loud 20 ms frame (decoded), and its index in the prompt."""
    for index in range(len(prompt) // 160):
        samples = wire.ULAW[np.frombuffer(prompt[index * 160 : (index + 1) * 160], np.uint8)]
        if np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 1000:
            return samples.astype(np.float64), index
    raise ValueError("the prompt is silent")


def _same_audio(packet: wire.Rtp, reference: np.ndarray) -> bool:
    """The packet carries ``reference``: sox dithers, so a prompt synthesised again differs in
    its lowest bits; the waveform correlates all the same."""
    if packet.payload_type != wire.PCMU or len(packet.payload) != len(reference):
        return False
    samples = packet.samples.astype(np.float64)
    norm = float(np.linalg.norm(samples) * np.linalg.norm(reference))
    return norm > 0 and float(samples @ reference) / norm > 0.95


def person_latencies(
    calls: Sequence[CallOnWire], streams: Streams, thanks: bytes
) -> tuple[list[float], list[float]]:
    reference, index = _loud_frame(thanks)
    first, key = [], []
    for call in calls:
        assert call.answered_at is not None
        end = call.ended_at or call.answered_at + 30.0
        ours = streams.window(call.our_port, call.their_port, call.answered_at, end + 0.5)
        spoken = next((p for p in ours if _sounding(p)), None)
        if spoken is not None:
            first.append((spoken.at - call.answered_at) * 1000)
        received = streams.to(call.our_port, call.answered_at, end)
        events = [p for p in received if p.payload_type == TEL_EVENT]
        if not events:
            continue
        after = (p for p in ours if p.at > events[0].at)
        thanks_at = next((p.at for p in after if _same_audio(p, reference)), None)
        if thanks_at is not None:
            key.append((thanks_at - index * 0.020 - events[0].at) * 1000)
    return first, key


def machine_latencies(calls: Sequence[CallOnWire], streams: Streams) -> list[float]:
    out = []
    for call in calls:
        assert call.answered_at is not None
        end = call.ended_at or call.answered_at + 40.0
        heard = streams.window(call.their_port, call.our_port, call.answered_at, end)
        beep = wire.tone_packets(heard, BEEP_HZ)
        if not beep:
            continue
        ours = streams.window(call.our_port, call.their_port, beep[-1].at, end + 0.5)
        start = next((p for p in ours if _sounding(p)), None)
        if start is not None:
            out.append((start.at - beep[-1].at) * 1000)
    return out


def pct(values: Sequence[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--machines", type=int, help="voicemail calls (default: calls / 10)")
    parser.add_argument("--workdir", type=Path, help="keep sipp's logs, databases, capture here")
    parser.add_argument(
        "--voice",
        default="en-us",
        help="the flow's voice (default en-us, espeak-ng: the platform's own latencies, as in "
        "earlier runs; the example's festival:us-slt-hts shows the cost of a slower voice)",
    )
    args = parser.parse_args(argv)
    problem = voice_problem(args.voice)
    if problem:
        parser.error(problem)
    machines = args.machines if args.machines is not None else max(20, args.calls // 10)
    for tool in ("sipp", "tcpdump", "espeak-ng", "sox"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (scripts/system-deps)", file=sys.stderr)
            return 1
    with tempfile.TemporaryDirectory(prefix="outdial-flow-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(f"1-min load before: {os.getloadavg()[0]:.2f}; voice {args.voice}")
        person_audio, machine_audio = _audio_files(work)
        people, people_port = _start_sipp(
            work, "flow_person", args.calls,
            {"audio": person_audio, "key_ms": KEY_MS, "digit_pcap": DTMF_1}, 45000,
        )  # fmt: skip
        voicemail, machine_port = _start_sipp(
            work, "flow_machine", machines, {"audio": machine_audio}, 46000
        )
        capture = wire.Capture.start(
            work / "flow.pcap", [RTP_PORTS, (people_port, people_port), (machine_port,) * 2]
        )
        try:
            # 1. silent calls: benchmarks/sip.py's outdial side, unchanged
            db.migrate(db.make_engine(f"sqlite:///{work / 'outdial.db'}"))
            t = np.arange(8000 * sip.TALK_MS // 1000) / 8000
            tone_file = work / "voice.ul"
            tone = (5000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
            tone_file.write_bytes(wire.ulaw_encode(tone))
            silent_cps, silent_failed, _, _, _ = sip.run_outdial(work, args.calls, tone_file)
            # 2. people, 3. voicemails
            elapsed, failed, max_up, _ = _run_flows(
                work, "people", args.calls, people_port, "person", args.voice
            )
            _, machine_failed, _, _ = _run_flows(
                work, "voicemails", machines, machine_port, "machine", args.voice
            )
        finally:
            packets = capture.stop()
            for process in (people, voicemail):
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        datagrams = wire.read_pcap(capture.path)
        streams = Streams(packets)
        engine, voice = parse_voice(args.voice)
        thanks = synthesizers()[engine].synthesize(THANKS, voice)
        on_wire = calls_on_wire(datagrams, people_port)
        retransmitted = sum(1 for call in on_wire if call.invites > 1)
        first, key = person_latencies(on_wire, streams, thanks)
        beep = machine_latencies(calls_on_wire(datagrams, machine_port), streams)
    flow_cps = args.calls / elapsed
    print(
        f"answer -> first prompt packet: p50 {pct(first, 50)} ms, p99 {pct(first, 99)} ms "
        f"({len(first)} calls)"
    )
    print(f"key -> next prompt: p50 {pct(key, 50)} ms, p99 {pct(key, 99)} ms ({len(key)} calls)")
    print(
        f"beep end -> message: p50 {pct(beep, 50)} ms, p99 {pct(beep, 99)} ms ({len(beep)} calls)"
    )
    print(f"throughput: {flow_cps:.1f} flow calls/s vs {silent_cps:.1f} silent calls/s")
    print(f"people calls whose INVITE we retransmitted (Timer A, our loop behind): {retransmitted}")
    result = {
        "calls": args.calls,
        "machines": machines,
        "first_prompt_p50_ms": pct(first, 50),
        "first_prompt_p99_ms": pct(first, 99),
        "key_prompt_p50_ms": pct(key, 50),
        "key_prompt_p99_ms": pct(key, 99),
        "beep_message_p50_ms": pct(beep, 50),
        "beep_message_p99_ms": pct(beep, 99),
        "flow_cps": round(flow_cps, 2),
        "silent_cps": round(silent_cps, 2),
        "ratio": round(flow_cps / silent_cps, 3),
        "failed": failed + machine_failed,
        "silent_failed": silent_failed,
        "max_concurrent": max_up,
        "invite_retransmitted": retransmitted,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
