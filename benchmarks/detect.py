"""Callee-type detection on the generated corpus (benchmarks/corpus.py), against a baseline.

    .venv/bin/python benchmarks/detect.py [--per-kind 4] [--baseline-rev 7240c51] [--no-words]

Synthesises (or reads from ``var/detect-corpus/``) ``--per-kind`` clips of every scenario for
every voice and runs two detectors on each clip, fed 20 ms at a time from answer until each is
finished:

- **baseline**: the detector of ``--baseline-rev`` (by default the commit before revisions,
  phrase spotting and the new tone rules), loaded from git into a package of its own;
- **now**: this tree's ``Detector``, as a call runs it: the greeting-phrase spotter
  (``outdial.speech.spotter``, pocketsphinx keyword search) runs on the windows
  ``outdial.detect.spotting.SpotSchedule`` hands out and its hits reach the detector 100 ms
  after the window's end plus the window's decoding time (what a worker thread adds); and a
  flow that answers a ``voice`` verdict with a 3 s prompt tells the detector it is playing.

For each, overall, for the tuning voices and for the held-out voices, it prints the confusion
matrix of final verdicts and: first-verdict and final-verdict accuracy, revisions and wrong
revisions, people ever called answeringmachine (first or revised verdict), the dead air a
person hears (from the end of their first words to a ``voice`` verdict, p50/p90), the time of
the first answeringmachine verdict on voicemail (from answer, p50/p90), beeps located within
100 ms, and the real-time factor of the tone-and-rhythm detector (seconds of audio per CPU
second, spotting excluded). It also prints the spotter's CPU per call, and how many people who
talk over our prompt are revised when the detector is told of the prompt and when it is not.

Spotter results are cached per clip and window (``var/detect-corpus/spots/``): the first run
decodes, later ones read. The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import itertools
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus
from outdial.audio.frames import FRAME_MS, FRAME_SAMPLES
from outdial.calls import CalleeType
from outdial.detect import DetectionParams, Detector, Heard, Verdict
from outdial.detect.spotting import SpotSchedule

CLASSES = (
    CalleeType.VOICE,
    CalleeType.ANSWERINGMACHINE,
    CalleeType.FAX,
    CalleeType.INFORMATIONTONE,
    CalleeType.UNKNOWN,
)
BEEP_TOLERANCE_MS = 100  # ms: a beep end reported this close counts as located
PROMPT_MS = 3000  # ms of prompt a flow plays when the verdict is voice
SPOT_LATENCY_MS = 100  # ms a spotter result takes to come back, on top of its decoding
BASELINE_REV = "7240c51"  # the detector before revisions, words and the new tone rules
SHORT = {"voice": "voice", "answeringmachine": "machine", "fax": "fax"}
SHORT |= {"informationtone": "sit", "unknown": "unknown"}


@dataclass
class Outcome:
    verdicts: list[Verdict] = field(default_factory=list)
    audio_s: float = 0.0
    cpu_s: float = 0.0
    spot_cpu_s: float = 0.0
    spot_windows: int = 0

    @property
    def first(self) -> Verdict | None:
        return self.verdicts[0] if self.verdicts else None

    @property
    def final(self) -> Verdict | None:
        return self.verdicts[-1] if self.verdicts else None


# spotting -----------------------------------------------------------------------------------


class Spots:
    """The spotter's hits per clip and window, decoded once and cached."""

    def __init__(self, root: Path) -> None:
        from outdial.speech.spotter import GREETING_PHRASES, Spotter

        self.spotter = Spotter()
        version = json.dumps(sorted(GREETING_PHRASES.items()))
        self.version = hashlib.sha1(version.encode()).hexdigest()[:8]
        self.root = root / f"spots-{self.version}"
        self.root.mkdir(parents=True, exist_ok=True)

    def window(self, clip: corpus.Clip, start_ms: int, end_ms: int) -> tuple[list[Heard], float]:
        path = self.root / f"{clip.spec.key()}.json"
        cache: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        key = f"{start_ms}-{end_ms}"
        if key not in cache:
            a, b = start_ms * 8, end_ms * 8
            spotting = self.spotter.spot(clip.audio[a:b], offset_ms=start_ms)
            cache[key] = {
                "heard": [[s.phrase, s.end_ms] for s in spotting.phrases],
                "cpu": spotting.cpu_s,
            }
            path.write_text(json.dumps(cache))
        entry = cache[key]
        return [Heard(p, e) for p, e in entry["heard"]], float(entry["cpu"])


