"""Listening to a call's audio: a SIT while it rings, then who answered (SPEC §7).

``Listener`` is pure and synchronous, like the detector it wraps: fed every ``AudioFrame`` the
leg delivers, it says what to act on, and which audio the greeting-phrase spotter should hear.
``Listening`` runs one for a call in the dialer: a task that reads the leg's audio, runs the
spotter in a worker process (pocketsphinx holds the GIL while it decodes, so a thread would
stall the event loop) and hands its hits back, records verdicts once the answer is stored (a
verdict with another callee type than the last revises it: the store keeps the first and every
revision), and settles the callee type when the call ends.

The detector is made by a ``DetectorFactory`` (``Detector`` unless the dialer was given
another): the one place a test can script the verdicts a call hears.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol

import numpy as np
import numpy.typing as npt

from outdial.audio.frames import FRAME_MS
from outdial.calls import CalleeType
from outdial.detect import DetectionParams, Detector, Heard, Verdict
from outdial.detect.spotting import SPOT_MAX_MS, SPOT_OVERLAP_MS, SpotSchedule
from outdial.processes import exit_with_parent
from outdial.speech.spotter import Spotter, Spotting
from outdial.telephony.carrier import AudioFrame, Leg, close_audio

log = logging.getLogger(__name__)
SPOT_WORKERS = 1  # processes decoding greeting phrases for all of a dialer's calls


class VerdictSource(Protocol):
    """What listening needs of a detector (``outdial.detect.Detector``)."""

    def feed(self, audio: bytes) -> Verdict | None: ...

    @property
    def finished(self) -> bool: ...

    @property
    def position_ms(self) -> int: ...

    def end(self) -> Verdict: ...

    @property
    def wants_words(self) -> bool: ...

    @property
    def last_speech_ms(self) -> int | None: ...

    def heard_words(self, phrases: Iterable[Heard]) -> None: ...

    def playing(self, on: bool) -> None: ...


DetectorFactory = Callable[[DetectionParams], VerdictSource]


class Listener:
    def __init__(self, params: DetectionParams, make_detector: DetectorFactory = Detector) -> None:
        self._params = params
        self._make = make_detector
        self._early: VerdictSource | None = make_detector(params)
        self._answered: VerdictSource | None = None
        self.sit: Verdict | None = None  # a special information tone heard before answer
        # The answered audio the spotter may still be asked to hear (the first seconds).
        self._words = params.phrases_for_machine > 0
        self._heard: list[npt.NDArray[np.int16]] = []  # frames from _heard_from on
        self._heard_from = 0  # index (from answer) of the first frame kept
        self._schedule = SpotSchedule()
        self.spot_cpu_s = 0.0  # CPU the spotter spent on this call

    def feed(self, frame: AudioFrame) -> Verdict | None:
        """A verdict to act on: an early SIT, or the answered call's new or changed verdict."""
        if frame.early:
            return self._feed_early(frame)
        if self._answered is None:
            self._answered = self._make(self._params)
            self._early = None
        if self._words and self._answered.position_ms < SPOT_MAX_MS:
            self._heard.append(np.frombuffer(frame.samples, dtype="<i2"))
        return self._answered.feed(frame.samples)

    def spot_window(self) -> tuple[int, npt.NDArray[np.int16]] | None:
        """Audio the phrase spotter should hear now, (offset ms from answer, samples), or
        ``None``. Ask after each frame fed."""
        detector = self._answered
        if not self._words or detector is None:
            return None
        window = self._schedule.next_window(detector)
        if window is None:
            if self._schedule.done_ms >= SPOT_MAX_MS:
                self._heard = []
            return None
        start, end = window
        first = self._heard_from
        pcm = np.concatenate(self._heard[start // FRAME_MS - first : end // FRAME_MS - first])
        # Only the overlap with the next window is needed again.
        keep_from = (end - SPOT_OVERLAP_MS) // FRAME_MS
        if keep_from > first:
            del self._heard[: keep_from - first]
            self._heard_from = keep_from
        return start, pcm

    def heard(self, spotting: Spotting) -> None:
        """What the spotter heard in a window it was given."""
        self.spot_cpu_s += spotting.cpu_s
        if self._answered is not None:
            self._answered.heard_words(Heard(s.phrase, s.end_ms) for s in spotting.phrases)

    def playing(self, on: bool) -> None:
        """We started or stopped playing a prompt to the callee (the call's flow does)."""
        if self._answered is not None:
            self._answered.playing(on)

    def _feed_early(self, frame: AudioFrame) -> Verdict | None:
        if self._early is None or self.sit is not None:
            return None
        verdict = self._early.feed(frame.samples)
        if verdict is None:
            return None
        if verdict.callee_type is CalleeType.INFORMATIONTONE:
            self.sit = verdict
            return verdict
        # Ringback, music or an announcement: not a SIT. Listen afresh for one.
        self._early = self._make(self._params)
        return None

    @property
    def finished(self) -> bool:
        """Nothing more to learn: the answered call's verdict is final (beep included)."""
        return self._answered is not None and self._answered.finished

    def end(self) -> Verdict | None:
        """The call ended: the answered call's verdict, settled (``unknown`` if undecided)."""
        return self._answered.end() if self._answered is not None else None


class PhraseSpotting:
    """The greeting-phrase spotter in worker processes, shared by every call of a dialer."""

    def __init__(self, workers: int = SPOT_WORKERS) -> None:
        # Spawned, not forked: the dialer has threads and a running event loop.
        self._executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=exit_with_parent,  # ends by itself if the dialer dies (kill -9)
            initargs=(os.getpid(),),
        )

    async def spot(self, pcm: npt.NDArray[np.int16], offset_ms: int) -> Spotting:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _spot, pcm, offset_ms)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


