"""Voices: the names a flow may use, their validation, the registry of engines, cache keys,
the text flite and festival are given, and what this host lacks. No synthesiser runs here
(tests/integration/test_tts_voices.py runs them)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import cast

import pytest

from outdial.dispatch.flows import FlowRuntime
from outdial.flow.context import Session
from outdial.flow.document import load_flow
from outdial.flow.engines import (
    FestivalSynthesizer,
    FliteSynthesizer,
    missing_on_this_host,
    synthesizers,
    to_ascii,
)
from outdial.flow.prompts import prompts_known_at_claim
from outdial.flow.tts import EspeakSynthesizer, TtsCache, TtsError, cache_key
from outdial.flow.validate import check
from outdial.flow.voices import (
    ESPEAK_LANGUAGES,
    VOICES,
    all_voices,
    parse_voice,
    voice_problem,
)
from outdial.store.store import Store


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("flite:slt", ("flite", "slt")),
        ("FLITE:SLT", ("flite", "slt")),  # one voice, one cache key
        (" flite : kal ", ("flite", "kal")),
        ("flite:", ("flite", "slt")),  # the engine's default voice
        ("festival:", ("festival", "us-slt-hts")),
        ("festival:us-slt-hts", ("festival", "us-slt-hts")),
        ("en-US", ("espeak-ng", "en-US")),  # espeak-ng's names are its own business
        ("espeak-ng:", ("espeak-ng", "en-us")),
    ],
)
def test_parse_voice_gives_one_name_per_voice(spec: str, expected: tuple[str, str]) -> None:
    assert parse_voice(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "en-us",
        "espeak-ng:en-gb",
        "fr",
        "en-us+f3",
        "pt-BR",
        "zh",
        "flite:slt",
        "flite:kal",
        "flite:kal16",
        "flite:awb",
        "flite:rms",
        "festival:us-slt-hts",
        "festival:kal16",
        "Festival:US-SLT-HTS",
    ],
)
def test_known_voices_pass(spec: str) -> None:
    assert voice_problem(spec) is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "piper:amy",
            "unknown engine 'piper' in 'piper:amy': engines are espeak-ng, flite, festival",
        ),
        ("flite:bob", "unknown flite voice 'bob': flite's voices are slt, kal, kal16, awb, rms"),
        ("flite:awb_time", "unknown flite voice 'awb_time'"),  # flite's talking clock only
        ("festival:slt", "unknown festival voice 'slt': festival's voices are us-slt-hts, kal16"),
        ("en-xx", "unknown espeak-ng voice 'en-xx'"),
        ("english", "unknown espeak-ng voice 'english' (see espeak-ng --voices)"),
        ("mb-en1", "unknown espeak-ng voice 'mb-en1'"),  # mbrola: not installed by outdial
        ("-w/tmp/x", "'-w/tmp/x' is not an espeak-ng voice name"),
        ("en-us+", "'en-us+' is not an espeak-ng voice name"),
    ],
)
def test_unknown_voices_say_what_is_wrong(spec: str, message: str) -> None:
    problem = voice_problem(spec)
    assert problem is not None and problem.startswith(message)


def test_every_voice_is_listed_and_valid() -> None:
    listed = all_voices()
    assert listed[0] == "espeak-ng:en-us"
    assert {v for v in listed if v.startswith("flite:")} == {
        f"flite:{n}" for n in ("slt", "kal", "kal16", "awb", "rms")
    }
    assert all(voice_problem(v) is None for v in listed)
    assert "en-us" in ESPEAK_LANGUAGES and "en-gb" in ESPEAK_LANGUAGES


def test_validation_names_the_step_and_field_of_each_unknown_voice() -> None:
    text = (
        "flow: 1\n"
        "start: greet\n"
        "voice: 'flite:bob'\n"
        "steps:\n"
        "  greet: {type: say, text: hi, voice: 'piper:amy', next: ask}\n"
        "  ask:\n"
        "    type: menu\n"
        "    voice: 'festival:us-slt-hts'\n"
        "    prompt: {text: 'Press 1.', voice: 'flite:kal'}\n"
        "    no_input: ['again', {text: 'Press 1!', voice: xx-yy}]\n"
        "    no_match: [{text: 'No.', voice: 'festival:nope'}]\n"
        "    choices: {'1': done}\n"
        "  done: {type: record, prompt: 'Speak.', voice: 'flite:rms'}\n"
    )
    problems = {(p.path, p.line): p.message for p in check(text)}
    assert set(problems) == {
        ("voice", 3),
        ("steps.greet.voice", 5),
        ("steps.ask.no_input.1.voice", 10),
        ("steps.ask.no_match.0.voice", 11),
    }
    assert all(p.severity.value == "error" for p in check(text))


def test_a_voice_that_is_not_a_string_is_the_schemas_error_only() -> None:
    problems = check("flow: 1\nstart: a\nvoice: 3\nsteps:\n  a: {type: hangup}\n")
    assert [(p.path, p.message) for p in problems] == [
        ("voice", "must be of type string (not int)")
    ]


def test_the_registry_has_every_engine_of_the_catalogue() -> None:
    engines = synthesizers()
    assert set(engines) == {"espeak-ng", *VOICES}
    assert isinstance(engines["espeak-ng"], EspeakSynthesizer)
    assert isinstance(engines["flite"], FliteSynthesizer)
    assert isinstance(engines["festival"], FestivalSynthesizer)
    assert all(engine.engine == name for name, engine in engines.items())


def test_cache_keys_include_engine_and_voice() -> None:
    keys = {
        cache_key(*parse_voice(spec), "Hello.")
        for spec in ("en-us", "flite:slt", "flite:kal", "festival:us-slt-hts", "festival:kal16")
    }
    assert len(keys) == 5
    assert cache_key(*parse_voice("FLITE:SLT"), "x") == cache_key(*parse_voice("flite:slt"), "x")
    assert cache_key(*parse_voice("en-us"), "x") == cache_key(*parse_voice("espeak-ng:en-us"), "x")


class Keeping:
    def __init__(self, name: str) -> None:
        self.engine = name
        self.calls: list[tuple[str, str]] = []

    def synthesize(self, text: str, voice: str) -> bytes:
        self.calls.append((text, voice))
        return f"{self.engine}:{voice}:{text}".encode()


def test_the_cache_keeps_each_engine_and_voice_apart(tmp_path: Path) -> None:
    engines = {name: Keeping(name) for name in ("espeak-ng", "flite", "festival")}
    cache = TtsCache(engines, directory=tmp_path)
    for spec in ("flite:slt", "FLITE:slt", "flite:kal", "festival:us-slt-hts", "en-us"):
        cache.get("Hi.", spec)
    assert engines["flite"].calls == [("Hi.", "slt"), ("Hi.", "kal")]
    assert engines["festival"].calls == [("Hi.", "us-slt-hts")]
    assert cache.get("Hi.", "festival:us-slt-hts") == b"festival:us-slt-hts:Hi."
    assert len(list(tmp_path.iterdir())) == 4


def test_calls_ringing_with_two_spellings_of_a_voice_share_one_synthesis() -> None:
    class Slow(Keeping):
        def synthesize(self, text: str, voice: str) -> bytes:
            time.sleep(0.05)
            return super().synthesize(text, voice)

    flite = Slow("flite")
    runtime = FlowRuntime(cast(Store, object()), TtsCache({"flite": flite}), asyncio.to_thread)

    async def ring() -> None:
        await asyncio.gather(
            runtime._synthesize([("flite:slt", "Hello.")]),
            runtime._synthesize([("FLITE:slt", "Hello.")]),
            runtime._synthesize([("flite:", "Hello.")]),
        )

    asyncio.run(ring())
    assert flite.calls == [("Hello.", "slt")]


def test_prompts_synthesised_while_ringing_carry_each_steps_voice() -> None:
    flow = load_flow(
        "flow: 1\nstart: a\nvoice: 'festival:us-slt-hts'\nsteps:\n"
        "  a: {type: say, text: 'Hello ${name}.', next: b}\n"
        "  b: {type: say, text: 'Fast.', voice: 'flite:slt', next: c}\n"
        "  c: {type: hangup}\n"
    )
    known = prompts_known_at_claim(flow, {"name": "Ann"}, Session("c", 1, "+1617"))
    assert known == [("festival:us-slt-hts", "Hello Ann."), ("flite:slt", "Fast.")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello.", "Hello."),
        ("It\u2019s \u201cfine\u201d \u2014 really\u2026", 'It\'s "fine"  -  really...'),
        ("Caf\u00e9 na\u00efve \u00c5ngstr\u00f6m", "Cafe naive Angstrom"),
        ("Pay \u20ac5 or \u00a35", "Pay  euros 5 or  pounds 5"),
        ("\u65e5\u672c\u8a9e", ""),  # nothing flite or festival could say
        ("a\tb\x07c\nd", "a b c\nd"),
        ('(quit) ") (system "rm")', '(quit) ") (system "rm")'),  # kept: only spoken
    ],
)
def test_text_for_flite_and_festival_is_plain_ascii(text: str, expected: str) -> None:
    assert to_ascii(text) == expected
    assert to_ascii(text).isascii()


def test_what_this_host_lacks_is_named_with_its_packages(tmp_path: Path) -> None:
    def nothing(program: str) -> str | None:
        return None

    def everything(program: str) -> str | None:
        return f"/usr/bin/{program}"

    missing = missing_on_this_host("festival:us-slt-hts", nothing, tmp_path)
    assert missing is not None
    assert "festival:us-slt-hts is not installed on this host" in missing
    assert "festival festvox-us-slt-hts" in missing
    no_voice = missing_on_this_host("festival:us-slt-hts", everything, tmp_path)
    assert no_voice is not None and "festvox-us-slt-hts" in no_voice
    (tmp_path / "us" / "cmu_us_slt_arctic_hts").mkdir(parents=True)
    assert missing_on_this_host("festival:us-slt-hts", everything, tmp_path) is None
    assert missing_on_this_host("flite:slt", everything, tmp_path) is None
    flite = missing_on_this_host("flite:slt", nothing, tmp_path)
    assert flite is not None and "(Debian packages flite:" in flite
    espeak = missing_on_this_host("en-us", nothing, tmp_path)
    assert espeak is not None and "espeak-ng sox" in espeak
    assert missing_on_this_host("piper:amy", nothing, tmp_path) is None  # validation's job


def test_engines_refuse_voices_and_texts_they_cannot_speak() -> None:
    with pytest.raises(TtsError, match="flite has no voice 'bob'"):
        FliteSynthesizer().synthesize("hi", "bob")
    with pytest.raises(TtsError, match="festival has no voice 'slt'"):
        FestivalSynthesizer().synthesize("hi", "slt")
    with pytest.raises(TtsError, match="longer than 5000"):
        FliteSynthesizer().synthesize("a" * 5001, "slt")
    assert FliteSynthesizer().synthesize("  \n", "slt") == b""  # nothing to say: no program
    assert FestivalSynthesizer().synthesize("\u65e5\u672c", "us-slt-hts") == b""