# running ------------------------------------------------------------------------------------


def run_now(
    clip: corpus.Clip, params: DetectionParams, spots: Spots | None, prompt: bool
) -> Outcome:
    """This tree's detector as a call runs it (words from the spotter, a prompt after voice)."""
    detector = Detector(params)
    out = Outcome()
    schedule = SpotSchedule()
    pending: list[tuple[int, list[Heard]]] = []  # (deliver at ms, hits)
    prompt_until: int | None = None
    audio = clip.audio
    aside = 0.0  # CPU seconds of the loop spent on spotting (cache reads), not detection
    started = time.process_time()
    for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        verdict = detector.feed(audio[i : i + FRAME_SAMPLES])
        now = detector.position_ms
        if verdict is not None:
            out.verdicts.append(verdict)
            if prompt and verdict.callee_type is CalleeType.VOICE and prompt_until is None:
                detector.playing(True)
                prompt_until = now + PROMPT_MS
            elif verdict.callee_type is not CalleeType.VOICE and prompt_until is not None:
                detector.playing(False)  # the flow's on: handler stops the prompt
                prompt_until = -1
        if prompt_until is not None and prompt_until >= 0 and now >= prompt_until:
            detector.playing(False)
            prompt_until = -1
        if detector.finished:
            break
        if spots is not None:
            for at, hits in [p for p in pending if p[0] <= now]:
                pending.remove((at, hits))
                detector.heard_words(hits)
            window = schedule.next_window(detector)
            if window is not None:
                before = time.process_time()
                hits, cpu = spots.window(clip, *window)
                aside += time.process_time() - before
                out.spot_cpu_s += cpu
                out.spot_windows += 1
                deliver = now + SPOT_LATENCY_MS + round(cpu * 1000)
                pending.append((deliver - deliver % FRAME_MS + FRAME_MS, hits))
    out.cpu_s = time.process_time() - started - aside
    _settle(detector, out)
    return out


def _settle(detector: Any, out: Outcome) -> None:
    """The clip ended: an undecided detector is settled as a call's end would settle it."""
    out.audio_s = detector.position_ms / 1000
    if not detector.finished:
        verdict = detector.end()
        if not out.verdicts or verdict != out.verdicts[-1]:
            out.verdicts.append(verdict)


def run_baseline(clip: corpus.Clip, make: Callable[[], Any]) -> Outcome:
    detector = make()
    out = Outcome()
    audio = clip.audio
    start = time.process_time()
    for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        verdict = detector.feed(audio[i : i + FRAME_SAMPLES])
        if verdict is not None and (
            not out.verdicts or verdict.callee_type != out.verdicts[-1].callee_type
        ):
            out.verdicts.append(verdict)
        elif verdict is not None:
            out.verdicts[-1] = verdict  # the beep end moved
        if detector.finished:
            break
    out.cpu_s = time.process_time() - start
    _settle(detector, out)
    if len(out.verdicts) > 1 and out.verdicts[-1].callee_type == out.verdicts[-2].callee_type:
        del out.verdicts[-2]  # end() settled the same verdict (a beep running to the end)
    return out


def load_baseline(rev: str) -> Callable[[], Any]:
    """The detector package of ``rev``, imported as ``baseline_detect``."""
    repo = Path(__file__).resolve().parent.parent
    tar = subprocess.run(
        ["git", "-C", str(repo), "archive", rev, "src/outdial/detect"],
        check=True,
        capture_output=True,
    ).stdout
    folder = Path(tempfile.mkdtemp(prefix="baseline-detect-"))
    with tarfile.open(fileobj=BytesIO(tar)) as archive:
        archive.extractall(folder, filter="data")
    package = folder / "baseline_detect"
    (folder / "src/outdial/detect").rename(package)
    for source in package.glob("*.py"):
        text = re.sub(r"\boutdial\.detect\b", "baseline_detect", source.read_text())
        source.write_text(text)
    sys.path.insert(0, str(folder))
    module = importlib.import_module("baseline_detect")
    return module.Detector  # type: ignore[no-any-return]


