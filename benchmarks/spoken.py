"""Spoken answers on real SIP calls: the appointment reminder's question answered by voice,
against the same question answered by key, in one run.

    .venv/bin/python benchmarks/spoken.py --calls 100 [--workdir DIR]

Two phases, tcpdump capturing loopback throughout, each N calls at once through a 200-line SIP
trunk running ``examples/flows/appointment_reminder.yaml`` (detection on) against sipp, whose
callee answers after 200 ms and says "Hello?" (espeak-ng):

1. **Keys** (the baseline): the callee presses 1 (RFC 4733, sipp's capture) 7.5 s after the
   answer, while the question ("To confirm, press 1 or say yes. ...", from about 4.3 s to
   10.5 s) plays;
2. **Voice**: the callee says "yes" (espeak-ng, another voice than the prompts', µ-law RTP)
   7.5 s after the answer instead. The menu endpoints it (700 ms of closing silence), has it
   recognised in the dialer's worker threads, stops the question and says thanks.

From the capture (``benchmarks/wire.py``, no outdial code), per call: the key's first RFC 4733
packet, or the last packet of the spoken "yes", to the first packet of the "thank you" prompt.
The spoken answer's figure includes the 700 ms of silence that end an utterance by design.
The dialer's CPU (``time.process_time``: the event loop and the recognition threads) per call
in each phase; the difference is the cost of a spoken answer (endpointing and recognition).
A call fails unless it completed with ``{"confirmed": "yes"}``; ``recognised`` counts voice
calls whose trace says the answer was spoken.

Before the calls, the endpointer alone: CPU per 20 ms frame on 60 s of a simulated person's
line saying "yes" every 5 s, with a (quiet) prompt of ours playing throughout so the echo guard
works on every frame, against webrtcvad alone on the same frames (the baseline), and its
real-time factor.

Prints the figures, then as its last line one JSON object: ``{"calls", "key_prompt_p50_ms",
"key_prompt_p99_ms", "voice_prompt_p50_ms", "voice_prompt_p99_ms", "key_cpu_ms_per_call",
"voice_cpu_ms_per_call", "spoken_cpu_ms", "key_failed", "voice_failed", "recognised",
"endpointer_us_per_frame", "vad_us_per_frame", "endpointer_rtf"}``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import flow
import wire
from outdial.calls import CalleeType
from outdial.detect.vad import VoiceActivity
from outdial.flow.tts import EspeakSynthesizer
from outdial.flow.utterance import VAD_MODE, EchoReference, Endpointer, Utterance
from outdial.store import db
from outdial.store.store import Store
from outdial.telephony import simaudio

ANSWER_S = 7.5  # seconds from the answer to the callee's key or word: during the question
VOICE_PORTS = 47000  # where the voice phase's sipp binds (the key phase's: 45000)

VOICE = "en-us"  # the prompts' voice, as in the runs recorded so far (espeak-ng)


def _say(text: str, voice: str, speed: int) -> np.ndarray:
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


def _quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(8000 * seconds), np.int16)


def _audio_files(work: Path) -> tuple[Path, Path]:
    """The key caller's "Hello?" then quiet; the voice caller's "Hello?", quiet, "yes", quiet."""
    hello = _say("Hello?", "en-us", 170)
    key = work / "keys.ul"
    key.write_bytes(wire.ulaw_encode(np.concatenate([_quiet(0.2), hello, _quiet(14.0)])))
    yes = _say("yes", "en-us+f3", 160)
    gap = ANSWER_S - 0.2 - len(hello) / 8000
    voice = work / "voice.ul"
    voice.write_bytes(
        wire.ulaw_encode(np.concatenate([_quiet(0.2), hello, _quiet(gap), yes, _quiet(12.0)]))
    )
    return key, voice


def voice_latencies(
    calls: Sequence[flow.CallOnWire], streams: flow.Streams, thanks: bytes
) -> list[float]:
    """The spoken answer's last packet to the first packet of the "thank you" prompt."""
    reference, index = flow._loud_frame(thanks)
    out = []
    for call in calls:
        assert call.answered_at is not None
        end = call.ended_at or call.answered_at + 30.0
        heard = streams.window(call.their_port, call.our_port, call.answered_at, end)
        answer_from = call.answered_at + ANSWER_S - 0.3
        word = [p for p in wire.speech(heard) if answer_from <= p.at <= answer_from + 2.0]
        if not word:
            continue
        ours = streams.window(call.our_port, call.their_port, word[-1].at, end + 0.5)
        thanks_at = next((p.at for p in ours if flow._same_audio(p, reference)), None)
        if thanks_at is not None:
            out.append((thanks_at - index * 0.020 - word[-1].at) * 1000)
    return out


