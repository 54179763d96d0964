"""The callee's side on the media clock: no packets while the call is up is silence, not the
end of the audio.

A far end may stop sending RTP while the call goes on: silence suppression (DTX), RFC 3389
comfort noise, or a callee that played a short greeting and went quiet. A reader of the
callee's audio (detection, a recording, a menu) must hear that as time passing in silence, or
"hello? ... (silence)" never becomes a decision. ``GapFiller`` decides, on each tick of the
carrier's one RTP clock (no timer of its own), how many 20 ms frames of silence are due: none
while audio arrives, and once nothing has come for ``MEDIA_GAP`` (longer than network jitter
and the reorder buffer), the whole gap since the last audio and then one frame a tick. After a
comfort noise packet the far end has said it is silent, so the gap is filled at once, with
noise at the level the packet gives. Pure: the caller passes the time and its packet count.
"""

from __future__ import annotations

import numpy as np

from outdial.audio.frames import FRAME_SAMPLES

FRAME_S = 0.020  # seconds of audio per frame
# Seconds without the callee's audio before the gap counts as silence: more than a late
# packet's jitter and the reorder buffer's 60 ms, so a stream that flows is never padded.
MEDIA_GAP = 0.1
CLOCK_SLACK = 0.001  # seconds: a tick's time is a float sum, 0.16 - 0.06 < 0.1
COMFORT_NOISE = 13  # RFC 3389 §4: the static payload type of comfort noise
MAX_NOISE_DBOV = 127  # RFC 3389 §3: the level byte's 7 bits, in -dBov; 127 is no noise
FULL_SCALE = 32767.0  # 0 dBov: the largest 16-bit sample
SILENT_FRAME = bytes(2 * FRAME_SAMPLES)  # 20 ms of 16-bit digital silence


def comfort_noise_level(payload: bytes) -> int | None:
    """The noise level (-dBov, 0 to 127) of an RFC 3389 comfort noise payload; None if empty."""
    return payload[0] & 0x7F if payload else None  # §3: the top bit is reserved


def comfort_noise(level_dbov: int, rng: np.random.Generator) -> bytes:
    """20 ms of white noise at ``-level_dbov`` dBov (RMS), as 16-bit little-endian PCM."""
    if level_dbov >= MAX_NOISE_DBOV:
        return SILENT_FRAME
    rms = FULL_SCALE * 10.0 ** (-level_dbov / 20.0)
    noise = np.clip(np.round(rng.normal(0.0, rms, FRAME_SAMPLES)), -32768, 32767)
    return noise.astype("<i2").tobytes()


class GapFiller:
    """How many frames of silence the callee's side is owed, tick by tick.

    ``start(now)`` at the answer (before it, early media comes and goes as it likes);
    ``tick(now, audio_packets)`` every 20 ms with the number of audio packets received so far
    returns the frames to add; ``comfort(level)`` when a comfort noise packet arrives."""

    def __init__(self) -> None:
        self._heard_at: float | None = None  # when audio was last seen (None: not started)
        self._packets = 0  # audio packets seen at that time
        self._filled = 0  # frames owed since then that were added
        self.noise_dbov: int | None = None  # comfort noise level while the far end is silent

    def start(self, now: float, audio_packets: int) -> None:
        """The call is up: from now on, time without audio is silence."""
        if self._heard_at is None:
            self._heard_at, self._packets, self._filled = now, audio_packets, 0

    def comfort(self, level_dbov: int) -> None:
        """The far end says it is silent (RFC 3389), with noise at this level."""
        self.noise_dbov = level_dbov

    def tick(self, now: float, audio_packets: int) -> int:
        """Frames of silence to add now (0 while audio flows or before ``start``)."""
        heard_at = self._heard_at
        if heard_at is None:
            return 0
        if audio_packets != self._packets:  # audio came since the last tick: all is well
            self._packets = audio_packets
            self._heard_at = now
            self._filled = 0
            self.noise_dbov = None
            return 0
        quiet = now - heard_at
        if quiet < MEDIA_GAP - CLOCK_SLACK and self.noise_dbov is None:
            return 0
        owed = int(quiet / FRAME_S + 0.5)  # ticks come every 20 ms: round, not floor
        added = max(0, owed - self._filled)
        self._filled += added
        return added


__all__ = [
    "COMFORT_NOISE",
    "MEDIA_GAP",
    "SILENT_FRAME",
    "GapFiller",
    "comfort_noise",
    "comfort_noise_level",
]
