"""Text to speech: espeak-ng for real (it is fast), and the cache with a counting engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from outdial.flow.tts import (
    SAMPLE_RATE,
    EspeakSynthesizer,
    TtsCache,
    TtsError,
    cache_key,
    parse_voice,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("en-us", ("espeak-ng", "en-us")),
        ("espeak-ng:en-gb", ("espeak-ng", "en-gb")),
        ("piper:amy", ("piper", "amy")),
        (None, ("espeak-ng", "en-us")),
        ("", ("espeak-ng", "en-us")),
        (":fr", ("espeak-ng", "fr")),
    ],
)
def test_parse_voice(spec: str | None, expected: tuple[str, str]) -> None:
    assert parse_voice(spec) == expected


def test_espeak_makes_plausible_ulaw_audio() -> None:
    audio = EspeakSynthesizer().synthesize("Hello, this is Acme Dental with a reminder.", "en-us")
    seconds = len(audio) / SAMPLE_RATE  # one byte per sample
    assert 1.5 < seconds < 6.0
    assert len(set(audio)) > 100  # speech, not silence (0xFF / 0x7F in µ-law)
    loud = sum(1 for b in audio if (b & 0x7F) < 0x50)  # µ-law: small codes are loud
    assert loud > len(audio) // 20


def test_longer_text_is_longer_audio() -> None:
    engine = EspeakSynthesizer()
    short = engine.synthesize("Yes.", "en-us")
    long = engine.synthesize("Yes. " * 6 + "Thank you for your time, goodbye.", "en-us")
    assert len(long) > 3 * len(short) > 0


def test_text_that_looks_like_an_option_is_spoken() -> None:
    audio = EspeakSynthesizer().synthesize("-w /tmp/outdial-evil.wav", "en-us")
    assert len(audio) > SAMPLE_RATE // 2
    assert not Path("/tmp/outdial-evil.wav").exists()


def test_espeak_failures_are_tts_errors() -> None:
    engine = EspeakSynthesizer()
    with pytest.raises(TtsError, match="espeak-ng failed"):
        engine.synthesize("hi", "nosuchvoice")
    with pytest.raises(TtsError, match="not a voice name"):
        engine.synthesize("hi", "-w/tmp/x")
    assert engine.synthesize("   ", "en-us") == b""


def test_missing_binary_is_a_tts_error() -> None:
    engine = EspeakSynthesizer(espeak="/nonexistent/espeak-ng")
    with pytest.raises(TtsError, match="is not installed"):
        engine.synthesize("hi", "en-us")


class Counting:
    """An engine that makes one byte per character and counts its calls."""

    def __init__(self, name: str = "espeak-ng") -> None:
        self.name = name
        self.calls: list[tuple[str, str]] = []

    @property
    def engine(self) -> str:
        return self.name

    def synthesize(self, text: str, voice: str) -> bytes:
        self.calls.append((text, voice))
        if text == "fail":
            raise TtsError("tts: broken")
        return f"{voice}:{text}".encode()


def test_cache_synthesises_each_text_and_voice_once() -> None:
    engine = Counting()
    cache = TtsCache(engine)
    assert cache.get("hello", "en-us") == b"en-us:hello"
    assert cache.get("hello", "espeak-ng:en-us") == b"en-us:hello"  # the same voice
    assert cache.get("hello", "en-gb") == b"en-gb:hello"
    assert cache.get("hello") == b"en-us:hello"
    assert engine.calls == [("hello", "en-us"), ("hello", "en-gb")]
    assert (cache.hits, cache.misses) == (2, 2)
    assert cache.cached("hello", "en-gb") and not cache.cached("bye", "en-gb")


def test_cache_picks_the_engine_and_refuses_unknown_ones() -> None:
    espeak, other = Counting(), Counting("other")
    cache = TtsCache({"espeak-ng": espeak, "other": other})
    cache.get("a", "other:v1")
    cache.get("a", "v1")
    assert other.calls == [("a", "v1")] and espeak.calls == [("a", "v1")]
    with pytest.raises(TtsError, match="no engine 'piper'"):
        cache.get("a", "piper:amy")


def test_cache_failures_are_not_cached() -> None:
    engine = Counting()
    cache = TtsCache(engine)
    for _ in range(2):
        with pytest.raises(TtsError):
            cache.get("fail", "en-us")
    assert len(engine.calls) == 2


def test_cache_drops_the_least_recently_used_past_its_size() -> None:
    engine = Counting()
    cache = TtsCache(engine, max_bytes=30)  # each entry is "en-us:" + 4 chars = 10 bytes
    for text in ("aaaa", "bbbb", "cccc"):
        cache.get(text, "en-us")
    cache.get("aaaa", "en-us")  # used again: now the most recent
    cache.get("dddd", "en-us")  # over 30 bytes: "bbbb" goes
    assert cache.memory_bytes == 30
    assert not cache.cached("bbbb", "en-us")
    assert cache.cached("aaaa", "en-us") and cache.cached("dddd", "en-us")


def test_cache_directory_survives_a_new_cache(tmp_path: Path) -> None:
    engine = Counting()
    TtsCache(engine, directory=tmp_path / "tts").get("hello", "en-us")
    files = list((tmp_path / "tts").iterdir())
    assert [f.name for f in files] == [f"{cache_key('espeak-ng', 'en-us', 'hello')}.ul"]
    again = TtsCache(engine, directory=tmp_path / "tts")
    assert again.get("hello", "en-us") == b"en-us:hello"
    assert len(engine.calls) == 1
    assert again.hits == 1


def test_cache_key_separates_its_parts() -> None:
    assert cache_key("e", "v", "t") != cache_key("e", "vt", "")
    assert cache_key("e", "v", "t") == cache_key("e", "v", "t")
