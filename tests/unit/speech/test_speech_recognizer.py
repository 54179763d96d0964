"""Recognising utterances: answers, synonyms, and no match for other speech, silence, noise.

Clips are spoken by espeak-ng and flite, synthesised once per session."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from outdial.audio.files import read_audio
from outdial.speech.recognizer import NO_SPEECH, Recognizer, speech_frames

Speak = Callable[[str, str], npt.NDArray[np.int16]]


@pytest.fixture(scope="session")
def speak(tmp_path_factory: pytest.TempPathFactory) -> Speak:
    """``speak(voice, text)``: 8 kHz samples of ``text`` said by ``voice`` (``espeak:en-us``,
    ``flite:kal``), synthesised on first use and kept for the session."""
    folder = tmp_path_factory.mktemp("speech")
    made: dict[tuple[str, str], npt.NDArray[np.int16]] = {}

    def say(voice: str, text: str) -> npt.NDArray[np.int16]:
        if (voice, text) not in made:
            engine, _, name = voice.partition(":")
            path = folder / f"{engine}-{name}-{len(made)}.wav"
            if engine == "espeak":
                command = ["espeak-ng", "-v", name, "-w", str(path), text]
            else:
                command = ["flite", "-voice", name, "-t", text, "-o", str(path)]
            subprocess.run(command, check=True, capture_output=True)
            made[voice, text] = read_audio(Path(path))
        return made[voice, text]

    return say


MENU = {"yes": "1", "no": "2"}


@pytest.fixture(scope="module")
def menu() -> Recognizer:
    return Recognizer(MENU)


@pytest.mark.parametrize(
    ("voice", "said", "key"),
    [
        ("espeak:en-us", "yes", "1"),
        ("flite:kal", "yes", "1"),
        ("flite:kal", "no", "2"),
        ("flite:kal", "nope", "2"),
        ("flite:slt", "no", "2"),
    ],
)
def test_an_answer_is_its_key_and_the_text_is_the_menus_phrase(
    menu: Recognizer, speak: Speak, voice: str, said: str, key: str
) -> None:
    heard = menu.recognize(speak(voice, said))

    assert heard.key == key
    assert heard.text == {"1": "yes", "2": "no"}[key]
    assert menu.threshold <= heard.confidence <= 1.0


def test_digits_are_recognised(speak: Speak) -> None:
    digits = Recognizer({"one": "1", "two": "2", "three": "3"})

    assert [digits.recognize(speak("flite:kal", w)).key for w in ("one", "two", "three")] == [
        "1",
        "2",
        "3",
    ]


def test_silence_and_steady_noise_are_no_match_without_decoding(menu: Recognizer) -> None:
    rng = np.random.default_rng(1)
    silence = np.zeros(12000, dtype=np.int16)
    hiss = rng.normal(0, 1000, 12000).astype(np.int16)
    hum = (3000 * np.sin(2 * np.pi * 60 * np.arange(12000) / 8000)).astype(np.int16)

    for pcm in (silence, hiss, hum):
        assert not speech_frames(pcm).any()
        assert menu.recognize(pcm) == NO_SPEECH
    assert menu.recognize(np.zeros(0, dtype=np.int16)) == NO_SPEECH


@pytest.mark.parametrize("voice", ["flite:kal", "espeak:en-us"])
@pytest.mark.parametrize(
    "said", ["can you call back tomorrow afternoon", "my wife handles the bills"]
)
def test_a_sentence_that_is_no_answer_is_no_match(
    menu: Recognizer, speak: Speak, voice: str, said: str
) -> None:
    heard = menu.recognize(speak(voice, said))

    assert (heard.key, heard.text) == (None, "")
    assert heard.confidence < menu.threshold


def test_a_decoy_is_no_match_though_it_was_heard(menu: Recognizer, speak: Speak) -> None:
    heard = menu.recognize(speak("flite:kal", "hello"))

    assert (heard.key, heard.heard) == (None, "hello")


def test_a_threshold_above_the_confidence_makes_an_answer_no_match(speak: Speak) -> None:
    pcm = speak("flite:kal", "yes")
    heard = Recognizer(MENU, threshold=0.0).recognize(pcm)
    strict = Recognizer(MENU, threshold=1.0).recognize(pcm)

    assert heard.key == "1"
    assert strict.key is None or heard.confidence == 1.0
    with pytest.raises(ValueError, match="between 0 and 1"):
        Recognizer(MENU, threshold=1.5)


def test_a_menu_whose_phrases_are_all_unknown_words_hears_nothing(speak: Speak) -> None:
    assert Recognizer({"zzqx": "1"}).recognize(speak("flite:kal", "yes")) == NO_SPEECH