@functools.cache
def _spotter() -> Spotter:
    return Spotter()  # one per worker process


def _spot(pcm: npt.NDArray[np.int16], offset_ms: int) -> Spotting:
    return _spotter().spot(pcm, offset_ms)


@functools.cache
def shared_spotting() -> PhraseSpotting:
    """The process's spotter pool, started on first use."""
    return PhraseSpotting()


class Listening:
    """Detection on one call, from the dial to the end of the call."""

    def __init__(
        self,
        leg: Leg,
        params: DetectionParams,
        record: Callable[[Verdict], Awaitable[object]],
        early_sit: Callable[[], Awaitable[None]],
        on_finished: Callable[[], None] | None = None,
        make_detector: DetectorFactory = Detector,
        spotting: PhraseSpotting | None = None,
    ) -> None:
        self.listener = Listener(params, make_detector)
        # Set once the answer is stored: a verdict is recorded on a connected call only.
        self.answer_recorded = asyncio.Event()
        self._record = record
        self._recorded: list[Verdict] = []  # handed to the store, in order
        self._task = asyncio.create_task(
            follow(leg, self.listener, self._when_connected, early_sit, on_finished, spotting),
            name=f"listen-{leg.request.call_id}",
        )

    def playing(self, on: bool) -> None:
        """The call's flow started or stopped a prompt: speech then is the callee answering."""
        self.listener.playing(on)

    async def _when_connected(self, verdict: Verdict) -> None:
        await self.answer_recorded.wait()
        last = self._recorded[-1] if self._recorded else None
        if last is not None and last.callee_type is not verdict.callee_type:
            log.info(
                "detection revised %s (%s) to %s (%s) at %d ms",
                last.callee_type.value,
                last.cause,
                verdict.callee_type.value,
                verdict.cause,
                verdict.decided_ms,
            )
        self._recorded.append(verdict)
        await self._record(verdict)

    @property
    def sit(self) -> Verdict | None:
        return self.listener.sit

    async def stop(self) -> None:
        await stop(self._task)

    async def settle(self) -> CalleeType:
        """The answered call ended: detection's verdict made final (``unknown`` if the audio
        ended undecided, or none came), and recorded unless the store already has it (the
        task may have been stopped before it could record it)."""
        verdict = self.listener.end()
        if verdict is None:
            return CalleeType.UNKNOWN
        last = self._recorded[-1] if self._recorded else None
        if verdict != last and self.answer_recorded.is_set():
            await self._record(verdict)
        return verdict.callee_type


async def follow(
    leg: Leg,
    listener: Listener,
    record: Callable[[Verdict], Awaitable[None]],
    early_sit: Callable[[], Awaitable[None]],
    on_finished: Callable[[], None] | None = None,
    spotting: PhraseSpotting | None = None,
) -> None:
    """Feed the leg's audio to ``listener`` until it has nothing more to learn: hang up on a
    SIT in early media (``early_sit``), ``record`` each verdict of the answered call, and call
    ``on_finished`` when the answered call's verdict is final (beep included). With
    ``spotting``, the windows the listener asks for are spotted in a worker process and what
    is heard is handed back as it comes (the verdict it changes comes with a later frame)."""
    frames = leg.audio()
    spotted: set[asyncio.Task[None]] = set()

    async def spot(offset_ms: int, pcm: npt.NDArray[np.int16]) -> None:
        assert spotting is not None
        try:
            listener.heard(await spotting.spot(pcm, offset_ms))
        except asyncio.CancelledError:
            raise
        except Exception:  # no words: the detector decides on sound alone
            log.exception("spotting phrases on call %s failed", leg.request.call_id)

    try:
        async for frame in frames:
            verdict = listener.feed(frame)
            if verdict is not None and listener.sit is verdict:
                await early_sit()
                return
            if verdict is not None:
                await record(verdict)
            if listener.finished:
                if on_finished is not None:
                    on_finished()
                return
            window = listener.spot_window() if spotting is not None else None
            if window is not None:
                task = asyncio.create_task(spot(*window))
                spotted.add(task)
                task.add_done_callback(spotted.discard)
    except asyncio.CancelledError:
        raise
    except Exception:  # detection failing must not fail the call: it ends as unknown
        log.exception("listening to call %s failed", leg.request.call_id)
    finally:
        for task in list(spotted):
            task.cancel()
        await close_audio(frames)
        if listener.spot_cpu_s:
            log.debug(
                "call %s: phrase spotting took %.0f ms of CPU",
                leg.request.call_id,
                1000 * listener.spot_cpu_s,
            )


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel a listening task and wait for it to end."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


__all__ = [
    "DetectorFactory",
    "Listener",
    "Listening",
    "PhraseSpotting",
    "VerdictSource",
    "follow",
    "shared_spotting",
    "stop",
]
