"""Text-to-speech voices: synthesis time per sentence and real-time factor, per voice.

    .venv/bin/python benchmarks/voices.py [--rounds 3] [--voices flite:slt,festival:us-slt-hts]

Every voice of ``outdial flow voices`` (espeak-ng, flite, festival) speaks the same twelve
prompt sentences (the example flows' kind: greetings with names and dates, menus, numbers,
goodbyes) through outdial's own synthesisers, exactly as a call's prompt is made (the program,
then 8 kHz µ-law). Rounds interleave the voices, sentence by sentence, so a busy machine slows
them alike. The baseline is espeak-ng (with sox), the default voice, in the same run.

Per voice: wall time per sentence (p50 and p90), CPU per sentence (the synthesiser's
process and the conversion), the first greeting's time (what synthesis while ringing must hide),
and the real-time factor: seconds of audio per CPU second (higher is faster). Ends with one
JSON line: ``{"voices": {voice: {"p50_ms", "p90_ms", "cpu_ms", "rtf", "greeting_ms",
"audio_s_per_sentence", "vs_espeak"}}, "rounds", "sentences", "load"}``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from collections import defaultdict

from outdial.flow.engines import synthesizers
from outdial.flow.tts import SAMPLE_RATE
from outdial.flow.voices import all_voices, parse_voice, voice_problem

GREETING = "Hello Ann. This is Acme Dental with a reminder of your visit on Tuesday at 10."
SENTENCES = [
    GREETING,
    "Press 1 to confirm, or 2 to speak to our front desk.",
    "Sorry, I did not hear a key. Press 1 to confirm, or 2 for the front desk.",
    "That key is not an option.",
    "Thank you. See you soon.",
    "Please hold while we connect you to our front desk.",
    "Hello, this is Acme Dental reminding Bob of a visit on May 3. Call 617 555 0100 to change it.",
    "Your balance of 245 dollars and 17 cents is due on June 2.",
    "On a scale of 1 to 5, how likely are you to recommend us? Press a key now.",
    "Please leave a short comment after the tone, then press the pound key.",
    "We could not connect you. We will call you back.",
    "Goodbye.",
]
BASELINE = "espeak-ng:en-us"


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(voices: list[str], rounds: int) -> dict[str, dict[str, float]]:
    engines = synthesizers()
    wall: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, float] = defaultdict(float)
    audio_s: dict[str, float] = defaultdict(float)
    greeting: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        for sentence in SENTENCES:
            for spec in voices:
                engine, voice = parse_voice(spec)
                cpu_before = children_cpu_s() + time.process_time()
                started = time.perf_counter()
                audio = engines[engine].synthesize(sentence, voice)
                seconds = time.perf_counter() - started
                cpu[spec] += children_cpu_s() + time.process_time() - cpu_before
                wall[spec].append(seconds)
                audio_s[spec] += len(audio) / SAMPLE_RATE
                if sentence == GREETING:
                    greeting[spec].append(seconds)
    count = rounds * len(SENTENCES)
    out: dict[str, dict[str, float]] = {}
    for spec in voices:
        times = sorted(wall[spec])
        out[spec] = {
            "p50_ms": round(1000 * statistics.median(times), 1),
            "p90_ms": round(1000 * times[int(0.9 * (len(times) - 1))], 1),
            "cpu_ms": round(1000 * cpu[spec] / count, 1),
            "rtf": round(audio_s[spec] / cpu[spec], 1),
            "greeting_ms": round(1000 * statistics.median(greeting[spec]), 1),
            "audio_s_per_sentence": round(audio_s[spec] / count, 2),
        }
    base = out.get(BASELINE)
    for figures in out.values():
        figures["vs_espeak"] = round(figures["cpu_ms"] / base["cpu_ms"], 1) if base else 0.0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times each sentence is spoken")
    parser.add_argument("--voices", help="comma-separated voices (default: all of them)")
    args = parser.parse_args()
    voices = args.voices.split(",") if args.voices else all_voices()
    for spec in voices:
        problem = voice_problem(spec)
        if problem:
            parser.error(problem)
    if BASELINE not in voices:
        voices.insert(0, BASELINE)
    load = os.getloadavg()[0]
    print(f"{len(voices)} voices, {len(SENTENCES)} sentences, {args.rounds} rounds")
    print(f"1-min load before: {load:.2f}")
    results = measure(voices, args.rounds)
    print(
        f"\n{'voice':<22}{'p50 ms':>9}{'p90 ms':>9}{'CPU ms':>9}{'greeting':>10}"
        f"{'audio s':>9}{'RTF':>8}{'CPU vs espeak':>15}"
    )
    for spec, r in results.items():
        print(
            f"{spec:<22}{r['p50_ms']:>9.0f}{r['p90_ms']:>9.0f}{r['cpu_ms']:>9.0f}"
            f"{r['greeting_ms']:>10.0f}{r['audio_s_per_sentence']:>9.2f}{r['rtf']:>8.0f}"
            f"{r['vs_espeak']:>14.1f}x"
        )
    print("(per sentence; greeting: the reminder's first prompt; RTF: audio s per CPU s)")
    print(
        json.dumps(
            {
                "voices": results,
                "rounds": args.rounds,
                "sentences": len(SENTENCES),
                "load": round(load, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
