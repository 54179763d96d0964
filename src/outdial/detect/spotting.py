"""When to run the greeting-phrase spotter on a call's audio, and on which part of it.

The detector stays pure: something else (``dispatch/listening.py`` in calls,
``benchmarks/detect.py`` on the corpus) runs the spotter (``outdial.speech.spotter``) off the
event loop on the windows this schedule hands out, and feeds what it hears back with
``Detector.heard_words``. Windows step along the audio a second at a time, overlapping the
last one so that a phrase cut by a boundary is heard whole, only while the detector wants
words and only when something was said since the last window; nothing after
``SPOT_MAX_MS`` from answer is spotted, which bounds the CPU a call costs.
"""

from __future__ import annotations

from typing import Protocol

SPOT_STEP_MS = 1000  # ms of new audio between spotter runs
SPOT_OVERLAP_MS = 1000  # ms of the previous window heard again
SPOT_MAX_MS = 10000  # ms from answer: audio after this is never spotted


class _Listening(Protocol):
    @property
    def position_ms(self) -> int: ...

    @property
    def wants_words(self) -> bool: ...

    @property
    def last_speech_ms(self) -> int | None: ...


class SpotSchedule:
    """Hands out the windows (start_ms, end_ms from answer) to spot, one call's worth."""

    def __init__(self) -> None:
        self.done_ms = 0  # audio up to here was spotted, or held nothing new

    def next_window(self, detector: _Listening) -> tuple[int, int] | None:
        """The window to spot now, or ``None``; call it after each frame fed."""
        now = detector.position_ms
        if self.done_ms >= SPOT_MAX_MS or now - self.done_ms < SPOT_STEP_MS:
            return None
        last = detector.last_speech_ms
        if not detector.wants_words or last is None or last <= self.done_ms:
            self.done_ms = now  # nothing new said: nothing to spot
            return None
        start = max(0, self.done_ms - SPOT_OVERLAP_MS)
        self.done_ms = min(now, SPOT_MAX_MS)
        return start, self.done_ms


__all__ = ["SPOT_MAX_MS", "SPOT_OVERLAP_MS", "SPOT_STEP_MS", "SpotSchedule"]
