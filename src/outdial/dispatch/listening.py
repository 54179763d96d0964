"""Listening to a call's audio: a SIT while it rings, then who answered (SPEC §7).

``Listener`` is pure and synchronous, like the detector it wraps: fed every ``AudioFrame`` the
leg delivers, it says what to act on. ``Listening`` runs one for a call in the dialer: a task
that reads the leg's audio, records verdicts once the answer is stored (a verdict with another
callee type than the last revises it: the store keeps the first and every revision), and
settles the callee type when the call ends.

The detector is made by a ``DetectorFactory`` (``Detector`` unless the dialer was given
another): the one place a test can script the verdicts a call hears.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from outdial.calls import CalleeType
from outdial.detect import DetectionParams, Detector, Verdict
from outdial.telephony.carrier import AudioFrame, Leg, close_audio

log = logging.getLogger(__name__)


class VerdictSource(Protocol):
    """What listening needs of a detector (``outdial.detect.Detector``)."""

    def feed(self, audio: bytes) -> Verdict | None: ...

    @property
    def finished(self) -> bool: ...

    def end(self) -> Verdict: ...


DetectorFactory = Callable[[DetectionParams], VerdictSource]


class Listener:
    def __init__(self, params: DetectionParams, make_detector: DetectorFactory = Detector) -> None:
        self._params = params
        self._make = make_detector
        self._early: VerdictSource | None = make_detector(params)
        self._answered: VerdictSource | None = None
        self.sit: Verdict | None = None  # a special information tone heard before answer

    def feed(self, frame: AudioFrame) -> Verdict | None:
        """A verdict to act on: an early SIT, or the answered call's new or changed verdict."""
        if frame.early:
            return self._feed_early(frame)
        if self._answered is None:
            self._answered = self._make(self._params)
            self._early = None
        return self._answered.feed(frame.samples)

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
    ) -> None:
        self.listener = Listener(params, make_detector)
        # Set once the answer is stored: a verdict is recorded on a connected call only.
        self.answer_recorded = asyncio.Event()
        self._record = record
        self._recorded: list[Verdict] = []  # handed to the store, in order
        self._task = asyncio.create_task(
            follow(leg, self.listener, self._when_connected, early_sit, on_finished),
            name=f"listen-{leg.request.call_id}",
        )

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
) -> None:
    """Feed the leg's audio to ``listener`` until it has nothing more to learn: hang up on a
    SIT in early media (``early_sit``), ``record`` each verdict of the answered call, and call
    ``on_finished`` when the answered call's verdict is final (beep included)."""
    frames = leg.audio()
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
    except asyncio.CancelledError:
        raise
    except Exception:  # detection failing must not fail the call: it ends as unknown
        log.exception("listening to call %s failed", leg.request.call_id)
    finally:
        await close_audio(frames)


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel a listening task and wait for it to end."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


__all__ = ["DetectorFactory", "Listener", "Listening", "VerdictSource", "follow", "stop"]