def endpointer_cost() -> tuple[float, float]:
    """CPU µs per frame: the endpointer, and webrtcvad alone (the baseline), on 60 s of a
    simulated person saying "yes" every 5 s over line noise."""
    says = tuple((float(at), "yes") for at in range(5, 60, 5))
    line = simaudio.answered_audio(CalleeType.VOICE, random.Random(1), 60.0, says)
    data = line.astype("<i2").tobytes()
    frames = [data[i : i + 320] for i in range(0, len(data) - 319, 320)]
    endpointer, vad = Endpointer(), VoiceActivity(VAD_MODE)
    sent = EchoReference()  # the worst case: one of our prompts (quiet here) plays throughout
    sent.play(0.0, np.full(len(line), 20, np.int16))
    cpu = time.process_time()
    utterances = sum(
        isinstance(endpointer.feed(f, sent.level(i * 0.020)), Utterance)
        for i, f in enumerate(frames)
    )
    endpointed = time.process_time() - cpu
    cpu = time.process_time()
    for f in frames:
        vad.is_speech(f)
    alone = time.process_time() - cpu
    assert utterances == 1 + len(says), utterances  # the "hello?" at the answer, the words
    return endpointed * 1e6 / len(frames), alone * 1e6 / len(frames)


def _recognised(work: Path, ids: Sequence[str]) -> int:
    store = Store(db.make_engine(f"sqlite:///{work / 'voice.db'}"))
    try:
        account = store.account_by_email("bench@example.com")
        assert account is not None
        count = 0
        for call_id in ids:
            details = store.get_call(account, call_id).details()
            trace = details["attempt_details"][0]["flow"]["trace"]
            ask = next((entry for entry in trace if entry["step"] == "ask"), None)
            count += ask is not None and ask["outcome"] == "said 'yes': key 1"
        return count
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--workdir", type=Path, help="keep sipp's logs, databases, capture here")
    args = parser.parse_args(argv)
    for tool in ("sipp", "tcpdump", "espeak-ng", "sox"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (scripts/system-deps)", file=sys.stderr)
            return 1
    with tempfile.TemporaryDirectory(prefix="outdial-spoken-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(f"1-min load before: {os.getloadavg()[0]:.2f}")
        endpointer_us, vad_us = endpointer_cost()
        print(
            f"endpointer: {endpointer_us:.1f} µs CPU per 20 ms frame (webrtcvad alone "
            f"{vad_us:.1f} µs), real-time factor {20_000 / endpointer_us:.0f}"
        )
        key_audio, voice_audio = _audio_files(work)
        keys, key_port = flow._start_sipp(
            work, "flow_person", args.calls,
            {"audio": key_audio, "key_ms": int(ANSWER_S * 1000), "digit_pcap": flow.DTMF_1},
            45000,
        )  # fmt: skip
        voices, voice_port = flow._start_sipp(
            work, "flow_voice", args.calls, {"audio": voice_audio}, VOICE_PORTS
        )
        capture = wire.Capture.start(
            work / "spoken.pcap", [flow.RTP_PORTS, (key_port,) * 2, (voice_port,) * 2]
        )
        try:
            cpu = time.process_time()
            _, key_failed, _, _ = flow._run_flows(
                work, "keys", args.calls, key_port, "person", VOICE
            )
            key_cpu = time.process_time() - cpu
            cpu = time.process_time()
            _, voice_failed, _, voice_ids = flow._run_flows(
                work, "voice", args.calls, voice_port, "person", VOICE
            )
            voice_cpu = time.process_time() - cpu
        finally:
            packets = capture.stop()
            for process in (keys, voices):
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        recognised = _recognised(work, voice_ids)
        datagrams = wire.read_pcap(capture.path)
        streams = flow.Streams(packets)
        thanks = EspeakSynthesizer().synthesize(flow.THANKS, "en-us")
        _, key = flow.person_latencies(flow.calls_on_wire(datagrams, key_port), streams, thanks)
        voice = voice_latencies(flow.calls_on_wire(datagrams, voice_port), streams, thanks)
    key_ms, voice_ms = key_cpu * 1000 / args.calls, voice_cpu * 1000 / args.calls
    print(f"key -> thanks: p50 {flow.pct(key, 50)} ms, p99 {flow.pct(key, 99)} ms ({len(key)})")
    print(
        f"end of 'yes' -> thanks: p50 {flow.pct(voice, 50)} ms, p99 {flow.pct(voice, 99)} ms "
        f"({len(voice)}; 700 ms of it is the closing silence that ends an utterance)"
    )
    print(
        f"dialer CPU per call: keys {key_ms:.1f} ms, voice {voice_ms:.1f} ms: a spoken answer "
        f"costs {voice_ms - key_ms:.1f} ms"
    )
    print(f"recognised as spoken: {recognised} of {args.calls}")
    result = {
        "calls": args.calls,
        "key_prompt_p50_ms": flow.pct(key, 50),
        "key_prompt_p99_ms": flow.pct(key, 99),
        "voice_prompt_p50_ms": flow.pct(voice, 50),
        "voice_prompt_p99_ms": flow.pct(voice, 99),
        "key_cpu_ms_per_call": round(key_ms, 1),
        "voice_cpu_ms_per_call": round(voice_ms, 1),
        "spoken_cpu_ms": round(voice_ms - key_ms, 1),
        "key_failed": key_failed,
        "voice_failed": voice_failed,
        "recognised": recognised,
        "endpointer_us_per_frame": round(endpointer_us, 1),
        "vad_us_per_frame": round(vad_us, 1),
        "endpointer_rtf": round(20_000 / endpointer_us),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
