"""The voices a flow may name: ``engine:voice``, or a bare espeak-ng voice.

Pure data and checks (no programs are run here): a flow is validated where it is saved, which
need not be the host that will speak it, so whether an engine is *installed* is a question
for :mod:`outdial.flow.engines` on the host that plays the prompt.

- ``espeak-ng``: any language of espeak-ng 1.51 (``en-us``, ``en-gb``, ``fr``, ...), with an
  optional variant (``en-us+f3``). Instant, robotic, 100+ languages. The default engine.
- ``flite``: CMU Flite's built-in US English voices ``slt`` (female), ``kal`` (male, 8 kHz),
  ``kal16``, ``awb`` (Scottish male) and ``rms`` (male).
- ``festival``: ``us-slt-hts`` (festvox-us-slt-hts, female, HMM-based: the smoothest) and
  ``kal16`` (festvox-kallpc16k, male diphones).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

ESPEAK = "espeak-ng"
FLITE = "flite"
FESTIVAL = "festival"
DEFAULT_ENGINE = ESPEAK


@dataclass(frozen=True, slots=True)
class Voice:
    """One voice of an engine that has a fixed set of them (flite, festival)."""

    engine: str
    name: str
    selector: str  # flite's -voice NAME; festival's Scheme call that selects the voice
    packages: tuple[str, ...]  # the Debian packages that provide it
    description: str


_FLITE_PKG = ("flite",)
_FESTIVAL_SLT = ("festival", "festvox-us-slt-hts")
_FESTIVAL_KAL = ("festival", "festvox-kallpc16k")

VOICES: dict[str, dict[str, Voice]] = {
    FLITE: {
        v.name: v
        for v in (
            Voice(FLITE, "slt", "slt", _FLITE_PKG, "US English, female (clustergen)"),
            Voice(FLITE, "kal", "kal", _FLITE_PKG, "US English, male (diphones, 8 kHz)"),
            Voice(FLITE, "kal16", "kal16", _FLITE_PKG, "US English, male (diphones, 16 kHz)"),
            Voice(FLITE, "awb", "awb", _FLITE_PKG, "Scottish English, male (clustergen)"),
            Voice(FLITE, "rms", "rms", _FLITE_PKG, "US English, male (clustergen)"),
        )
    },
    FESTIVAL: {
        v.name: v
        for v in (
            Voice(
                FESTIVAL,
                "us-slt-hts",
                "(voice_cmu_us_slt_arctic_hts)",
                _FESTIVAL_SLT,
                "US English, female (HMM-based, HTS)",
            ),
            Voice(
                FESTIVAL,
                "kal16",
                "(voice_kal_diphone)",
                _FESTIVAL_KAL,
                "US English, male (diphones, 16 kHz)",
            ),
        )
    },
}
DEFAULT_VOICES = {ESPEAK: "en-us", FLITE: "slt", FESTIVAL: "us-slt-hts"}  # for "engine:"
ENGINES = (ESPEAK, FLITE, FESTIVAL)

# espeak-ng 1.51's languages (``espeak-ng --voices``), their other names and their primary
# subtags: each of these selects a voice (checked against espeak-ng 1.51 in Debian 12).
_ESPEAK_NAMES = """
    af am an ar as az ba be bg bn bpy bs ca chr cmn cmn-latn-pinyin cs cv cy da de el en
    en-029 en-gb en-gb-scotland en-gb-x-gbclan en-gb-x-gbcwmd en-gb-x-rp en-us en-us-nyc eo es
    es-419 es-mx et eu fa fa-latn fi fr fr-be fr-ch fr-fr ga gd gn grc gu hak haw hbs he hi hr
    ht hu hy hy-arevela hy-arevmda hyw ia id io is it ja jbo ka kk kl kn ko kok ku ky la lb lfn
    lt ltg lv mi mk ml mr ms mt my nb nci ne nl no nog om or pa pap piqd pl pt pt-br pt-pt py
    qdb qu quc qya ro ru ru-lv sd shn si sjn sk sl smj sq sr sv sw ta te th tk tn tr tt ug uk
    ur uz vi vi-vn-x-central vi-vn-x-south yue zh zh-cmn zh-yue"""
ESPEAK_LANGUAGES = frozenset(_ESPEAK_NAMES.split())
_ESPEAK_VOICE = re.compile(r"(?P<lang>[A-Za-z][A-Za-z0-9-]*)(?:\+(?P<variant>[A-Za-z0-9_]+))?")


def parse_voice(spec: str | None, default_engine: str = DEFAULT_ENGINE) -> tuple[str, str]:
    """``"flite:slt"`` -> ``("flite", "slt")``; a bare ``"en-us"`` is ``default_engine``'s;
    ``"flite:"`` is flite's default voice; None or empty: espeak-ng's ``en-us``. Engine names
    are lower-cased, as are the voices of flite and festival (whose names are lower case), so
    one voice has one cache key however it is written."""
    spec = (spec or "").strip()
    engine, sep, voice = spec.partition(":")
    if not sep:
        engine, voice = default_engine, spec
    engine = engine.strip().lower() or default_engine
    voice = voice.strip()
    if engine in VOICES:
        voice = voice.lower()
    return engine, voice or DEFAULT_VOICES.get(engine, DEFAULT_VOICES[ESPEAK])


def voice_problem(spec: str) -> str | None:
    """What is wrong with a flow's ``voice`` value, or None when it names a known voice."""
    engine, voice = parse_voice(spec)
    if engine == ESPEAK:
        match = _ESPEAK_VOICE.fullmatch(voice)
        if match is None:
            return f"{voice!r} is not an espeak-ng voice name (a language such as en-us)"
        if match["lang"].lower() not in ESPEAK_LANGUAGES:
            return f"unknown espeak-ng voice {voice!r}{_hint(match['lang'], ESPEAK_LANGUAGES)}"
        return None
    voices = VOICES.get(engine)
    if voices is None:
        return f"unknown engine {engine!r} in {spec!r}: engines are {', '.join(ENGINES)}"
    if voice not in voices:
        return f"unknown {engine} voice {voice!r}: {engine}'s voices are {', '.join(voices)}"
    return None


def voice_of(engine: str, voice: str) -> Voice:
    """The catalogue entry of a flite or festival voice; KeyError for an unknown one."""
    return VOICES[engine][voice]


def all_voices() -> list[str]:
    """Every fixed voice as ``engine:voice``, and espeak-ng's default, for listings."""
    return [f"{ESPEAK}:{DEFAULT_VOICES[ESPEAK]}"] + [
        f"{engine}:{name}" for engine, voices in VOICES.items() for name in voices
    ]


def _hint(name: str, known: frozenset[str]) -> str:
    close = difflib.get_close_matches(name.lower(), sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else " (see espeak-ng --voices)"