# figures ------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def figures(rows: list[tuple[corpus.Clip, Outcome]]) -> dict[str, Any]:
    n = len(rows)
    first_ok = sum(1 for c, o in rows if o.first and o.first.callee_type is c.label)
    final_ok = sum(1 for c, o in rows if o.final and o.final.callee_type is c.label)
    revised = [(c, o) for c, o in rows if len(o.verdicts) > 1 and _revised(o)]
    wrong_revisions = sum(1 for c, o in revised if o.final and o.final.callee_type is not c.label)
    people = [(c, o) for c, o in rows if c.label is CalleeType.VOICE]
    ever_machine = sum(
        1
        for _, o in people
        if any(v.callee_type is CalleeType.ANSWERINGMACHINE for v in o.verdicts)
    )
    dead_air = [
        float(o.first.decided_ms - c.words_end_ms)
        for c, o in people
        if o.first and c.words_end_ms is not None and o.first.callee_type is CalleeType.VOICE
    ]
    machines = [(c, o) for c, o in rows if c.label is CalleeType.ANSWERINGMACHINE]
    machine_ms = [
        float(
            next(v.decided_ms for v in o.verdicts if v.callee_type is CalleeType.ANSWERINGMACHINE)
        )
        for _, o in machines
        if any(v.callee_type is CalleeType.ANSWERINGMACHINE for v in o.verdicts)
    ]
    beeps = [(c, o) for c, o in machines if c.beep_end_ms is not None]
    located = sum(
        1
        for c, o in beeps
        if o.final is not None
        and o.final.beep_end_ms is not None
        and c.beep_end_ms is not None
        and abs(o.final.beep_end_ms - c.beep_end_ms) <= BEEP_TOLERANCE_MS
    )
    spotted = [o.spot_cpu_s for _, o in rows if o.spot_windows]
    return {
        "clips": n,
        "first_accuracy": first_ok / n if n else None,
        "final_accuracy": final_ok / n if n else None,
        "revisions": len(revised),
        "wrong_revisions": wrong_revisions,
        "people_ever_machine": ever_machine / len(people) if people else None,
        "person_dead_air_p50_ms": percentile(dead_air, 50),
        "person_dead_air_p90_ms": percentile(dead_air, 90),
        "machine_verdict_p50_ms": percentile(machine_ms, 50),
        "machine_verdict_p90_ms": percentile(machine_ms, 90),
        "beeps_within_100ms": located / len(beeps) if beeps else None,
        "spot_cpu_per_call_ms": 1000 * float(np.mean(spotted)) if spotted else None,
        "spot_cpu_per_call_p90_ms": 1000 * (percentile(spotted, 90) or 0) if spotted else None,
    }


def _revised(outcome: Outcome) -> bool:
    types = [v.callee_type for v in outcome.verdicts]
    return any(a != b for a, b in itertools.pairwise(types))


def confusion(rows: list[tuple[corpus.Clip, Outcome]]) -> None:
    counts: Counter[tuple[str, str]] = Counter()
    for clip, o in rows:
        counts[clip.label.value, o.final.callee_type.value if o.final else "none"] += 1
    print("  truth \\ final  " + "".join(f"{SHORT[c.value]:>9}" for c in CLASSES) + "     none")
    for truth in CLASSES:
        cells = [counts[truth.value, c.value] for c in CLASSES] + [counts[truth.value, "none"]]
        print(f"  {SHORT[truth.value]:<15}" + "".join(f"{n:>9}" for n in cells))


def show(name: str, base: dict[str, Any], now: dict[str, Any]) -> None:
    print(f"\n{name}: {now['clips']} clips          baseline        now")
    for key in base:
        if key == "clips":
            continue
        b, v = base[key], now[key]
        print(f"  {key:<26} {_fmt(b):>12} {_fmt(v):>12}")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value <= 1.0:
        return f"{value:.3f}"
    if isinstance(value, float):
        return f"{value:.0f}"
    return str(value)


