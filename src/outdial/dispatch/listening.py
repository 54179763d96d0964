"""Listening to a call's audio: a SIT while it rings, then who answered (SPEC §7).

Pure and synchronous, like the detector it wraps: the dialer feeds every ``AudioFrame`` the
leg delivers and acts on what comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from outdial.calls import CalleeType
from outdial.detect import DetectionParams, Detector, Verdict
from outdial.telephony.carrier import AudioFrame, Leg

log = logging.getLogger(__name__)


class Listener:
    def __init__(self, params: DetectionParams) -> None:
        self._params = params
        self._early: Detector | None = Detector(params)
        self._answered: Detector | None = None
        self.sit: Verdict | None = None  # a special information tone heard before answer

    def feed(self, frame: AudioFrame) -> Verdict | None:
        """A verdict to act on: an early SIT, or the answered call's new or changed verdict."""
        if frame.early:
            return self._feed_early(frame)
        if self._answered is None:
            self._answered = Detector(self._params)
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
        self._early = Detector(self._params)
        return None

    @property
    def answered(self) -> bool:
        """Audio from after the answer has been heard."""
        return self._answered is not None

    @property
    def finished(self) -> bool:
        """Nothing more to learn: the answered call's verdict is final (beep included)."""
        return self._answered is not None and self._answered.finished

    @property
    def verdict(self) -> Verdict | None:
        return self._answered.verdict if self._answered is not None else None

    def end(self) -> Verdict | None:
        """The call ended: the answered call's verdict, settled (``unknown`` if undecided)."""
        return self._answered.end() if self._answered is not None else None


async def follow(
    leg: Leg,
    listener: Listener,
    record: Callable[[Verdict], Awaitable[None]],
    early_sit: Callable[[], Awaitable[None]],
) -> None:
    """Feed the leg's audio to ``listener`` until it has nothing more to learn: hang up on a
    SIT in early media (``early_sit``), ``record`` each verdict of the answered call."""
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
                return
    except asyncio.CancelledError:
        raise
    except Exception:  # detection failing must not fail the call: it ends as unknown
        log.exception("listening to call %s failed", leg.request.call_id)
    finally:
        close = getattr(frames, "aclose", None)  # an async generator: end it here, not in GC
        if close is not None:
            await close()


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel a listening task and wait for it to end."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


__all__ = ["Listener", "follow", "stop"]
