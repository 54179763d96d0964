"""Spoken clips for the speech tests, synthesised once per session with espeak-ng and flite."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from outdial.audio.files import read_audio

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
