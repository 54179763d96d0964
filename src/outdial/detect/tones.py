"""Network tones that identify the callee outright: fax (CED, V.21 flags) and SIT.

Each tracker is fed every frame's features and says when its tone has been heard long
enough. The fax calling tone CNG is a steady tone like a beep, so the detector's tone runs
find it (it only counts before any speech).
"""

from __future__ import annotations

from dataclasses import dataclass

from outdial.detect import features
from outdial.detect.params import DetectionParams
from outdial.detect.verdict import Cause

TONE_GAP_FRAMES = 2  # frames a tone may drop out (a lost packet, a phase reversal)
SIT_SHARE = 0.8  # share of a window's energy at a SIT frequency for a SIT frame
CED_SHARE = 0.7  # share at 2100 Hz (lower: phase reversals smear the window)
V21_BAND_SHARE = 0.8  # share of a window's energy in the V.21 band (1550-1950 Hz)
V21_MARK_SHARE = 0.1  # share at the 1650 Hz mark frequency (flags are mostly ones)
V21_MODULATED = 0.8  # purity below which a V.21 frame shows the FSK switching frequency
V21_MODULATED_SHARE = 0.2  # share of a V.21 run's frames that must show it (not a beep)


@dataclass(slots=True)
class _Run:
    """Frames of one tone, short dropouts included."""

    frames: int = 0
    gap: int = 0
    marked: int = 0  # frames with a second property (V.21: the FSK visibly switching)

    def hit(self, marked: bool = False) -> None:
        self.frames += 1 + self.gap
        self.gap = 0
        self.marked += marked

    def miss(self) -> None:
        if self.frames:
            self.gap += 1
            if self.gap > TONE_GAP_FRAMES:
                self.frames = self.gap = self.marked = 0


class FaxTones:
    """The fax answer tone CED (ITU-T T.30, V.25: 2100 Hz, phase reversals tolerated) and the
    V.21 channel 2 HDLC flags of the T.30 preamble (FSK at 1650/1850 Hz)."""

    def __init__(self, params: DetectionParams) -> None:
        self._ced_frames = params.frames(params.ced_min_ms)
        self._v21_frames = params.frames(params.v21_min_ms)
        self._floor = params.tone_floor_dbfs
        self._ced = _Run()
        self._v21 = _Run()

    def update(self, f: features.FrameFeatures) -> Cause | None:
        loud = f.level_dbfs >= self._floor
        if loud and f.bank[features.I_CED] >= CED_SHARE:
            self._ced.hit()
            if self._ced.frames >= self._ced_frames:
                return Cause.FAX_CED
        else:
            self._ced.miss()
        if loud and f.v21_band >= V21_BAND_SHARE and f.bank[features.I_V21[0]] >= V21_MARK_SHARE:
            self._v21.hit(marked=f.purity < V21_MODULATED)
            run = self._v21
            if run.frames >= self._v21_frames and run.marked >= V21_MODULATED_SHARE * run.frames:
                return Cause.FAX_V21
        else:
            self._v21.miss()
        return None


@dataclass(slots=True)
class _Segment:
    """Consecutive frames (small gaps allowed) of one SIT segment: 0 low, 1 mid, 2 high."""

    label: int
    start: int
    last: int


class SitTone:
    """The special information tone: three segments in rising order, low (913.8 or 985.2 Hz),
    mid (1370.6 or 1428.5 Hz), high (1776.7 Hz), each 274 or 380 ms (ANSI T1.401)."""

    def __init__(self, params: DetectionParams) -> None:
        self._segment = params.frames(params.sit_segment_min_ms)
        self._gap = params.frames(params.sit_gap_max_ms)
        self._segments: list[_Segment] = []  # the last three, oldest first

    def update(self, frame: int, bank: list[float]) -> bool:
        """True once a whole triad has been heard (during its third segment)."""
        if max(bank[i] for i in features.I_SIT_LOW) >= SIT_SHARE:
            label = 0
        elif max(bank[i] for i in features.I_SIT_MID) >= SIT_SHARE:
            label = 1
        elif bank[features.I_SIT_HIGH] >= SIT_SHARE:
            label = 2
        else:
            return False
        segments = self._segments
        if segments and segments[-1].label == label and frame - segments[-1].last <= self._gap + 1:
            segments[-1].last = frame
        else:
            segments.append(_Segment(label, frame, frame))
            del segments[:-3]
        if [s.label for s in segments] != [0, 1, 2]:
            return False
        low, mid, high = segments
        return (
            all(s.last - s.start + 1 >= self._segment for s in segments)
            and mid.start - low.last <= self._gap
            and high.start - mid.last <= self._gap
        )
