"""Endpointing: where the callee's answer to a menu starts and ends in the call's audio.

Pure and synchronous, like the detector: :class:`Endpointer` is fed the callee's 20 ms frames
and says when an utterance starts (:class:`Started`, so the menu's no-input timer can stop)
and when it is over (:class:`Utterance`, the audio to recognise). It listens with webrtcvad
behind an energy floor:

- an utterance **starts** when at least ``START_VOICED`` of the last ``START_WINDOW`` frames
  are voice (100 ms of speech within 160 ms): a click, a pop or a single loud frame does not;
- it **ends** after ``END_SILENCE_MS`` of frames without voice (a pause between words is
  shorter), or when it reaches ``MAX_UTTERANCE_MS`` (someone who keeps talking: what they said
  first is recognised, and the endpointer waits for quiet before it listens again);
- the utterance handed over has ``PREROLL_MS`` of audio before the start (a word's first
  sound is quiet and the VAD is late to it) and at most ``TAIL_MS`` of the silence after it.

While one of our prompts plays, the line may bring it back (echo the far end did not cancel),
and a prompt that says "say yes" would answer itself. :class:`EchoReference` keeps what we
sent; a frame counts as voice only if it is louder than the loudest of our frames of the last
``ECHO_WINDOW_MS`` less ``ECHO_LOSS_DB``: echo weaker than that is ignored, and so is a callee
who talks over a prompt more than 20 dB more quietly than it (an IVR's barge-in sensitivity).
Echo less than 20 dB down (a line with no echo canceller at all) is still heard.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from outdial.audio.frames import FRAME_MS, FRAME_SAMPLES
from outdial.detect.vad import VoiceActivity

VAD_MODE = 2  # webrtcvad aggressiveness (0-3): 2 keeps quiet speech, drops most line noise
ENERGY_FLOOR_DBFS = -50.0  # dBFS: quieter frames are never speech, whatever the VAD says
START_WINDOW = 8  # frames (160 ms) looked at for a start
START_VOICED = 5  # voiced frames among them that make a start (100 ms)
END_SILENCE_MS = 700  # ms without voice that end an utterance
MAX_UTTERANCE_MS = 5000  # ms from the start at which an utterance is cut
PREROLL_MS = 300  # ms of audio kept before the start
TAIL_MS = 300  # ms of the closing silence kept after the last voiced frame
ECHO_WINDOW_MS = 500  # ms of our audio an echo may lag behind it (line, jitter, queues)
ECHO_LOSS_DB = 20.0  # dB below our own audio: echo from there down is not the callee

Pcm = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class Started:
    """The callee started speaking, ``at_ms`` from the first frame fed."""

    at_ms: int


@dataclass(frozen=True, slots=True)
class Utterance:
    """What the callee said: 8 kHz samples (preroll and a short tail included), where it
    started (ms from the first frame fed), and whether it was cut at the length limit."""

    pcm: Pcm
    start_ms: int
    capped: bool = False

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) * FRAME_MS // FRAME_SAMPLES


def _frames(ms: int) -> int:
    return max(1, ms // FRAME_MS)


# The floor as a frame's sum of squared samples, so a frame costs one dot product.
_FLOOR_ENERGY = (32768.0 * 10 ** (ENERGY_FLOOR_DBFS / 20)) ** 2 * FRAME_SAMPLES
_ECHO_FACTOR = 10 ** (-ECHO_LOSS_DB / 10)  # energy ratio


def frame_energy(frame: bytes) -> int:
    """A frame's energy: the sum of its squared samples."""
    pcm = np.frombuffer(frame, dtype="<i2").astype(np.int64)
    return int(pcm @ pcm)


