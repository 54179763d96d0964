"""The text-to-speech engines beyond espeak-ng, and the registry of all of them.

flite and festival run as programs (arguments, never a shell) with a time limit; the text goes
in a file of a fresh private directory, never on a command line nor into Scheme, and comes out
as a WAV file there, made 8 kHz µ-law by :func:`outdial.audio.files.prompt_ulaw`
(band-limited resampling: flite's ``kal`` is 8 kHz already, its other voices 16 kHz, festival's
HTS voice 32 kHz). Both speak English only and read bytes, so the text is first made ASCII.

A voice whose engine is not installed on this host is refused where it is played, with a
:class:`~outdial.flow.tts.TtsError` naming the Debian packages: the flow takes the step's
``on_error`` path, or ends with that reason (validation, on the host that saves the flow, only
knows the names; ``outdial flow check`` and ``outdial flow voices`` warn about this host).
"""

from __future__ import annotations

import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path

from outdial.audio.files import AudioFormatError, prompt_ulaw
from outdial.flow.tts import (
    MAX_TEXT,
    TTS_TIMEOUT_S,
    EspeakSynthesizer,
    Synthesizer,
    TtsCache,
    TtsError,
    run_program,
    time_limit,
)
from outdial.flow.voices import ESPEAK, FESTIVAL, FLITE, VOICES, Voice, parse_voice

FESTIVAL_VOICES = Path("/usr/share/festival/voices")  # where Debian's festvox packages go
_PROGRAMS = {ESPEAK: ("espeak-ng", "sox"), FLITE: ("flite",), FESTIVAL: ("text2wave",)}
_FESTIVAL_DIRS = {  # the directory each festival voice installs, to say which one is missing
    "us-slt-hts": "us/cmu_us_slt_arctic_hts",
    "kal16": "english/kal_diphone",
}
# What text-to-ASCII cannot guess from Unicode decomposition.
_ASCII = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'",  # single quotes, prime
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',  # double quotes
        "\u2010": "-", "\u2011": "-", "\u2013": "-", "\u2212": "-",  # hyphens, en dash, minus
        "\u2014": " - ", "\u2026": "...", "\u00a0": " ",  # em dash, ellipsis, no-break space
        "\u20ac": " euros ", "\u00a3": " pounds ", "\u00a9": "(c)", "\u00ae": "(r)",
        "\u00df": "ss", "\u00e6": "ae", "\u00c6": "AE", "\u0153": "oe", "\u0152": "OE",
        "\u00f8": "o", "\u00d8": "O", "\u0142": "l", "\u0141": "L", "\u0111": "d",
    }
)  # fmt: skip


def to_ascii(text: str) -> str:
    """``text`` as the ASCII flite and festival read: typographic quotes and dashes made
    plain, accents dropped (``café`` -> ``cafe``), control characters made spaces, anything
    else (``日本``) left out."""
    text = unicodedata.normalize("NFKD", text.translate(_ASCII))
    out = []
    for char in text:
        if char.isascii():
            out.append(char if char.isprintable() or char == "\n" else " ")
        elif unicodedata.category(char).startswith("Z"):
            out.append(" ")
    return "".join(out)


def _checked(text: str, voice: str, engine: str) -> tuple[Voice, str]:
    """The voice's entry and the text to speak, or TtsError."""
    entry = VOICES[engine].get(voice)
    if entry is None:
        raise TtsError(f"tts: {engine} has no voice {voice!r} ({', '.join(VOICES[engine])})")
    if len(text) > MAX_TEXT:
        raise TtsError(f"tts: text longer than {MAX_TEXT} characters")
    return entry, to_ascii(text)


def _ulaw(wav: bytes, program: str) -> bytes:
    try:
        return prompt_ulaw(wav)
    except AudioFormatError as exc:
        raise TtsError(f"tts: {program} wrote no usable audio ({exc})") from exc


class FliteSynthesizer:
    """CMU Flite with its built-in voices (``flite -voice slt -f TEXT -o WAV``)."""

    def __init__(self, *, flite: str = "flite", timeout_s: float = TTS_TIMEOUT_S) -> None:
        self._flite = flite
        self._timeout_s = timeout_s

    @property
    def engine(self) -> str:
        return FLITE

    def synthesize(self, text: str, voice: str) -> bytes:
        entry, speakable = _checked(text, voice, FLITE)
        if not speakable.strip():
            return b""
        with tempfile.TemporaryDirectory(prefix="outdial-tts-") as tmp:
            source, output = Path(tmp) / "prompt.txt", Path(tmp) / "prompt.wav"
            source.write_text(speakable, encoding="ascii")
            argv = [self._flite, "-voice", entry.selector, "-f", str(source), "-o", str(output)]
            run_program(argv, None, time_limit(text, self._timeout_s))
            return _ulaw(_read(output, self._flite, ""), self._flite)


