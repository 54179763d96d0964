"""What the detector decided, and why."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from outdial.calls import CalleeType


class Cause(enum.StrEnum):
    """Which rule decided. Recorded with the attempt so a wrong verdict can be explained."""

    SHORT_GREETING = "short greeting then silence"
    GREETING_THEN_SILENCE = "greeting then silence"
    LONG_GREETING_THEN_SILENCE = "long greeting then silence, no beep"
    LONG_GREETING = "greeting longer than a person's"
    BEEP = "beep after greeting"
    FAX_CED = "fax answer tone 2100 Hz"
    FAX_V21 = "fax V.21 flags"
    FAX_CNG = "fax calling tone 1100 Hz"
    SIT = "special information tone"
    DEAD_AIR = "dead air"
    GREETING_SHAPE = "greeting's shape: sentences read on"
    GREETING_PHRASES = "greeting phrases heard"
    BEEP_AFTER_VOICE = "beep after a voice verdict"
    GREETING_WENT_ON = "greeting went on after a voice verdict"
    PHRASES_AFTER_VOICE = "greeting phrases after a voice verdict"
    NO_DECISION = "undecided at the time limit"
    AUDIO_ENDED = "audio ended before a decision"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A decision. ``decided_ms`` is the audio position (ms from answer) when it was made;
    ``beep_end_ms`` is where the voicemail beep ended, once one is found. ``revises`` is the
    callee type this verdict replaced (``voice``), or ``None`` for a first verdict."""

    callee_type: CalleeType
    cause: Cause
    decided_ms: int
    beep_end_ms: int | None = None
    revises: CalleeType | None = None


@dataclass(frozen=True, slots=True)
class Heard:
    """A greeting phrase the spotter heard, and where it ended (ms from answer)."""

    phrase: str
    end_ms: int
