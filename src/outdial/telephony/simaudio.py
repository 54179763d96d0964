"""What a simulated callee sounds like, so detection runs on every simulated call.

Answered outcomes get audio of their kind, from the dial's random generator:

- ``voice``: a person's greeting ("Hello?", or a name), then the quiet of someone waiting,
  and what the rule's scripted callee says (``say``: words from ``said_words()``) at its times;
- ``answeringmachine``: a voicemail greeting, a short pause, a beep (500 to 1400 Hz), then the
  quiet of a recorder;
- ``fax``: the fax answer tone (CED, 2100 Hz) followed by V.21 flags, repeated;
- ``unknown``: dead air.

A rule may name a scripted sound instead (``SOUNDS``): ``voicemail-late-beep`` is a voicemail
whose greeting starts like a person ("Hello?"), goes on after a 2 s pause ("Sorry I missed
you. Please leave a message after the tone.") and beeps 1.2 s later: a detector hears a person
first and should revise its verdict to a machine.

``informationtone`` calls carry a special information tone as early media while they ring.
The speech is espeak-ng recorded once (``sim_clips/``, made by ``scripts/make-sim-audio``); the
tones are made here. Everything is 16-bit PCM at 8 kHz, as ``AudioFrame`` carries it.
"""

from __future__ import annotations

import functools
import random
from pathlib import Path

import numpy as np
import numpy.typing as npt

from outdial.audio import synth
from outdial.audio.g711 import ulaw_decode
from outdial.calls import CalleeType

CLIPS = Path(__file__).parent / "sim_clips"
PEOPLE = ("person-hello", "person-named")
VOICEMAILS = ("voicemail-personal", "voicemail-carrier")
BEEP_HZ = (500.0, 800.0, 1000.0, 1400.0)  # voicemail beeps heard in the wild
BEEP_MS = (250.0, 500.0, 800.0)
BEEP_PAUSE_MS = 300.0  # ms between the greeting's last word and the beep
NOISE_DBFS = -60.0  # a quiet line's background, so silence is not digital zero
FAX_CYCLE_MS = (2600.0, 1200.0)  # ms of CED, then of V.21 flags
SIT_DURATIONS = (synth.SIT_SHORT_MS, synth.SIT_SHORT_MS, synth.SIT_LONG_MS)
LATE_PAUSE_MS = 2000.0  # ms between the late-beep voicemail's "Hello?" and its message
LATE_BEEP_PAUSE_MS = 1200.0  # ms between its message and its beep
LATE_BEEP = (1000.0, 400.0)  # Hz, ms
SOUNDS = ("voicemail-late-beep",)  # what a rule's callee.sound may name

Pcm = npt.NDArray[np.int16]


SAID_PREFIX = "say-"  # clips of what a scripted callee can say: say-front-desk.ul


@functools.cache
def clip(name: str) -> Pcm:
    """A recorded clip as PCM (read once per process)."""
    return ulaw_decode((CLIPS / f"{name}.ul").read_bytes())


@functools.cache
def said_words() -> tuple[str, ...]:
    """What a scripted callee can say: the words of the ``say-*`` clips, sorted."""
    names = (p.stem[len(SAID_PREFIX) :] for p in CLIPS.glob(f"{SAID_PREFIX}*.ul"))
    return tuple(sorted(name.replace("-", " ") for name in names))


def said(text: str) -> Pcm:
    """``text`` (one of :func:`said_words`) spoken; ``KeyError`` for words without a clip."""
    if text not in said_words():
        raise KeyError(text)
    return clip(SAID_PREFIX + text.replace(" ", "-"))


def _pcm(samples: npt.NDArray[np.float64]) -> Pcm:
    return np.clip(np.round(samples), -32768, 32767).astype(np.int16)


def _quiet(ms: float, rng: random.Random) -> Pcm:
    noise = np.random.default_rng(rng.getrandbits(32)).normal(
        0.0, synth.amplitude(NOISE_DBFS) / np.sqrt(2.0), synth.samples_for(ms)
    )
    return _pcm(noise)


def answered_audio(
    outcome: CalleeType,
    rng: random.Random,
    length_s: float,
    says: tuple[tuple[float, str], ...] = (),
    sound: str | None = None,
) -> Pcm:
    """``length_s`` seconds of what the callee's side sounds like from answer: the sound of
    ``outcome``, or the scripted ``sound`` (one of ``SOUNDS``) when given; a person (``voice``)
    also says each of ``says`` (seconds from answer, words) over it. After it, the quiet of a
    line that stays up until the callee hangs up."""
    total = synth.samples_for(length_s * 1000.0)
    parts: list[Pcm] = []
    if sound == "voicemail-late-beep":
        hz, ms = LATE_BEEP
        parts += [
            clip("voicemail-late-hello"),
            _quiet(LATE_PAUSE_MS, rng),
            clip("voicemail-late-message"),
            _quiet(LATE_BEEP_PAUSE_MS, rng),
            _pcm(synth.tone(hz, ms, dbfs=-14.0)),
        ]
    elif sound is not None:
        raise ValueError(f"no simulated sound {sound!r} (known: {', '.join(SOUNDS)})")
    elif outcome is CalleeType.VOICE:
        parts.append(clip(rng.choice(PEOPLE)))
    elif outcome is CalleeType.ANSWERINGMACHINE:
        parts += [
            clip(rng.choice(VOICEMAILS)),
            _quiet(BEEP_PAUSE_MS, rng),
            _pcm(synth.tone(rng.choice(BEEP_HZ), rng.choice(BEEP_MS), dbfs=-14.0)),
        ]
    elif outcome is CalleeType.FAX:
        ced_ms, flags_ms = FAX_CYCLE_MS
        cycle = np.concatenate(
            [_pcm(synth.ced(ced_ms, reversals=True)), _pcm(synth.v21_flags(flags_ms))]
        )
        parts += [cycle] * (1 + total // len(cycle))
    audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)
    if len(audio) < total:
        audio = np.concatenate([audio, _quiet((total - len(audio)) * 1000.0 / 8000.0, rng)])
    audio = audio[:total]
    if outcome is CalleeType.VOICE and says:
        mixed = audio.astype(np.int32)
        for at_s, text in says:
            start = synth.samples_for(at_s * 1000.0)
            words = said(text)[: max(0, total - start)]
            mixed[start : start + len(words)] += words
        audio = np.clip(mixed, -32768, 32767).astype(np.int16)
    return audio


def early_media(outcome: CalleeType, length_s: float) -> Pcm | None:
    """What a ringing call plays before its final response: a SIT for a dead number."""
    if outcome is not CalleeType.INFORMATIONTONE:
        return None
    low, mid = synth.SIT_LOW_HZ[0], synth.SIT_MID_HZ[0]
    tone = _pcm(synth.sit(low, mid, SIT_DURATIONS))
    total = synth.samples_for(length_s * 1000.0)
    sound = np.concatenate([tone, np.zeros(max(0, total - len(tone)), dtype=np.int16)])
    return sound[:total]


__all__ = ["SOUNDS", "answered_audio", "clip", "early_media", "said", "said_words"]
