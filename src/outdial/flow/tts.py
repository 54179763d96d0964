"""Text to speech: a small engine interface, espeak-ng by default, and a cache.

Audio is G.711 µ-law at 8 kHz, mono, headerless: what an RTP leg sends as PCMU. A voice is
written ``engine:voice`` or as a bare voice for the default engine (``en-us`` is espeak-ng's
US English); :mod:`outdial.flow.voices` lists them and :mod:`outdial.flow.engines` has the
other engines (flite, festival) and the registry of all. Prompts known when a call is claimed
are synthesised while the phone rings, so the cache is shared by the calls of a worker.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from outdial.errors import OutdialError
from outdial.flow.voices import ESPEAK, parse_voice

__all__ = ["ESPEAK", "parse_voice"]  # re-exported: where callers have always found them

SAMPLE_RATE = 8000  # Hz, G.711
TTS_TIMEOUT_S = 30.0  # seconds for one synthesis, plus TTS_TIMEOUT_PER_CHAR_S per character
TTS_TIMEOUT_PER_CHAR_S = 0.02  # festival takes ~4 ms a character (19 s for MAX_TEXT) when idle
MAX_TEXT = 5000  # characters in one prompt
CACHE_BYTES = 64 * 1024 * 1024  # bytes of audio kept in memory (about 2.3 hours at 8 kB/s)
_VOICE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_+\-/]*")


class TtsError(OutdialError):
    """Text to speech failed."""


class Synthesizer(Protocol):
    """An engine: text in, µ-law 8 kHz audio out. ``synthesize`` may block (a subprocess);
    async callers run it in a thread. It raises :class:`TtsError` on any failure."""

    @property
    def engine(self) -> str: ...

    def synthesize(self, text: str, voice: str) -> bytes: ...


def time_limit(text: str, base_s: float = TTS_TIMEOUT_S) -> float:
    """Seconds one synthesis of ``text`` may take: long prompts take longer."""
    return base_s + len(text) * TTS_TIMEOUT_PER_CHAR_S


def run_program(argv: list[str], stdin: bytes | None, timeout_s: float) -> bytes:
    """Run a synthesiser (arguments, never a shell); its stdout, or :class:`TtsError` saying
    what failed (not installed, too slow, its last line of stderr)."""
    try:
        done = subprocess.run(
            argv,
            input=stdin if stdin is not None else b"",
            capture_output=True,
            timeout=timeout_s,  # run() kills the program when it is too slow
            check=False,
        )
    except FileNotFoundError as exc:
        raise TtsError(f"tts: {argv[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise TtsError(f"tts: {argv[0]} took more than {timeout_s:g} s") from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1] if detail else f"exit status {done.returncode}"
        raise TtsError(f"tts: {argv[0]} failed: {reason}")
    return done.stdout


class EspeakSynthesizer:
    """espeak-ng, resampled to 8 kHz µ-law by sox. Both run as subprocesses with arguments
    (never a shell); the text is one argument after ``--``, so it cannot be taken for an
    option."""

    def __init__(
        self, *, espeak: str = ESPEAK, sox: str = "sox", timeout_s: float = TTS_TIMEOUT_S
    ) -> None:
        self._espeak = espeak
        self._sox = sox
        self._timeout_s = timeout_s

    @property
    def engine(self) -> str:
        return ESPEAK

    def synthesize(self, text: str, voice: str) -> bytes:
        if not _VOICE.fullmatch(voice):
            raise TtsError(f"tts: {voice!r} is not a voice name")
        if len(text) > MAX_TEXT:
            raise TtsError(f"tts: text longer than {MAX_TEXT} characters")
        limit = time_limit(text, self._timeout_s)
        wav = run_program([self._espeak, "--stdout", "-v", voice, "--", text], None, limit)
        if not text.strip():
            return b""
        return run_program(
            [self._sox, "-q", "-t", "wav", "-", "-r", str(SAMPLE_RATE), "-c", "1", "-t", "ul", "-"],
            wav,
            limit,
        )


def cache_key(engine: str, voice: str, text: str) -> str:
    return hashlib.sha256(f"{engine}\0{voice}\0{text}".encode()).hexdigest()


class TtsCache:
    """Synthesised audio by (engine, voice, text): in memory, least recently used first out
    past ``max_bytes``, and in ``directory`` when one is given (shared by restarts and by the
    workers of a host). Safe to use from several threads."""

    def __init__(
        self,
        engines: Synthesizer | Mapping[str, Synthesizer],
        *,
        max_bytes: int = CACHE_BYTES,
        directory: Path | None = None,
        default_engine: str = ESPEAK,
    ) -> None:
        if isinstance(engines, Mapping):
            self._engines = dict(engines)
        else:
            self._engines = {engines.engine: engines}
        self._default = default_engine
        self._max_bytes = max_bytes
        self._directory = directory
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, text: str, voice: str | None = None) -> bytes:
        """The audio of ``text`` in ``voice`` (``engine:voice`` or bare), synthesised once."""
        engine_name, voice_name = parse_voice(voice, self._default)
        engine = self._engines.get(engine_name)
        if engine is None:
            raise TtsError(f"tts: no engine {engine_name!r} (have: {', '.join(self._engines)})")
        key = cache_key(engine_name, voice_name, text)
        with self._lock:
            audio = self._memory.get(key)
            if audio is not None:
                self._memory.move_to_end(key)
                self.hits += 1
                return audio
        audio = self._read(key)
        if audio is None:
            audio = engine.synthesize(text, voice_name)
            self._write(key, audio)
            self.misses += 1
        else:
            self.hits += 1
        self._remember(key, audio)
        return audio

    def cached(self, text: str, voice: str | None = None) -> bool:
        engine_name, voice_name = parse_voice(voice, self._default)
        key = cache_key(engine_name, voice_name, text)
        with self._lock:
            if key in self._memory:
                return True
        return self._directory is not None and (self._directory / f"{key}.ul").exists()

    @property
    def memory_bytes(self) -> int:
        return self._bytes

    def _remember(self, key: str, audio: bytes) -> None:
        with self._lock:
            if key in self._memory:
                return
            self._memory[key] = audio
            self._bytes += len(audio)
            while self._bytes > self._max_bytes and len(self._memory) > 1:
                _, old = self._memory.popitem(last=False)
                self._bytes -= len(old)

    def _read(self, key: str) -> bytes | None:
        if self._directory is None:
            return None
        try:
            return (self._directory / f"{key}.ul").read_bytes()
        except FileNotFoundError:
            return None

    def _write(self, key: str, audio: bytes) -> None:
        if self._directory is None:
            return
        self._directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(audio)
            os.replace(tmp, self._directory / f"{key}.ul")  # readers never see half a file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
