"""A ``record`` step's take: the callee's audio until a key, final silence, the time limit or
the hang-up, kept as µ-law 8 kHz.

The decision when to stop is the recorder's (pure, fed frames); the driver gives it the audio
and the keys and waits on :meth:`Recorder.finished`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable

import numpy as np

from outdial.audio import g711, synth
from outdial.audio.frames import FRAME_MS, SAMPLE_RATE
from outdial.flow.actions import Record
from outdial.telephony.carrier import AudioFrame, close_audio

SILENCE_DBFS = -45.0  # dBFS: quieter frames are silence for final_silence_s
BEEP_HZ = 1000.0  # the tone played before recording, as voicemail systems do
BEEP_MS = 250.0
LINE_CHECK_S = 0.5  # seconds between checks that the callee is still there


@functools.cache
def beep_ulaw() -> bytes:
    """The record beep: 250 ms of 1 kHz at -12 dBFS, µ-law."""
    samples = np.round(synth.tone(BEEP_HZ, BEEP_MS) * 32767).astype(np.int16)
    return g711.encode(samples)


class Recorder:
    def __init__(self, action: Record) -> None:
        self.record_id = action.record_id
        self._max_frames = max(1, round(action.max_s * 1000 / FRAME_MS))
        self._silence_frames = max(1, round(action.final_silence_s * 1000 / FRAME_MS))
        self._keys = action.finish_on_key
        self._pcm: list[bytes] = []
        self._heard = False  # the callee has said something
        self._quiet = 0  # frames of silence since the last sound
        self._done = asyncio.Event()
        self.termchar = ""

    def takes_key(self, key: str) -> bool:
        """A key pressed while recording: True if it ends the recording (it is not input)."""
        if self._done.is_set() or key not in self._keys:
            return False
        self.stop(key)
        return True

    def stop(self, termchar: str) -> None:
        if not self._done.is_set():
            self.termchar = termchar
            self._done.set()

    def feed(self, frame: AudioFrame) -> None:
        """One 20 ms frame of the callee's audio."""
        if self._done.is_set() or frame.early:
            return
        self._pcm.append(frame.samples)
        pcm = np.frombuffer(frame.samples, dtype="<i2").astype(np.float64)
        rms = float(np.sqrt(np.mean(pcm * pcm))) if len(pcm) else 0.0
        loud = rms > 0 and 20 * np.log10(rms / 32768.0) > SILENCE_DBFS
        if loud:
            self._heard, self._quiet = True, 0
        else:
            self._quiet += 1
        if len(self._pcm) >= self._max_frames or (
            self._heard and self._quiet >= self._silence_frames
        ):
            self.stop("")

    async def listen(self, frames: AsyncIterator[AudioFrame]) -> None:
        try:
            async for frame in frames:
                self.feed(frame)
                if self._done.is_set():
                    return
        finally:
            await close_audio(frames)

    async def finished(self, loop: asyncio.AbstractEventLoop, line_up: Callable[[], bool]) -> str:
        """Wait for the end of the take (a key, silence, the limit, or the hang-up); the key
        that ended it, or ""."""
        limit = loop.call_later(self._max_frames * FRAME_MS / 1000 + 1.0, self.stop, "")
        try:
            while not self._done.is_set():
                if not line_up():
                    self.stop("")
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._done.wait(), LINE_CHECK_S)
        finally:
            limit.cancel()
        return self.termchar

    def take(self) -> tuple[bytes, float]:
        """The recording as µ-law, trailing silence trimmed, and its length in seconds."""
        frames = self._pcm
        if self.termchar == "" and self._heard and self._quiet:
            frames = frames[: max(0, len(frames) - self._quiet)]
        if not frames:
            return b"", 0.0
        pcm = np.frombuffer(b"".join(frames), dtype="<i2").astype(np.int16)
        return g711.encode(pcm), len(pcm) / SAMPLE_RATE
