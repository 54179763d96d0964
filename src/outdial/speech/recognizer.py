"""Recognising one utterance against a menu's small grammar: phrases, each standing for a key.

A plain grammar decoder always answers with one of its phrases, whatever it hears. Here an
answer has to pass three checks, or the utterance is no match (``key`` ``None``):

1. **Speech is there**: at least :data:`MIN_SPEECH_MS` of 10 ms frames rise
   :data:`SPEECH_OVER_FLOOR_DB` above the utterance's own noise floor (and above
   :data:`SPEECH_MIN_DBFS`). Silence, hum and steady noise stop here, before any decoding.
2. **A phrase, not a decoy**: the grammar holds the menu's phrases, their synonyms and
   decoys (:mod:`outdial.speech.grammar`); "hello?", "who is this" and their like land on
   a decoy, which is no match.
3. **Confidence at or above the threshold**: confidence is the share of the speech frames
   that the chosen phrase covers (a sentence of which one word resembles "no" leaves most
   of its speech outside the word) times the decoder's posterior probability of the
   phrase. Below ``threshold`` is no match.

The audio is decoded at 16 kHz with :data:`PAD_MS` of quiet noise on each side: the model
was trained on speech that starts and ends in room noise, and digital silence or a word
cut at the first sample makes it hear filler instead of words.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from outdial.speech.engine import TELEPHONE_RATE, decoder, to_16k
from outdial.speech.grammar import Grammar, build_grammar, normalise
from outdial.speech.lexicon import pronunciations, write_dictionary

log = logging.getLogger(__name__)

THRESHOLD = 0.7  # confidence below this is no match (benchmarks/speech.py chose it)
FRAME_MS = 10  # ms: the decoder's frame step, and the speech check's frame
MIN_SPEECH_MS = 100  # ms of speech frames an utterance needs before it is decoded
SPEECH_OVER_FLOOR_DB = 12.0  # dB above the utterance's 10th-percentile frame: speech
SPEECH_MIN_DBFS = -50.0  # dBFS: quieter frames are never speech
FLOOR_PERCENTILE = 10.0
PAD_MS = 200  # ms of quiet noise added before and after the utterance
COMFORT_NOISE_RMS = 30.0  # 16-bit scale, about -60 dBFS: the quiet noise (fixed seed)
# Search beams, narrower than pocketsphinx's defaults (1e-48, 7e-29, 1e-48): a menu's grammar
# is small. benchmarks/speech.py: more answers right, fewer false accepts, a third less CPU;
# narrower still (1e-20, 1e-15, 1e-20) lost answers.
BEAMS: dict[str, float] = {"beam": 1e-30, "wbeam": 1e-20, "pbeam": 1e-30}
_FRAME = TELEPHONE_RATE * FRAME_MS // 1000  # samples per frame at 8 kHz
_FULL_SCALE_DB = 20.0 * np.log10(32768.0)


@dataclass(frozen=True, slots=True)
class Recognition:
    """What was heard: ``key`` is the menu key of the matched phrase, ``None`` for no match
    (no speech, a decoy, or below the confidence threshold); ``text`` the menu's phrase as
    the menu wrote it (``""`` for no match); ``confidence`` 0 to 1; ``heard`` the words
    decoded, which may be a synonym of ``text`` ("yeah" for "yes") or a decoy."""

    text: str
    key: str | None
    confidence: float
    heard: str = ""


NO_SPEECH = Recognition("", None, 0.0)


def speech_frames(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.bool_]:
    """Which 10 ms frames of 8 kHz audio are loud enough to be speech."""
    count = len(pcm) // _FRAME
    if count == 0:
        return np.zeros(0, dtype=np.bool_)
    frames = pcm[: count * _FRAME].astype(np.float64).reshape(count, _FRAME)
    dbfs = 10.0 * np.log10(np.mean(frames**2, axis=1) + 1.0) - _FULL_SCALE_DB
    floor = float(np.percentile(dbfs, FLOOR_PERCENTILE))
    return np.asarray(
        (dbfs >= floor + SPEECH_OVER_FLOOR_DB) & (dbfs >= SPEECH_MIN_DBFS), dtype=np.bool_
    )


def padded(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """The utterance between two :data:`PAD_MS` stretches of noise as loud as its own quiet
    frames (at least :data:`COMFORT_NOISE_RMS`), and that quiet noise added throughout: the
    decoder estimates the noise it removes from the start of the audio."""
    pad = np.zeros(TELEPHONE_RATE * PAD_MS // 1000, dtype=np.float64)
    rng = np.random.default_rng(0)
    level = COMFORT_NOISE_RMS
    count = len(pcm) // _FRAME
    if count:
        frames = pcm[: count * _FRAME].astype(np.float64).reshape(count, _FRAME)
        quiet = float(np.percentile(np.sqrt(np.mean(frames**2, axis=1)), FLOOR_PERCENTILE))
        level = max(level, quiet)
    signal = np.concatenate([pad + rng.normal(0.0, level, len(pad)), pcm.astype(np.float64), pad])
    signal[len(pad) + len(pcm) :] += rng.normal(0.0, level, len(pad))
    signal += rng.normal(0.0, COMFORT_NOISE_RMS, len(signal))
    return np.clip(np.round(signal), -32768, 32767).astype(np.int16)


class Recognizer:
    """Recognises utterances (8 kHz int16) against ``phrases`` (phrase → key). Safe to share
    between threads: each thread decodes with its own decoder.

    ``synonyms`` and ``decoys`` widen the grammar (:func:`build_grammar`); with ``checks``
    off the best phrase is taken as it is, whatever it is (the plain decoding the benchmark
    compares against). A phrase with a word the dictionary lacks is left out, with a warning.
    """

    def __init__(
        self,
        phrases: Mapping[str, str],
        *,
        threshold: float = THRESHOLD,
        synonyms: bool = True,
        decoys: bool = True,
        checks: bool = True,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold {threshold} is not between 0 and 1")
        self.grammar: Grammar = build_grammar(
            phrases, pronunciations(), synonyms=synonyms, decoys=decoys and checks
        )
        for phrase, word in self.grammar.dropped.items():
            log.warning("speech phrase %r left out: %r is not in the dictionary", phrase, word)
        self.threshold = threshold
        self.checks = checks
        self._local = threading.local()

    @property
    def phrases(self) -> dict[str, str | None]:
        """Spoken form → key, for every answer the grammar holds (synonyms included)."""
        return {c.spoken: c.key for c in self.grammar.answers}

    def _decoder(self) -> Any:
        found = getattr(self._local, "decoder", None)
        if found is None:
            with tempfile.TemporaryDirectory() as folder:
                grammar = Path(folder) / "menu.gram"
                grammar.write_text(self.grammar.jsgf(), encoding="utf-8")
                dictionary = Path(folder) / "menu.dict"
                write_dictionary(self.grammar.words(), dictionary)
                found = decoder(jsgf=str(grammar), dict=str(dictionary), **BEAMS)
            self._local.decoder = found
        return found

    def warm(self) -> None:
        """Load this thread's decoder now rather than at the first utterance."""
        if self.grammar.answers:
            self._decoder()

    def recognize(self, pcm: npt.NDArray[np.int16]) -> Recognition:
        """Blocking CPU work: run it off the event loop."""
        if not self.grammar.answers:
            return NO_SPEECH
        speech = speech_frames(pcm)
        if self.checks and int(speech.sum()) * FRAME_MS < MIN_SPEECH_MS:
            return NO_SPEECH
        d = self._decoder()
        d.start_utt()
        d.process_raw(to_16k(padded(pcm)), full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        heard = normalise(hyp.hypstr) if hyp is not None else ""
        choice = self.grammar.choice_for(heard)
        if choice is None or choice.key is None:
            return Recognition("", None, 0.0, heard)
        if not self.checks:
            return Recognition(choice.phrase, choice.key, 1.0, heard)
        confidence = round(_coverage(d, speech), 3)
        if confidence < self.threshold:
            return Recognition("", None, confidence, heard)
        return Recognition(choice.phrase, choice.key, confidence, heard)


def _coverage(d: Any, speech: npt.NDArray[np.bool_]) -> float:
    """The share of the speech frames inside the decoded words (fillers and silence aside)."""
    total = int(speech.sum())
    if total == 0:
        return 0.0
    offset = PAD_MS // FRAME_MS
    inside = 0
    for seg in d.seg():
        if seg.word.startswith(("<", "[")):
            continue
        start = max(seg.start_frame - offset, 0)
        end = max(seg.end_frame - offset + 1, 0)
        inside += int(speech[start:end].sum())
    return inside / total


__all__ = ["NO_SPEECH", "THRESHOLD", "Recognition", "Recognizer", "normalise", "speech_frames"]