class FestivalSynthesizer:
    """Festival through ``text2wave``: the voice is selected by a fixed Scheme call from the
    catalogue (``-eval "(voice_cmu_us_slt_arctic_hts)"``); the text is a file read in
    festival's plain text mode (``-mode fundamental``: never markup, whatever the file's name),
    so quotes, parentheses and backslashes in it are only spoken, never evaluated."""

    def __init__(
        self,
        *,
        text2wave: str = "text2wave",
        voices_dir: Path = FESTIVAL_VOICES,
        timeout_s: float = TTS_TIMEOUT_S,
    ) -> None:
        self._text2wave = text2wave
        self._voices_dir = voices_dir
        self._timeout_s = timeout_s

    @property
    def engine(self) -> str:
        return FESTIVAL

    def synthesize(self, text: str, voice: str) -> bytes:
        entry, speakable = _checked(text, voice, FESTIVAL)
        if not speakable.strip():
            return b""  # festival writes no file for empty text
        with tempfile.TemporaryDirectory(prefix="outdial-tts-") as tmp:
            source, output = Path(tmp) / "prompt.txt", Path(tmp) / "prompt.wav"
            source.write_text(speakable, encoding="ascii")
            argv = [self._text2wave, "-mode", "fundamental", "-eval", entry.selector]
            argv += ["-otype", "riff", "-o", str(output), str(source)]
            try:
                run_program(argv, None, time_limit(text, self._timeout_s))
            except TtsError as error:
                if "is not installed" in str(error):
                    raise TtsError(_not_installed(FESTIVAL, voice, entry.packages)) from error
                raise
            # festival exits 0 after a Scheme error ("SIOD ERROR: unbound variable :
            # voice_..." when the voice package is missing) and writes no file
            missing = _missing_voice(entry, self._voices_dir)
            return _ulaw(_read(output, self._text2wave, missing), FESTIVAL)


def _read(output: Path, program: str, why: str) -> bytes:
    try:
        return output.read_bytes()
    except FileNotFoundError:
        raise TtsError(why or f"tts: {program} wrote no audio") from None


def _not_installed(engine: str, voice: str, packages: tuple[str, ...]) -> str:
    listed = " ".join(packages)
    return (
        f"tts: {engine}:{voice} is not installed on this host "
        f"(Debian packages {listed}: apt-get install {listed}, or scripts/system-deps)"
    )


def _missing_voice(entry: Voice, voices_dir: Path) -> str:
    where = _FESTIVAL_DIRS.get(entry.name)
    if where is not None and not (voices_dir / where).is_dir():
        return _not_installed(entry.engine, entry.name, entry.packages)
    return f"tts: festival wrote no audio for {entry.engine}:{entry.name}"


# -- the registry ---------------------------------------------------------------------------


def synthesizers() -> dict[str, Synthesizer]:
    """Every engine by its name in ``engine:voice``."""
    return {
        ESPEAK: EspeakSynthesizer(),
        FLITE: FliteSynthesizer(),
        FESTIVAL: FestivalSynthesizer(),
    }


def default_cache(directory: Path | None = None) -> TtsCache:
    """The cache a worker speaks through: every engine, kept in ``directory`` when given."""
    return TtsCache(synthesizers(), directory=directory)


def missing_on_this_host(
    spec: str,
    which: Callable[[str], str | None] = shutil.which,
    voices_dir: Path = FESTIVAL_VOICES,
) -> str | None:
    """Why ``spec`` (a voice that validation accepted) cannot be spoken on this host: a
    program or the voice's package is not installed; None when it can (or for an unknown
    engine, which validation reports)."""
    engine, voice = parse_voice(spec)
    programs = _PROGRAMS.get(engine)
    if programs is None:
        return None
    entry = VOICES.get(engine, {}).get(voice)
    packages = entry.packages if entry is not None else programs
    where = _FESTIVAL_DIRS.get(voice) if engine == FESTIVAL else None
    if any(which(p) is None for p in programs) or (
        where is not None and not (voices_dir / where).is_dir()
    ):
        return _not_installed(engine, voice, packages).removeprefix("tts: ")
    return None
