"""Spoken menu answers: recognition on voices the grammar was not tuned on, and TTS voices.

    .venv/bin/python benchmarks/speech.py [--cache var/speech-bench] [--show-errors]

Synthesises (once; kept in ``--cache``) answers, out-of-grammar speech and prompts with
espeak-ng (en-us, en+f3, en-gb), flite (kal, slt, awb, rms) and festival (cmu_us_slt_arctic_hts),
then decodes every clip in three conditions: clean (8 kHz), white noise at 15 dB SNR, and
through µ-law. Menu: ``{"yes": "1", "no": "2", "zero": "0", "one": "1"… "nine": "9"}``.

Answers are said as people say them ("yeah", "nope", "no thanks"…): right when the key is the
one their phrase stands for. Out-of-grammar speech (words and sentences that are no answer)
and silence/noise clips are right when nothing is matched; a key is a false accept.

Methods, in the same run:
- ``baseline``: the first recogniser (commit 7240c51): plain JSGF decoding of the same phrases
  (synonyms listed as phrases), the best hypothesis taken as it is;
- ``outdial``: :class:`outdial.speech.recognizer.Recognizer` as shipped (speech check, decoys,
  confidence threshold), and ``no-decoys``, the same without decoys; both at several
  thresholds (from one decoding: the confidence is kept and compared afterwards).

CPU per utterance: ``time.process_time`` around each ``recognize`` (p50/p95, outdial method).

Voices: each TTS voice says the prompt sentences; each is recognised (8 kHz µ-law) against a
grammar of all the sentences, without synonyms, decoys or threshold; understood = its own
sentence. Synthesis time is wall time per sentence, synthesis only.

The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from outdial.audio import g711
from outdial.audio.files import read_audio
from outdial.speech.engine import decoder, to_16k
from outdial.speech.grammar import normalise
from outdial.speech.lexicon import write_dictionary
from outdial.speech.recognizer import Recognition, Recognizer

Pcm = npt.NDArray[np.int16]

MENU = {"yes": "1", "no": "2", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
        "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}  # fmt: skip
ANSWERS = {"yes": "1", "yeah": "1", "sure": "1", "yes please": "1", "no": "2", "nope": "2",
           "no thanks": "2", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
           "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}  # fmt: skip
OUT_OF_GRAMMAR = ("banana", "potato", "excellent", "what time is it", "i am driving right now",
                  "can you call back tomorrow", "let me think about it", "my wife handles that",
                  "is this a robot", "good afternoon")  # fmt: skip
PROMPTS = ("hello this is a reminder from your doctor's office",
           "your appointment is tomorrow at ten in the morning",
           "press one or say yes to confirm",
           "press two or say no to cancel",
           "please hold while we connect you",
           "we did not get your answer",
           "thank you for your time goodbye",
           "the balance on your account is forty two dollars",
           "to hear this message again press nine",
           "please leave a message after the tone")  # fmt: skip
VOICES = ("espeak:en-us", "espeak:en+f3", "espeak:en-gb", "flite:kal", "flite:slt", "flite:awb",
          "flite:rms", "festival:us-slt-hts")  # fmt: skip
PROMPT_VOICES = ("espeak:en-us", "flite:kal", "flite:slt", "festival:us-slt-hts")
THRESHOLDS = (0.0, 0.5, 0.6, 0.7, 0.8)
NOISE_SNR_DB = 15.0
RATE = 8000


def synthesise(voice: str, text: str, out: Path) -> None:
    engine, _, name = voice.partition(":")
    if engine == "espeak":
        subprocess.run(["espeak-ng", "-v", name, "-w", str(out), text], check=True)
    elif engine == "flite":
        subprocess.run(["flite", "-voice", name, "-t", text, "-o", str(out)], check=True)
    elif engine == "festival":
        subprocess.run(
            ["text2wave", "-eval", "(voice_cmu_us_slt_arctic_hts)", "-o", str(out)],
            input=text.encode(),
            check=True,
        )
    else:
        raise ValueError(voice)


def clip(cache: Path, voice: str, text: str, times: dict[str, list[float]] | None = None) -> Pcm:
    path = cache / voice.replace(":", "_").replace("+", "_") / (text.replace(" ", "_") + ".wav")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        synthesise(voice, text, path)
        if times is not None:
            times.setdefault(voice, []).append(time.perf_counter() - started)
    return read_audio(path)


def noisy(pcm: Pcm, seed: int) -> Pcm:
    signal = pcm.astype(np.float64)
    power = float(np.sqrt(np.mean(signal**2))) or 1.0
    noise = np.random.default_rng(seed).normal(0.0, power / 10 ** (NOISE_SNR_DB / 20), len(signal))
    return np.clip(np.round(signal + noise), -32768, 32767).astype(np.int16)


def ulaw(pcm: Pcm) -> Pcm:
    return g711.ulaw_decode(g711.ulaw_encode(pcm))


CONDITIONS: dict[str, Callable[[Pcm, int], Pcm]] = {
    "clean": lambda pcm, seed: pcm,
    "noise": noisy,
    "ulaw": lambda pcm, seed: ulaw(pcm),
}


def quiet_clips() -> dict[str, Pcm]:
    """Silence and noise, 1.5 s each, seeded."""
    rng = np.random.default_rng(7)
    n = int(1.5 * RATE)
    t = np.arange(n) / RATE
    brown = np.cumsum(rng.normal(0, 1, n))
    brown = brown - np.convolve(brown, np.ones(400) / 400, mode="same")
    found = {
        "silence": np.zeros(n),
        "line hiss": rng.normal(0, 30, n),
        "white -30 dBFS": rng.normal(0, 1036, n),
        "white -20 dBFS": rng.normal(0, 3277, n),
        "brown": brown / np.std(brown) * 2000,
        "hum 50 Hz": 3000 * np.sin(2 * np.pi * 50 * t),
        "hum 60 Hz + harmonics": 2000
        * (np.sin(2 * np.pi * 60 * t) + 0.5 * np.sin(2 * np.pi * 180 * t)),
        "click train": np.where(np.arange(n) % 800 < 8, 8000.0, 0.0),
        "crackle": rng.normal(0, 200, n) * (rng.random(n) < 0.02) * 20,
        "tone 1 kHz": 3000 * np.sin(2 * np.pi * 1000 * t),
    }
    return {k: np.clip(v, -32768, 32767).astype(np.int16) for k, v in found.items()}


class Baseline:
    """The first recogniser: JSGF of the phrases, best hypothesis as is, no padding."""

    def __init__(self, phrases: Mapping[str, str]) -> None:
        self.phrases = {normalise(p): k for p, k in phrases.items()}
        with tempfile.TemporaryDirectory() as folder:
            gram = Path(folder) / "menu.gram"
            rules = " | ".join(sorted(self.phrases))
            gram.write_text(f"#JSGF V1.0;\ngrammar menu;\npublic <choice> = {rules};\n")
            words = Path(folder) / "menu.dict"
            write_dictionary({w for p in self.phrases for w in p.split()}, words)
            self._decoder = decoder(jsgf=str(gram), dict=str(words))

    def recognize(self, pcm: Pcm) -> Recognition:
        d = self._decoder
        d.start_utt()
        d.process_raw(to_16k(pcm), full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        text = normalise(hyp.hypstr) if hyp is not None else ""
        key = self.phrases.get(text)
        return Recognition(text if key else "", key, 1.0 if key else 0.0, text)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("var/speech-bench"))
    parser.add_argument("--show-errors", action="store_true", help="list wrong answers")
    args = parser.parse_args()
    if not shutil.which("text2wave"):
        sys.exit("festival is not installed: sudo apt-get install -y festival festvox-us-slt-hts")

    synth_times: dict[str, list[float]] = {}
    made = time.monotonic()
    cases: list[tuple[str, str, str, str | None, Pcm]] = []  # kind, voice, text/cond, truth, pcm
    seed = 0
    for voice in VOICES:
        for kind, texts in (("answer", list(ANSWERS)), ("oog", list(OUT_OF_GRAMMAR))):
            for text in texts:
                pcm = clip(args.cache, voice, text)
                for cond, change in CONDITIONS.items():
                    seed += 1
                    truth = ANSWERS[text] if kind == "answer" else None
                    cases.append((kind, voice, f"{text} [{cond}]", truth, change(pcm, seed)))
    for name, pcm in quiet_clips().items():
        cases.append(("quiet", "-", name, None, pcm))
    prompts = {v: [clip(args.cache, v, p, synth_times) for p in PROMPTS] for v in PROMPT_VOICES}
    print(f"clips ready in {time.monotonic() - made:.1f} s ({args.cache}): {len(cases)} utterances")

    methods: dict[str, Any] = {
        "baseline": Baseline({**{a: k for a, k in ANSWERS.items()}, **MENU}),
        "outdial": Recognizer(MENU, threshold=0.0),
        "no-decoys": Recognizer(MENU, threshold=0.0, decoys=False),
    }
    results: dict[str, list[tuple[Recognition, float]]] = {}
    for name, recognizer in methods.items():
        recognizer.recognize(cases[0][4])  # load the decoder outside the timing
        rows = []
        for _kind, _voice, _label, _truth, pcm in cases:
            started = time.process_time()
            heard = recognizer.recognize(pcm)
            rows.append((heard, time.process_time() - started))
        results[name] = rows

    summary: dict[str, Any] = {}
    print(f"\nmenu {sorted(MENU)}; {NOISE_SNR_DB:.0f} dB white noise; µ-law 8 kHz")
    print(
        f"{'method':<12}{'thr':>5}{'answers right':>15}{'oog accepted':>14}{'quiet accepted':>16}"
        f"{'cpu p50 ms':>12}{'cpu p95 ms':>12}"
    )
    for name, rows in results.items():
        cpu = [c * 1000 for _, c in rows]
        for threshold in THRESHOLDS if name != "baseline" else (0.0,):
            counts = {"answer": [0, 0], "oog": [0, 0], "quiet": [0, 0]}
            for (kind, _v, _l, truth, _p), (heard, _c) in zip(cases, rows, strict=True):
                key = heard.key if heard.confidence >= threshold else None
                counts[kind][1] += 1
                counts[kind][0] += (key == truth) if kind == "answer" else (key is not None)
            a, o, q = (counts[k][0] / counts[k][1] for k in ("answer", "oog", "quiet"))
            print(
                f"{name:<12}{threshold:>5.1f}{a:>15.3f}{o:>14.3f}{q:>16.3f}"
                f"{pct(cpu, 50):>12.1f}{pct(cpu, 95):>12.1f}"
            )
            summary[f"{name}@{threshold}"] = {
                "answers_right": round(a, 3),
                "oog_accepted": round(o, 3),
                "quiet_accepted": round(q, 3),
            }
        summary[f"{name}_cpu_ms"] = {"p50": round(pct(cpu, 50), 1), "p95": round(pct(cpu, 95), 1)}

    shipped = Recognizer(MENU).threshold
    rows = results["outdial"]
    print(f"\noutdial at its threshold {shipped}, answers right by voice and condition:")
    for voice in VOICES:
        line = []
        for cond in CONDITIONS:
            picked = [
                (c, r)
                for c, r in zip(cases, rows, strict=True)
                if c[0] == "answer" and c[1] == voice and c[2].endswith(f"[{cond}]")
            ]
            right = sum(r[0].key == c[3] and r[0].confidence >= shipped for c, r in picked)
            line.append(f"{cond} {right}/{len(picked)}")
        print(f"  {voice:<22}" + "  ".join(line))
    if args.show_errors:
        for c, r in zip(cases, rows, strict=True):
            key = r[0].key if r[0].confidence >= shipped else None
            if (c[0] == "answer" and key != c[3]) or (c[0] != "answer" and key is not None):
                print(f"  wrong: {c[1]} {c[2]!r} -> {r[0].heard!r} key {key} ({r[0].confidence})")

    print("\nvoices: prompts recognised against a grammar of all prompts (µ-law 8 kHz)")
    broad = Recognizer(
        {p: str(i) for i, p in enumerate(PROMPTS)}, threshold=0.0, synonyms=False, decoys=False
    )
    voices: dict[str, Any] = {}
    for voice, pcms in prompts.items():
        understood = sum(broad.recognize(ulaw(pcm)).key == str(i) for i, pcm in enumerate(pcms))
        times = synth_times.get(voice)
        if times is None:  # cached clips: time a fresh synthesis of each prompt
            times = []
            with tempfile.TemporaryDirectory() as folder:
                for n, text in enumerate(PROMPTS):
                    started = time.perf_counter()
                    synthesise(voice, text, Path(folder) / f"{n}.wav")
                    times.append(time.perf_counter() - started)
        ms = statistics.median(times) * 1000
        print(
            f"  {voice:<22} understood {understood}/{len(PROMPTS)}"
            f"   synthesis p50 {ms:.0f} ms/sentence"
        )
        voices[voice] = {
            "understood": understood,
            "of": len(PROMPTS),
            "synthesis_ms_p50": round(ms),
        }
    summary["voices"] = voices
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
