"""Callee-type detection on the generated corpus (benchmarks/corpus.py).

    .venv/bin/python benchmarks/detect.py [--per-kind 6] [--chunk-ms 20]

Synthesises (or reads from ``var/detect-corpus/``) ``--per-kind`` clips of every scenario for
every voice, runs a fresh ``Detector`` on each clip fed ``--chunk-ms`` at a time from answer
until it is finished, and prints:

- the confusion matrix (rows: truth, columns: verdict) and accuracy, overall and for the
  tuning voices and the held-out voices apart;
- the share of people called answeringmachine;
- for people decided ``voice``, the median and p90 time from the end of their first words to
  the decision (the dead air a person hears);
- the median decision time of voicemail clips (from answer);
- the share of voicemail beeps whose end was reported within 100 ms of the truth, and the
  median and p90 error of the beep ends found;
- the real-time factor: seconds of audio processed per CPU second of detection (synthesis
  excluded).

The last line is one JSON object with those figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus
from outdial.audio.frames import FRAME_SAMPLES, SAMPLE_RATE
from outdial.calls import CalleeType
from outdial.detect import Detector, Verdict

CLASSES = (
    CalleeType.VOICE,
    CalleeType.ANSWERINGMACHINE,
    CalleeType.FAX,
    CalleeType.INFORMATIONTONE,
    CalleeType.UNKNOWN,
)
BEEP_TOLERANCE_MS = 100  # ms: a beep end reported this close counts as located
SHORT = {"voice": "voice", "answeringmachine": "machine", "fax": "fax"}
SHORT |= {"informationtone": "sit", "unknown": "unknown"}


def run(clip: corpus.Clip, chunk: int) -> tuple[Verdict | None, float, float]:
    """(final verdict, seconds of audio processed, CPU seconds)."""
    detector = Detector()
    audio = clip.audio
    start = time.process_time()
    for i in range(0, len(audio) - chunk + 1, chunk):
        detector.feed(audio[i : i + chunk])
        if detector.finished:
            break
    cpu = time.process_time() - start
    return detector.verdict, detector.position_ms / 1000, cpu


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def report(name: str, rows: list[tuple[corpus.Clip, Verdict | None]]) -> dict[str, float | None]:
    confusion: Counter[tuple[str, str]] = Counter()
    for clip, verdict in rows:
        got = verdict.callee_type.value if verdict else "none"
        confusion[clip.label.value, got] += 1
    print(f"\n{name}: {len(rows)} clips")
    print("truth \\ verdict " + "".join(f"{SHORT[c.value]:>9}" for c in CLASSES) + "     none")
    for truth in CLASSES:
        cells = [confusion[truth.value, c.value] for c in CLASSES]
        cells.append(confusion[truth.value, "none"])
        print(f"{SHORT[truth.value]:<16}" + "".join(f"{n:>9}" for n in cells))
    correct = sum(confusion[c.value, c.value] for c in CLASSES)
    people = [v for c, v in rows if c.label is CalleeType.VOICE]
    as_machine = sum(1 for v in people if v and v.callee_type is CalleeType.ANSWERINGMACHINE)
    dead_air = [
        float(v.decided_ms - c.words_end_ms)
        for c, v in rows
        if v and c.words_end_ms is not None and v.callee_type is CalleeType.VOICE
    ]
    machines = [(c, v) for c, v in rows if c.label is CalleeType.ANSWERINGMACHINE and v is not None]
    machine_ms = [
        float(v.decided_ms) for _, v in machines if v.callee_type is CalleeType.ANSWERINGMACHINE
    ]
    beeps = [c for c, _ in rows if c.beep_end_ms is not None]
    located = sum(
        1
        for c, v in machines
        if c.beep_end_ms is not None
        and v.beep_end_ms is not None
        and abs(v.beep_end_ms - c.beep_end_ms) <= BEEP_TOLERANCE_MS
    )
    beep_errors = [
        float(abs(v.beep_end_ms - c.beep_end_ms))
        for c, v in machines
        if c.beep_end_ms is not None and v.beep_end_ms is not None
    ]
    figures = {
        "clips": len(rows),
        "accuracy": correct / len(rows) if rows else None,
        "people_as_machine": as_machine / len(people) if people else None,
        "voice_after_words_p50_ms": percentile(dead_air, 50),
        "voice_after_words_p90_ms": percentile(dead_air, 90),
        "machine_decision_p50_ms": percentile(machine_ms, 50),
        "beeps_within_100ms": located / len(beeps) if beeps else None,
        "beep_error_p50_ms": percentile(beep_errors, 50),
        "beep_error_p90_ms": percentile(beep_errors, 90),
    }
    for key, value in figures.items():
        shown = f"{value:.3f}" if isinstance(value, float) and value < 10 else value
        print(f"  {key}: {shown}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=6, help="clips per scenario and voice")
    parser.add_argument("--chunk-ms", type=int, default=20, help="audio fed per call (ms)")
    parser.add_argument("--show-errors", action="store_true", help="list misclassified clips")
    args = parser.parse_args()
    chunk = args.chunk_ms * SAMPLE_RATE // 1000 // FRAME_SAMPLES * FRAME_SAMPLES
    made = time.monotonic()
    store = corpus.Corpus()
    splits = {
        "tuning voices": list(corpus.specs(args.per_kind, corpus.TRAIN_VOICES, seed=1)),
        "held-out voices": list(corpus.specs(args.per_kind, corpus.heldout_voices(), seed=2)),
    }
    clips = {name: [store.clip(s) for s in specs] for name, specs in splits.items()}
    print(f"corpus ready in {time.monotonic() - made:.1f} s ({corpus.DEFAULT_CACHE})")
    audio_s = cpu_s = 0.0
    results: dict[str, list[tuple[corpus.Clip, Verdict | None]]] = {}
    for name, group in clips.items():
        results[name] = []
        for clip in group:
            verdict, seconds, cpu = run(clip, chunk)
            audio_s += seconds
            cpu_s += cpu
            results[name].append((clip, verdict))
            if args.show_errors and (verdict is None or verdict.callee_type is not clip.label):
                print(f"  wrong: {clip.name} {clip.spec.channel} -> {verdict}")
            elif args.show_errors and clip.beep_end_ms is not None and verdict is not None:
                found = verdict.beep_end_ms
                if found is None or abs(found - clip.beep_end_ms) > BEEP_TOLERANCE_MS:
                    print(f"  beep: {clip.name} {clip.spec.channel} {clip.beep_end_ms} -> {found}")
    figures = {name: report(name, rows) for name, rows in results.items()}
    everything = report("all", [row for rows in results.values() for row in rows])
    rtf = audio_s / cpu_s if cpu_s else None
    print(f"\nreal-time factor: {rtf:.0f} ({audio_s:.0f} s of audio in {cpu_s:.2f} CPU s)")
    summary = {
        **everything,
        "heldout_accuracy": figures["held-out voices"]["accuracy"],
        "tuning_accuracy": figures["tuning voices"]["accuracy"],
        "real_time_factor": rtf,
        "chunk_ms": args.chunk_ms,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