def describe(o: Outcome) -> str:
    return " -> ".join(
        f"{SHORT[v.callee_type.value]}@{v.decided_ms} ({v.cause})"
        + (f" beep {v.beep_end_ms}" if v.beep_end_ms is not None else "")
        for v in o.verdicts
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=4, help="clips per scenario and voice")
    parser.add_argument("--baseline-rev", default=BASELINE_REV, help="git revision of baseline")
    parser.add_argument("--no-words", action="store_true", help="run without the spotter")
    parser.add_argument("--kinds", help="comma-separated scenarios (default: all)")
    parser.add_argument("--params", default="{}", help="JSON overrides of DetectionParams")
    parser.add_argument("--tuning-only", action="store_true", help="only the tuning voices")
    parser.add_argument("--show-errors", action="store_true", help="list clips gone wrong")
    args = parser.parse_args()
    params = dataclasses.replace(DetectionParams(), **json.loads(args.params))
    kinds = tuple(args.kinds.split(",")) if args.kinds else None
    made = time.monotonic()
    store = corpus.Corpus()
    splits = {
        "tuning voices": list(corpus.specs(args.per_kind, corpus.TRAIN_VOICES, 1, kinds)),
        "held-out voices": list(corpus.specs(args.per_kind, corpus.heldout_voices(), 2, kinds)),
    }
    if args.tuning_only:
        del splits["held-out voices"]
    clips = {name: [store.clip(s) for s in specs] for name, specs in splits.items()}
    print(f"corpus ready in {time.monotonic() - made:.1f} s ({corpus.DEFAULT_CACHE})")
    spots = None if args.no_words else Spots(corpus.DEFAULT_CACHE)
    baseline = load_baseline(args.baseline_rev)
    results: dict[str, dict[str, list[tuple[corpus.Clip, Outcome]]]] = {}
    over_prompt = {"told": [0, 0], "not told": [0, 0]}  # [revised, clips]
    started = time.monotonic()
    for name, group in clips.items():
        results[name] = {"baseline": [], "now": []}
        for clip in group:
            old = run_baseline(clip, baseline)
            new = run_now(clip, params, spots, prompt=True)
            results[name]["baseline"].append((clip, old))
            results[name]["now"].append((clip, new))
            if clip.spec.kind == "voice_interrupted":
                untold = run_now(clip, params, spots, prompt=False)
                over_prompt["told"][0] += _revised(new)
                over_prompt["not told"][0] += _revised(untold)
                over_prompt["told"][1] += 1
                over_prompt["not told"][1] += 1
            if args.show_errors:
                bad = new.final is None or new.final.callee_type is not clip.label
                wobbly = any(
                    v.callee_type is CalleeType.ANSWERINGMACHINE for v in new.verdicts
                ) and (clip.label is CalleeType.VOICE)
                beep = clip.beep_end_ms is not None and (
                    new.final is None
                    or new.final.beep_end_ms is None
                    or abs(new.final.beep_end_ms - clip.beep_end_ms) > BEEP_TOLERANCE_MS
                )
                if bad or wobbly or beep:
                    what = "wrong" if bad or wobbly else "beep"
                    print(f"  {what}: {clip.name} {clip.spec.channel} beep {clip.beep_end_ms}")
                    print(f"      -> {describe(new)}")
    print(f"ran in {time.monotonic() - started:.1f} s")
    summary: dict[str, Any] = {}
    both = {
        "baseline": [r for g in results.values() for r in g["baseline"]],
        "now": [r for g in results.values() for r in g["now"]],
    }
    for name, ran in [*results.items(), ("all", both)]:
        base, now = figures(ran["baseline"]), figures(ran["now"])
        show(name, base, now)
        if name == "all":
            print("\n  final verdicts now:")
            confusion(ran["now"])
            print("  final verdicts, baseline:")
            confusion(ran["baseline"])
            summary = {"baseline": base, "now": now}
        else:
            summary.setdefault("split", {})[name] = {
                "baseline_final_accuracy": base["final_accuracy"],
                "now_final_accuracy": now["final_accuracy"],
            }
    rtf = {
        k: sum(o.audio_s for _, o in rows) / max(1e-9, sum(o.cpu_s for _, o in rows))
        for k, rows in both.items()
    }
    base_rtf, now_rtf = rtf["baseline"], rtf["now"]
    print(f"\nreal-time factor (tone and rhythm): baseline {base_rtf:.0f}, now {now_rtf:.0f}")
    for told, (revised, total) in over_prompt.items():
        print(f"people talking over our prompt revised, prompt {told}: {revised} of {total}")
    kinds_seen = sorted({c.spec.kind for c, _ in both["now"]})
    print("\nfinal accuracy per scenario (baseline -> now):")
    for kind in kinds_seen:
        b = [o for c, o in both["baseline"] if c.spec.kind == kind]
        n = [(c, o) for c, o in both["now"] if c.spec.kind == kind]
        ok_b = sum(
            1 for (c, _), o in zip(n, b, strict=True) if o.final and o.final.callee_type is c.label
        )
        ok_n = sum(1 for c, o in n if o.final and o.final.callee_type is c.label)
        print(f"  {kind:<20} {ok_b:>4} -> {ok_n:>4} of {len(n)}")
    summary["rtf"] = rtf
    summary["over_prompt_revised"] = over_prompt
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