class EchoReference:
    """The energy of what we sent the callee, 20 ms frame by frame on the caller's clock
    (seconds): :meth:`level` is the echo a frame heard at a time may carry."""

    def __init__(self) -> None:
        self._sent: list[tuple[float, npt.NDArray[np.int64], float]] = []  # start, energies, end

    def play(self, at_s: float, pcm: Pcm) -> None:
        """We started sending ``pcm`` (8 kHz) at ``at_s``."""
        whole = len(pcm) // FRAME_SAMPLES * FRAME_SAMPLES
        frames = pcm[:whole].astype(np.int64).reshape(-1, FRAME_SAMPLES)
        energies = np.einsum("ij,ij->i", frames, frames)
        self._sent.append((at_s, energies, at_s + len(energies) * FRAME_MS / 1000))

    def stop(self, at_s: float) -> None:
        """What we were sending stopped at ``at_s`` (played out, or cut off)."""
        self._sent = [(start, e, min(end, at_s)) for start, e, end in self._sent]

    def level(self, at_s: float) -> float:
        """The loudest of our frames sent in the ``ECHO_WINDOW_MS`` up to ``at_s`` (0: none).
        Prompts over for longer than the window are forgotten."""
        window = ECHO_WINDOW_MS / 1000
        self._sent = [sent for sent in self._sent if sent[2] > at_s - window]
        loudest = 0.0
        for start, energies, end in self._sent:
            first = max(0, int((at_s - window - start) * 1000) // FRAME_MS)
            last = min(len(energies), int((min(at_s, end) - start) * 1000) // FRAME_MS + 1)
            if first < last:
                loudest = max(loudest, float(energies[first:last].max()))
        return loudest


class Endpointer:
    """Feed every 20 ms frame (320 bytes of 16-bit little-endian PCM at 8 kHz) in order.
    ``is_speech`` decides whether a frame is voice (default: webrtcvad, mode ``VAD_MODE``)."""

    def __init__(self, is_speech: Callable[[bytes], bool] | None = None) -> None:
        self._is_speech = is_speech or VoiceActivity(VAD_MODE).is_speech
        self._frames = 0  # frames fed
        self._recent: deque[tuple[bytes, bool]] = deque(
            maxlen=_frames(PREROLL_MS) + START_WINDOW
        )  # before a start: the last frames and whether each was voice
        self._taking: list[bytes] | None = None  # the utterance being taken
        self._start_ms = 0
        self._quiet = 0  # voiceless frames since the last voiced one
        self._draining = False  # cut at the limit: wait for quiet before listening again

    @property
    def speaking(self) -> bool:
        """An utterance has started and is not over yet."""
        return self._taking is not None

    def feed(self, frame: bytes, echo: float = 0.0) -> Started | Utterance | None:
        """One frame; ``echo``: the :meth:`EchoReference.level` of our audio when it came."""
        if len(frame) != 2 * FRAME_SAMPLES:
            raise ValueError(f"a frame is {2 * FRAME_SAMPLES} bytes, not {len(frame)}")
        self._frames += 1
        energy = frame_energy(frame)
        voiced = energy > _FLOOR_ENERGY and energy > echo * _ECHO_FACTOR and self._is_speech(frame)
        if self._draining:
            self._quiet = 0 if voiced else self._quiet + 1
            if self._quiet >= _frames(END_SILENCE_MS):
                self._draining = False
                self._quiet = 0
            return None
        if self._taking is None:
            return self._wait_for_start(frame, voiced)
        self._taking.append(frame)
        self._quiet = 0 if voiced else self._quiet + 1
        if self._quiet >= _frames(END_SILENCE_MS):
            return self._finish(capped=False)
        if self._frames * FRAME_MS - self._start_ms >= MAX_UTTERANCE_MS:
            self._draining = True
            return self._finish(capped=True)
        return None

    def end(self) -> Utterance | None:
        """The audio ended: the utterance under way, if one is."""
        if self._taking is None:
            return None
        return self._finish(capped=False)

    def _wait_for_start(self, frame: bytes, voiced: bool) -> Started | None:
        self._recent.append((frame, voiced))
        window = list(self._recent)[-START_WINDOW:]
        if sum(v for _, v in window) < START_VOICED:
            return None
        # The start is the window's first voiced frame; what came before it is preroll.
        first = next(i for i, (_, v) in enumerate(window) if v)
        ahead = len(window) - first  # frames from the start to now, this one included
        self._start_ms = (self._frames - ahead) * FRAME_MS
        recent = [f for f, _ in self._recent]
        self._taking = recent[max(0, len(recent) - ahead - _frames(PREROLL_MS)) :]
        self._recent.clear()
        self._quiet = 0
        return Started(self._start_ms)

    def _finish(self, *, capped: bool) -> Utterance:
        taken = self._taking or []
        keep = len(taken) - max(0, self._quiet - _frames(TAIL_MS))
        pcm = np.frombuffer(b"".join(taken[:keep]), dtype="<i2").astype(np.int16)
        self._taking = None
        self._quiet = 0
        return Utterance(pcm, self._start_ms, capped)


__all__ = ["EchoReference", "Endpointer", "Started", "Utterance", "frame_energy"]
