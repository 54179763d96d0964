"""A labelled corpus of callee audio for the detector, made with espeak-ng, flite, festival,
sox and numpy.

Each clip is the callee's side of a call from answer, 8 kHz 16-bit, in 19 scenarios: people
(short greetings, a repeated "hello?" after silence, "hello? ... hello?" with pauses, business
greetings, a person talking on without a pause, a person with a television or traffic behind
them, a person talking over our prompt), voicemail (short and long greetings with pauses, long
pauses, carriers' greetings, square-wave, dual-tone and swept beeps, beeps in loud noise, late
beeps, sometimes two beeps), fax (CED with or without phase reversals then V.21 flags; CNG
only), SIT with and without the announcement, and dead air. Each passes through a telephone
channel: a speech level, background noise, band-limiting to 300-3400 Hz (sox), G.711 µ-law
coding (sox) and lost packets.

Voices are split: ``TRAIN_VOICES`` are the ones the defaults were tuned on; ``HELDOUT_VOICES``
(and flite's and festival's voices, when installed) are kept aside to check that the rules
carry over to voices never tuned on.

Clips are cached under ``var/detect-corpus/`` (gitignored), keyed by everything that shapes
them, so a second run reads files instead of synthesising. Used by ``benchmarks/detect.py``
and by ``tests/integration/test_detect_corpus.py``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from outdial.audio import synth
from outdial.audio.frames import FRAME_SAMPLES, SAMPLE_RATE
from outdial.audio.g711 import ulaw_decode
from outdial.calls import CalleeType

FloatArray = npt.NDArray[np.float64]
REPO = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = REPO / "var" / "detect-corpus"
CORPUS_VERSION = 9  # bump when the generator changes, so stale cached clips are not reused
TRIM_DBFS = -50.0  # dBFS: espeak output quieter than this at either end is trimmed
TAIL_MS = 4000.0  # ms of the call kept after the last scripted sound

TRAIN_VOICES = (
    "en-us",
    "en-us+f3",
    "en+m3",
    "en-gb+f2",
    "en-us+klatt",
    "en-gb-x-rp+m5",
    "en-us+f5",
    "en-gb+Annie",
)
HELDOUT_VOICES = (
    "en-gb-scotland+m2",
    "en-029+f4",
    "en-gb-x-gbclan+klatt3",
    "en-us+steph",
    "en-gb-x-gbcwmd+m7",
)
# A second synthesiser, never tuned on, when flite is installed (``apt-get install flite``).
FLITE_VOICES = ("flite:slt", "flite:rms", "flite:awb", "flite:kal")
FLITE_WPM = 170  # words per minute flite speaks at its default duration stretch
# A third, when festival and its voices are installed (scripts/system-deps).
FESTIVAL_VOICES = ("festival:cmu_us_slt_arctic_hts", "festival:kal_diphone")
FESTIVAL_WPM = 165  # words per minute festival speaks at its default duration stretch
SPEEDS = (140, 165, 190)  # words per minute (espeak-ng -s)

NAMES = ("Mary", "John", "Priya", "Carlos", "Wei", "Fatima", "Tom", "Olga")
COMPANIES = ("Acme Dental", "Riverside Plumbing", "Northwind Travel", "Blue Sky Insurance")
SHORT_GREETINGS = (
    "Hello?",
    "Hello.",
    "Hi.",
    "Yeah?",
    "Yes?",
    "Hello, who is this?",
    "Hi, this is {name}.",
    "Hello, {name} speaking.",
    "Good morning.",
)
BUSINESS_GREETINGS = (
    "Good morning, {company}, this is {name}, how can I help you?",
    "Thank you for calling {company}, {name} speaking.",
    "{company}, this is {name}. How may I help you?",
    "Hello, you've got {name} at {company}.",
)
MACHINE_SHORT = (
    ("Hi, this is {name}.", "Leave a message."),
    ("You've reached {name}.", "Please leave a message after the tone."),
    ("Hey, it's {name}.", "I can't come to the phone, leave a message."),
)
MACHINE_LONG = (
    (
        "Hi, you've reached {name}.",
        "I'm not available to take your call right now.",
        "Please leave your name and number after the tone and I'll call you back.",
    ),
    (
        "Hello, this is {name} at {company}.",
        "I'm either on the other line or away from my desk.",
        "Leave a message and I will return your call as soon as possible.",
    ),
    (
        "The person you are calling is not available.",
        "At the tone, please record your message.",
        "When you are finished, you may hang up.",
    ),
    (
        "Thanks for calling {company}.",
        "Our office is closed right now.",
        "Please leave a detailed message and we will get back to you.",
    ),
)
# Carriers' own voicemail greetings (network voicemail), read by a synthesiser too.
CARRIER_GREETINGS = (
    ("The person you are calling is not available.", "Please leave a message after the tone."),
    (
        "The number you have dialed is not available.",
        "At the tone, please record your message.",
        "When you have finished recording, you may hang up.",
    ),
    ("The wireless customer you are calling is not available.", "Please leave a message."),
    (
        "Your call has been forwarded to an automatic voice message system.",
        "{name} is not available.",
        "At the tone, please record your message.",
    ),
)
# A person who talks on, with no pause, from answer.
LONG_TALK = (
    "Oh hi yes I was just talking to my sister about the weekend and we were thinking we"
    " might drive up to the lake if the weather holds up",
    "Yeah I got your letter last week and I meant to call you back but things have been"
    " really crazy here with the kids and the new job and everything",
    "Hello this is {name} speaking and I am in the middle of cooking dinner right now so"
    " if this is about the car insurance I already told you people no",
    "Hi there sorry I was just out in the garden and I ran in to get the phone so I am a"
    " bit out of breath but go ahead who is calling please",
)
# A person who said hello, heard our prompt start, and talks over it.
OVER_PROMPT = (
    "Sorry, who is this? I can't really hear you, the line is bad.",
    "Wait, what is this about? Is this about my account?",
    "Hang on, hang on. Are you selling something? We're not interested.",
)
# Background talk (a television) behind a person.
TV_TALK = (
    "In other news tonight the city council voted to approve the new budget after a long"
    " debate and the mayor said the vote was a victory for the whole community",
    "And now the weather for the weekend with sunny skies on Saturday and a chance of"
    " showers on Sunday afternoon so bring an umbrella if you are heading out",
)
TV_VOICES = ("en-us+m7", "en-gb+f4")
SIT_ANNOUNCEMENTS = (
    "We're sorry, the number you have dialed is not in service.",
    "All circuits are busy now. Please try your call again later.",
)
_S16 = ["-t", "raw", "-e", "signed", "-b", "16"]
BEEP_HZ = (425.0, 500.0, 750.0, 850.0, 1000.0, 1200.0, 1400.0, 1600.0, 1900.0)


@dataclass(frozen=True)
class Spec:
    """Everything that shapes one clip; its hash names the cached file."""

    kind: str  # scenario, e.g. "voice_short", "machine_long", "fax_ced"
    label: str  # the CalleeType value the detector should give
    voice: str
    seed: int
    channel: dict[str, float] = field(default_factory=dict)

    def key(self) -> str:
        text = json.dumps([CORPUS_VERSION, asdict(self)], sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Clip:
    """A labelled clip with its ground-truth times (ms from answer)."""

    spec: Spec
    audio: npt.NDArray[np.int16]
    words_end_ms: int | None  # end of the first words, for people
    beep_end_ms: int | None  # end of the last beep, for voicemail

    @property
    def label(self) -> CalleeType:
        return CalleeType(self.spec.label)

    @property
    def name(self) -> str:
        return f"{self.spec.kind}-{self.spec.voice}-{self.spec.seed}"


class Corpus:
    """Synthesises and caches clips; ``speak`` caches espeak-ng output per utterance."""

    def __init__(self, cache: Path = DEFAULT_CACHE) -> None:
        self.cache = cache
        (cache / "speech").mkdir(parents=True, exist_ok=True)
        (cache / "clips").mkdir(parents=True, exist_ok=True)

    # building blocks --------------------------------------------------------------------

    def speak(self, text: str, voice: str, speed: int, room: float = 0.0) -> FloatArray:
        """Speech at 8 kHz (sox resamples), trimmed of silence at both ends; ``room`` > 0
        adds that much sox reverb (a speakerphone, a greeting recorded in a room)."""
        key = hashlib.sha1(f"{voice}|{speed}|{text}".encode()).hexdigest()[:16]
        path = self.cache / "speech" / f"{key}.s16"
        if not path.exists():
            tts = _synthesise(text, voice, speed)
            raw = _sox(["-t", "wav", "-", "-r", str(SAMPLE_RATE), "-c", "1", *_S16, "-"], tts)
            path.with_suffix(".tmp").write_bytes(raw)
            path.with_suffix(".tmp").replace(path)
        x = np.frombuffer(path.read_bytes(), dtype="<i2").astype(np.float64)
        loud = np.flatnonzero(np.abs(x) > 32768.0 * 10 ** (TRIM_DBFS / 20))
        x = x[loud[0] : loud[-1] + 1] if len(loud) else x
        if room:
            raw = np.clip(x, -32768, 32767).astype("<i2").tobytes()
            s16 = ["-r", str(SAMPLE_RATE), "-c", "1", *_S16]
            wet = _sox([*s16, "-", *s16, "-", "reverb", f"{room:.0f}", "50", "40"], raw)
            x = np.frombuffer(wet, dtype="<i2").astype(np.float64)[: len(x)]
        return x

    def clip(self, spec: Spec) -> Clip:
        path = self.cache / "clips" / f"{spec.key()}.ul"
        meta = path.with_suffix(".json")
        if path.exists() and meta.exists():
            times = json.loads(meta.read_text())
            audio = ulaw_decode(path.read_bytes())
            return Clip(spec, audio, times["words_end_ms"], times["beep_end_ms"])
        rng = np.random.default_rng(spec.seed)
        parts, words_end, beep_end = _SCENES[spec.kind](self, spec, rng)
        audio, coded = _channel(np.concatenate(parts), spec.channel, rng)
        path.with_suffix(".tmp").write_bytes(coded)
        path.with_suffix(".tmp").replace(path)
        meta.write_text(json.dumps({"words_end_ms": words_end, "beep_end_ms": beep_end}))
        return Clip(spec, audio, words_end, beep_end)


Scene = tuple[list[FloatArray], int | None, int | None]


def _ms(parts: list[FloatArray]) -> int:
    return round(sum(len(p) for p in parts) * 1000 / SAMPLE_RATE)


def _fill(template: str, rng: np.random.Generator) -> str:
    return template.format(
        name=NAMES[rng.integers(len(NAMES))], company=COMPANIES[rng.integers(len(COMPANIES))]
    )


def _speed(rng: np.random.Generator) -> int:
    return SPEEDS[rng.integers(len(SPEEDS))]


def _room(s: Spec) -> float:
    return s.channel.get("reverb", 0.0)


def _level(speech: FloatArray, dbfs: float) -> FloatArray:
    rms = float(np.sqrt(np.mean(speech**2))) or 1.0
    return speech * (32768.0 * 10 ** (dbfs / 20) / rms)


def _voice_short(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    text = _fill(SHORT_GREETINGS[rng.integers(len(SHORT_GREETINGS))], rng)
    parts = [synth.silence(rng.uniform(150, 1200)), c.speak(text, s.voice, _speed(rng), _room(s))]
    words_end = _ms(parts)
    parts.append(synth.silence(TAIL_MS))
    return parts, words_end, None


def _voice_repeat(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    hello = c.speak("Hello?", s.voice, _speed(rng), _room(s))
    parts = [synth.silence(rng.uniform(150, 800)), hello]
    words_end = _ms(parts)
    parts += [synth.silence(rng.uniform(1500, 2500)), hello, synth.silence(TAIL_MS)]
    return parts, words_end, None


def _voice_business(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    text = _fill(BUSINESS_GREETINGS[rng.integers(len(BUSINESS_GREETINGS))], rng)
    parts = [synth.silence(rng.uniform(150, 800)), c.speak(text, s.voice, _speed(rng), _room(s))]
    words_end = _ms(parts)
    parts.append(synth.silence(TAIL_MS))
    return parts, words_end, None


def _greeting(
    c: Corpus,
    s: Spec,
    rng: np.random.Generator,
    lines: tuple[str, ...],
    pause_ms: tuple[float, float] = (150, 650),
    gap_ms: tuple[float, float] = (150, 800),
    beeps: str = "plain",
    beep_db: tuple[float, float] = (-22, -10),
) -> Scene:
    """A voicemail greeting: ``lines`` with pauses of ``pause_ms`` between them, a gap of
    ``gap_ms``, then a beep: ``plain`` (a sine, sometimes with overtones or fading, sometimes
    doubled) or ``odd`` (square-wave, dual-tone or swept)."""
    speed = _speed(rng)
    parts = [synth.silence(rng.uniform(100, 600))]
    for i, line in enumerate(lines):
        if i:
            parts.append(synth.silence(rng.uniform(*pause_ms)))  # pause between sentences
        parts.append(c.speak(_fill(line, rng), s.voice, speed, _room(s)))
    parts.append(synth.silence(rng.uniform(*gap_ms)))  # greeting end to beep
    level = rng.uniform(*beep_db)
    if beeps == "odd":
        parts.append(_odd_beep(rng, level))
        beep_end = _ms(parts)
        parts.append(synth.silence(TAIL_MS))
        return parts, None, beep_end
    hz = BEEP_HZ[rng.integers(len(BEEP_HZ))]
    overtones = rng.uniform(-24, -12) if rng.random() < 0.3 else None  # a less pure beep
    decay_db = rng.uniform(6, 20) if rng.random() < 0.2 else 0.0  # a chime that fades

    def beep(ms: float) -> FloatArray:
        x = synth.tone(hz, ms, level)
        if overtones is not None:
            for k in (2, 3):
                x = x + synth.tone(k * hz, ms, level + overtones - 3 * (k - 2))
        return x * 10 ** (-decay_db * np.linspace(0.0, 1.0, len(x)) / 20)

    if rng.random() < 0.25:  # double beep
        length = rng.uniform(100, 200)
        parts += [beep(length), synth.silence(rng.uniform(80, 200)), beep(length)]
    else:
        parts.append(beep(rng.uniform(150, 1200)))
    beep_end = _ms(parts)
    parts.append(synth.silence(TAIL_MS))
    return parts, None, beep_end


def _odd_beep(rng: np.random.Generator, level: float) -> FloatArray:
    """A beep that is not one sine: square-wave, two tones at once, or a sweep."""
    ms = rng.uniform(200, 1000)
    n = np.arange(synth.samples_for(ms))
    kind = rng.integers(3)
    if kind == 0:  # square wave (odd harmonics; the channel band-limits it)
        hz = rng.uniform(400, 1000)
        x = np.sign(np.sin(2 * np.pi * hz * n / SAMPLE_RATE)) * synth.amplitude(level) / 1.41
    elif kind == 1:  # dual tone
        hz = rng.uniform(450, 1100)
        ratio = rng.uniform(1.2, 1.7)
        x = synth.tone(hz, ms, level - 3) + synth.tone(
            hz * ratio, ms, level - 3 - rng.uniform(0, 6)
        )
    else:  # a sweep up or down
        start, span = rng.uniform(500, 1300), rng.uniform(200, 700) * rng.choice([-1.0, 1.0])
        hz = start + span * n / len(n)
        x = synth.amplitude(level) * np.sin(2 * np.pi * np.cumsum(hz) / SAMPLE_RATE)
    ramp = synth.samples_for(5.0)
    edge = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
    x[:ramp] *= edge
    x[-ramp:] *= edge[::-1]
    return np.asarray(x, dtype=np.float64)


def _machine_short(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    return _greeting(c, s, rng, MACHINE_SHORT[rng.integers(len(MACHINE_SHORT))])


def _machine_long(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    return _greeting(c, s, rng, MACHINE_LONG[rng.integers(len(MACHINE_LONG))])


def _machine_pauses(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    lines = MACHINE_LONG[rng.integers(len(MACHINE_LONG))]
    return _greeting(c, s, rng, lines, pause_ms=(500, 2000))


def _machine_carrier(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    lines = CARRIER_GREETINGS[rng.integers(len(CARRIER_GREETINGS))]
    return _greeting(c, s, rng, lines, pause_ms=(300, 1200))


def _machine_oddbeep(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    lines = (MACHINE_SHORT + MACHINE_LONG)[rng.integers(len(MACHINE_SHORT) + len(MACHINE_LONG))]
    return _greeting(c, s, rng, lines, beeps="odd")


def _machine_noisybeep(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    # The channel's noise is loud for this scenario (see _random_channel): beeps 6-20 dB above.
    lines = MACHINE_SHORT[rng.integers(len(MACHINE_SHORT))]
    beeps = "odd" if rng.random() < 0.3 else "plain"
    return _greeting(c, s, rng, lines, beeps=beeps, beep_db=(-24, -16))


def _machine_latebeep(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    lines: tuple[str, ...]
    if rng.random() < 0.5:  # a short greeting, then two seconds of silence before the beep
        lines = MACHINE_SHORT[rng.integers(len(MACHINE_SHORT))]
        return _greeting(c, s, rng, lines, gap_ms=(1800, 2600))
    order = rng.permutation(len(MACHINE_LONG))  # a long greeting (two read one after another)
    lines = MACHINE_LONG[order[0]] + MACHINE_LONG[order[1]]
    return _greeting(c, s, rng, lines, pause_ms=(300, 900))


def _voice_hellos(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    speed = _speed(rng)
    hello = c.speak("Hello?", s.voice, speed, _room(s))
    parts = [synth.silence(rng.uniform(150, 800)), hello]
    words_end = _ms(parts)
    parts += [synth.silence(rng.uniform(800, 2000)), hello]
    if rng.random() < 0.5:
        parts += [synth.silence(rng.uniform(800, 2000))]
        parts.append(c.speak("Hello? Is anyone there?", s.voice, speed, _room(s)))
    parts.append(synth.silence(TAIL_MS))
    return parts, words_end, None


def _voice_longtalk(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    text = _fill(LONG_TALK[rng.integers(len(LONG_TALK))], rng)
    parts = [synth.silence(rng.uniform(150, 800)), c.speak(text, s.voice, _speed(rng), _room(s))]
    words_end = _ms(parts)
    parts.append(synth.silence(TAIL_MS))
    return parts, words_end, None


def _voice_noise(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    """A person with a television talking behind them, or in the street."""
    short = rng.random() < 0.6
    pool = SHORT_GREETINGS if short else BUSINESS_GREETINGS
    text = _fill(pool[rng.integers(len(pool))], rng)
    words = c.speak(text, s.voice, _speed(rng), _room(s))
    parts = [synth.silence(rng.uniform(150, 1200)), words]
    words_end = _ms(parts)
    parts.append(synth.silence(TAIL_MS))
    x = np.concatenate(parts)
    person = float(np.sqrt(np.mean(words**2)))
    if rng.random() < 0.5:  # a television: talk from answer, 14-24 dB under the person
        tv_voice = TV_VOICES[rng.integers(len(TV_VOICES))]
        tv = c.speak(TV_TALK[rng.integers(len(TV_TALK))], tv_voice, 165, room=40)
        tv = np.tile(tv, int(np.ceil(len(x) / len(tv))))[: len(x)]
        rms = float(np.sqrt(np.mean(tv**2))) or 1.0
        x = x + tv * (person / rms) * 10 ** (-rng.uniform(14, 24) / 20)
    else:  # street: rumbling traffic that swells and fades, 15-25 dB under the person
        white = rng.normal(0.0, 1.0, len(x))
        rumble = np.convolve(white, np.ones(24) / 24, mode="same")
        swell = 0.4 + 0.6 * np.abs(
            np.sin(np.pi * np.arange(len(x)) / (SAMPLE_RATE * rng.uniform(2, 5)))
        )
        street = rumble * swell
        rms = float(np.sqrt(np.mean(street**2))) or 1.0
        x = x + street * (person / rms) * 10 ** (-rng.uniform(15, 25) / 20)
    return [x], words_end, None


def _voice_interrupted(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    """A person says hello; our prompt starts (the benchmark plays one after ``voice``) and
    they talk over it."""
    speed = _speed(rng)
    text = _fill(SHORT_GREETINGS[rng.integers(len(SHORT_GREETINGS))], rng)
    parts = [synth.silence(rng.uniform(150, 800)), c.speak(text, s.voice, speed, _room(s))]
    words_end = _ms(parts)
    parts.append(synth.silence(rng.uniform(1000, 1600)))
    parts.append(c.speak(OVER_PROMPT[rng.integers(len(OVER_PROMPT))], s.voice, speed, _room(s)))
    parts.append(synth.silence(TAIL_MS))
    return parts, words_end, None


def _fax_ced(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    parts = [
        synth.silence(rng.uniform(100, 1000)),
        synth.ced(rng.uniform(2600, 4000), reversals=bool(rng.random() < 0.5)),
        synth.silence(75),  # T.30: 75 ms between CED and the V.21 preamble
        synth.v21_flags(1000),
        synth.silence(2000),
    ]
    return parts, None, None


def _fax_cng(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    return [synth.silence(rng.uniform(100, 1500)), synth.cng(8000)], None, None


def _sit(c: Corpus, s: Spec, rng: np.random.Generator, announce: bool) -> Scene:
    short, long = synth.SIT_SHORT_MS, synth.SIT_LONG_MS
    durations = ((short, short, long), (long, long, long), (short, long, long), (long, short, long))
    tone = synth.sit(
        synth.SIT_LOW_HZ[rng.integers(2)],
        synth.SIT_MID_HZ[rng.integers(2)],
        durations[rng.integers(len(durations))],
    )
    parts = [synth.silence(rng.uniform(100, 1000)), tone]
    if announce:
        text = SIT_ANNOUNCEMENTS[rng.integers(len(SIT_ANNOUNCEMENTS))]
        parts += [
            synth.silence(rng.uniform(50, 300)),
            c.speak(text, s.voice, _speed(rng), _room(s)),
        ]
    parts.append(synth.silence(3000))
    return parts, None, None


def _dead_air(c: Corpus, s: Spec, rng: np.random.Generator) -> Scene:
    return [synth.silence(10000)], None, None


_SCENES = {
    "voice_short": _voice_short,
    "voice_repeat": _voice_repeat,
    "voice_business": _voice_business,
    "machine_short": _machine_short,
    "machine_long": _machine_long,
    "fax_ced": _fax_ced,
    "fax_cng": _fax_cng,
    "sit": lambda c, s, rng: _sit(c, s, rng, announce=False),
    "sit_announcement": lambda c, s, rng: _sit(c, s, rng, announce=True),
    "dead_air": _dead_air,
    "machine_pauses": _machine_pauses,
    "machine_carrier": _machine_carrier,
    "machine_oddbeep": _machine_oddbeep,
    "machine_noisybeep": _machine_noisybeep,
    "machine_latebeep": _machine_latebeep,
    "voice_hellos": _voice_hellos,
    "voice_longtalk": _voice_longtalk,
    "voice_noise": _voice_noise,
    "voice_interrupted": _voice_interrupted,
}
LABELS = {
    "voice_short": CalleeType.VOICE,
    "voice_repeat": CalleeType.VOICE,
    "voice_business": CalleeType.VOICE,
    "machine_short": CalleeType.ANSWERINGMACHINE,
    "machine_long": CalleeType.ANSWERINGMACHINE,
    "fax_ced": CalleeType.FAX,
    "fax_cng": CalleeType.FAX,
    "sit": CalleeType.INFORMATIONTONE,
    "sit_announcement": CalleeType.INFORMATIONTONE,
    "dead_air": CalleeType.UNKNOWN,
    "machine_pauses": CalleeType.ANSWERINGMACHINE,
    "machine_carrier": CalleeType.ANSWERINGMACHINE,
    "machine_oddbeep": CalleeType.ANSWERINGMACHINE,
    "machine_noisybeep": CalleeType.ANSWERINGMACHINE,
    "machine_latebeep": CalleeType.ANSWERINGMACHINE,
    "voice_hellos": CalleeType.VOICE,
    "voice_longtalk": CalleeType.VOICE,
    "voice_noise": CalleeType.VOICE,
    "voice_interrupted": CalleeType.VOICE,
}
# The scenarios the detector's first version had (its figures in docs/benchmarks.md).
FIRST_KINDS = tuple(list(LABELS)[:10])


def _synthesise(text: str, voice: str, speed: int) -> bytes:
    """WAV bytes from espeak-ng, from flite for voices named ``flite:NAME``, or from festival
    for ``festival:VOICE``."""
    if voice.startswith("festival:"):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "speech.wav"
            factor = FESTIVAL_WPM / speed
            setup = f"(begin (voice_{voice[9:]}) (Parameter.set 'Duration_Stretch {factor:.3f}))"
            command = ["text2wave", "-eval", setup, "-o", str(out)]
            subprocess.run(command, input=text.encode(), check=True, capture_output=True)
            return out.read_bytes()
    if voice.startswith("flite:"):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "speech.wav"
            stretch = f"duration_stretch={FLITE_WPM / speed:.3f}"
            command = ["flite", "-voice", voice[6:], "--setf", stretch, "-t", text, "-o", str(out)]
            subprocess.run(command, check=True, capture_output=True)
            return out.read_bytes()
    command = ["espeak-ng", "--stdout", "-v", voice, "-s", str(speed), text]
    return subprocess.run(command, check=True, capture_output=True).stdout


def _sox(args: list[str], data: bytes) -> bytes:
    return subprocess.run(["sox", "-V1", *args], input=data, check=True, capture_output=True).stdout


def _channel(
    x: FloatArray, channel: dict[str, float], rng: np.random.Generator
) -> tuple[npt.NDArray[np.int16], bytes]:
    """Speech level, noise, band-limiting and µ-law (sox), lost packets; (audio, µ-law)."""
    gain = 10 ** (channel.get("gain_db", 0.0) / 20)
    x = x * gain
    noise_dbfs = channel.get("noise_dbfs")
    if noise_dbfs is not None:
        white = rng.normal(0.0, 1.0, len(x))
        # Pink-ish: mix white with its running average so low frequencies dominate, like hum.
        pinkish = white + 4.0 * np.convolve(white, np.ones(8) / 8, mode="same")
        x = x + _level(pinkish, noise_dbfs)
    pcm = np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()
    effects = ["sinc", "300-3400"] if channel.get("bandlimit", 0.0) else []
    raw_in = ["-r", str(SAMPLE_RATE), "-c", "1", *_S16, "-"]
    coded = _sox([*raw_in, "-t", "raw", "-e", "mu-law", "-", *effects], pcm)
    loss = channel.get("loss", 0.0)
    if loss:
        codes = np.frombuffer(coded, dtype=np.uint8).copy()
        frames = len(codes) // FRAME_SAMPLES
        lost = np.flatnonzero(rng.random(frames) < loss)
        for f in lost:
            codes[f * FRAME_SAMPLES : (f + 1) * FRAME_SAMPLES] = 0xFF  # µ-law silence
        coded = codes.tobytes()
    return ulaw_decode(coded), coded


def _random_channel(rng: np.random.Generator, kind: str) -> dict[str, float]:
    channel: dict[str, float] = {"bandlimit": float(rng.random() < 0.7)}
    if kind.startswith(("voice", "machine")) or kind == "sit_announcement":
        channel["gain_db"] = float(rng.uniform(-12, 6))  # speech from quiet to loud
    if kind == "machine_noisybeep":
        channel["noise_dbfs"] = float(rng.uniform(-40, -32))  # beeps 6-20 dB above it
    elif rng.random() < 0.5:
        channel["noise_dbfs"] = float(rng.uniform(-62, -42))
    if kind.startswith(("voice", "machine")) and rng.random() < 0.25:
        channel["reverb"] = float(rng.uniform(20, 60))  # speech only: tones are electrical
    if rng.random() < 0.3:
        channel["loss"] = float(rng.uniform(0.005, 0.03))
    return channel


def heldout_voices() -> tuple[str, ...]:
    """The held-out espeak-ng voices, flite's when flite is installed, festival's when it is."""
    flite = FLITE_VOICES if shutil.which("flite") else ()
    festival = FESTIVAL_VOICES if _festival_voices() else ()
    return HELDOUT_VOICES + flite + festival


def _festival_voices() -> bool:
    if not shutil.which("text2wave"):
        return False
    root = Path("/usr/share/festival/voices")
    return all(any(root.glob(f"*/{v[9:]}")) for v in FESTIVAL_VOICES)


def specs(
    per_kind: int, voices: tuple[str, ...], seed: int = 1, kinds: tuple[str, ...] | None = None
) -> Iterator[Spec]:
    """``per_kind`` clips of every scenario (or of ``kinds``) for each voice, with seeded
    random channels."""
    rng = np.random.default_rng(seed)
    for voice in voices:
        for kind in kinds or tuple(_SCENES):
            for i in range(per_kind):
                clip_seed = int(rng.integers(1 << 31))
                channel = _random_channel(np.random.default_rng(clip_seed + i), kind)
                yield Spec(kind, LABELS[kind].value, voice, clip_seed, channel)
