"""The streaming callee-type detector: 20 ms frames in, a :class:`Verdict` out.

Rules, checked on every frame in this order (docs/detection.md explains them):

1. Tones that identify the callee at once: the SIT triad (informationtone), the fax answer
   tone CED or V.21 flags (fax), and the fax calling tone CNG heard before any speech.
2. A steady tone of 400-2000 Hz after speech is a voicemail beep: answeringmachine.
3. Speech followed by silence is a person (voice); the longer the greeting, the longer the
   silence must be, because voicemail greetings pause between sentences and people do not
   pause after a short "hello?".
4. Speech that goes on longer than a person's greeting is a machine.
5. Nothing heard for ``dead_air_ms`` is unknown, and so is anything undecided at
   ``max_decision_ms``.

After ``answeringmachine`` the detector keeps listening and reports where the beep ended.
Everything here is a pure function of the audio: no clock, no I/O, no randomness.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from outdial.audio.frames import FRAME_MS, FRAME_SAMPLES
from outdial.audio.g711 import alaw_decode, ulaw_decode
from outdial.calls import CalleeType
from outdial.detect import features
from outdial.detect.params import DetectionParams
from outdial.detect.tones import TONE_GAP_FRAMES, FaxTones, SitTone
from outdial.detect.vad import VoiceActivity
from outdial.detect.verdict import Cause, Verdict

STEADY_HZ = 4.0  # Hz a steady tone's peak may move between frames
STEADY_DB = 1.5  # dB its level may move
TONE_LEVEL_DROP_DB = 10.0  # dB below a tone's level at which a frame no longer continues it
CED_CLEARANCE_HZ = 50.0  # Hz: a steady tone this close to 2100 Hz is fax, never a beep
CNG_CLEARANCE_HZ = 25.0  # Hz around 1100 Hz for a CNG burst heard before speech
# Frames 2 and 3 before a beep must not be speech, or it is a vowel (frame 1 may hold the
# beep's onset, which the VAD often calls speech).
BEEP_CLEAR_MASK = 0b110
# ...unless it is long: a vowel is not held this steady for 300 ms, and a greeting's echo in a
# room may run right up to its beep.
BEEP_AFTER_SPEECH_FRAMES = 15
HEARD_SPEECH_FRAMES = 5  # non-tonal speech frames that make a greeting, for the beep rule
# A beep's loudness is steady or decays smoothly (a chime); a vowel's jumps about.
BEEP_LEVEL_STEP_DB = 2.0  # dB a beep's level may move from one frame to the next
_FRAME_BYTES = 2 * FRAME_SAMPLES
DIGITAL_SILENCE_DBFS = -90.0  # dBFS: frames this quiet are digital silence
LOST_PACKET_FRAMES = 2  # runs of digital silence up to this long are lost packets


@dataclass(slots=True)
class _ToneRun:
    """A steady tone being heard: frames [start, last], at about ``hz``."""

    start: int
    last: int
    hz: float
    level: float
    frames: int = 1
    levels: list[float] = field(default_factory=list)
    after_speech: bool = False  # speech ran right up to the tone: a vowel, not a beep
    tail_level: float | None = None  # level of the frame just after the last tonal one

    @property
    def last_level(self) -> float:
        return self.levels[-1] if self.levels else self.level


def _filled(run: _ToneRun) -> float:
    """Frames' worth of tone from the start of the run's last frame: 0 to 2."""
    levels = [run.level, *run.levels]
    if len(levels) < 3:
        return 1.0
    reference = levels[-2]  # the frame before the last is whole
    last = min(1.0, math.pow(10.0, (levels[-1] - reference) / 10.0))
    tail = 0.0
    if run.tail_level is not None and last >= 1.0:
        tail = min(1.0, math.pow(10.0, (run.tail_level - reference) / 10.0))
    return last + tail


class Detector:
    """Decides who answered from the callee's audio, fed in 20 ms frames from answer.

    ``feed`` takes 16-bit PCM at 8 kHz (a numpy int16 array or little-endian bytes), usually
    one 160-sample frame; any length works and the result does not depend on how the audio is
    split. It returns a :class:`Verdict` when the decision is made and again whenever the beep
    end is found or moves (a second beep), otherwise ``None``. ``verdict`` holds the latest.
    ``finished`` turns true when nothing more will change.
    """

    def __init__(self, params: DetectionParams | None = None) -> None:
        self.params = params or DetectionParams()
        p = self.params
        self._vad = VoiceActivity(p.vad_mode)
        self._window = np.zeros(features.WINDOW, dtype=np.float64)  # previous + current frame
        self._partial = np.zeros(0, dtype=np.int16)
        self.verdict: Verdict | None = None
        self._frame = -1  # index of the frame being processed
        # speech
        self._levels: deque[float] = deque(maxlen=p.frames(p.noise_window_ms))
        self._speech_run = 0
        self._silent_run = 0  # consecutive frames of digital silence
        self._plain_speech = 0  # speech frames that were not tones
        self._speech_peak = -math.inf  # loudest frame of the greeting so far (dBFS)
        self._speech_bits = 0  # bit i: frame (now - 1 - i) was speech
        self._in_utterance = False
        self._first_speech = -1
        self._last_speech = -1
        self._quiet = 0  # non-speech, non-tone frames since the last speech frame
        # tones
        self._tone: _ToneRun | None = None
        self._was_tonal = False
        self._last_peak = 0.0
        self._last_level = 0.0
        self._fax = FaxTones(p)
        self._sit = SitTone(p)
        self._beep_end: int | None = None  # frame index of the last beep frame
        self._beep_end_ms: int | None = None  # where in or after that frame the beep stopped
        self._decided = -1
        # frame counts from the parameters
        self._f_speech_start = p.frames(p.speech_start_ms)
        self._f_speech_gap = p.frames(p.speech_gap_ms)
        self._f_beep_min = p.frames(p.beep_min_ms)
        self._f_settle = p.frames(p.beep_settle_ms)

    # input --------------------------------------------------------------------------------

    def feed(self, audio: npt.NDArray[np.int16] | bytes) -> Verdict | None:
        """Process audio (16-bit PCM, 8 kHz mono); the newest verdict made or changed by it."""
        samples = np.frombuffer(audio, dtype="<i2") if isinstance(audio, bytes) else audio
        if len(self._partial):
            samples = np.concatenate([self._partial, samples])
        whole = len(samples) // FRAME_SAMPLES * FRAME_SAMPLES
        self._partial = samples[whole:].copy()
        if whole == 0:
            return None
        block = samples[:whole].astype(np.int16, copy=False)
        measured = block.astype(np.float64)
        pcm = block.astype("<i2").tobytes()
        changed: Verdict | None = None
        window = self._window
        for i in range(whole // FRAME_SAMPLES):
            if self.finished:  # nothing can change: only keep the position
                self._frame += whole // FRAME_SAMPLES - i
                break
            window[:FRAME_SAMPLES] = window[FRAME_SAMPLES:]
            window[FRAME_SAMPLES:] = measured[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
            if self._step(features.measure(window), pcm[i * _FRAME_BYTES : (i + 1) * _FRAME_BYTES]):
                changed = self.verdict
        return changed

    def feed_ulaw(self, payload: bytes) -> Verdict | None:
        """``feed`` for G.711 µ-law bytes (an RTP PCMU payload)."""
        return self.feed(ulaw_decode(payload))

    def feed_alaw(self, payload: bytes) -> Verdict | None:
        """``feed`` for G.711 A-law bytes (an RTP PCMA payload)."""
        return self.feed(alaw_decode(payload))

    def end(self) -> Verdict:
        """The audio stopped (the call or the file ended): close any tone and settle.

        Undecided by then is ``unknown``; a beep that runs to the very end still counts.
        """
        if self._tone is not None and (self.verdict is None or not self.finished):
            run, self._tone = self._tone, None
            self._tone_ended(run)
        if self.verdict is None:
            self._decide(CalleeType.UNKNOWN, Cause.AUDIO_ENDED)
        assert self.verdict is not None
        return self.verdict

    @property
    def position_ms(self) -> int:
        """Milliseconds of audio processed (whole frames)."""
        return (self._frame + 1) * FRAME_MS

    @property
    def finished(self) -> bool:
        """True once the verdict is final: decided and, for a machine, the beep settled."""
        v = self.verdict
        if v is None:
            return False
        if v.callee_type is not CalleeType.ANSWERINGMACHINE:
            return True
        if self._tone is not None:
            return False
        p = self.params
        if self._beep_end is not None:
            return (self._frame - self._beep_end) * FRAME_MS >= p.beep_after_beep_ms
        if self.position_ms >= p.beep_listen_max_ms:
            return True
        last_sound = max(self._last_speech, self._decided)
        return (self._frame - last_sound) * FRAME_MS >= p.beep_wait_ms

    # one frame ----------------------------------------------------------------------------

    def _step(self, f: features.FrameFeatures, pcm: bytes) -> bool:
        """Advance one frame; True when the verdict changed."""
        self._frame += 1
        p = self.params
        if self.verdict is not None and (
            self.verdict.callee_type is not CalleeType.ANSWERINGMACHINE or self.finished
        ):
            return False

        level = f.level_dbfs
        # A lost packet is one frame of digital silence and says nothing about the line's
        # background; a longer run of it is a quiet line.
        self._silent_run = self._silent_run + 1 if level <= DIGITAL_SILENCE_DBFS else 0
        if level > DIGITAL_SILENCE_DBFS or self._silent_run > LOST_PACKET_FRAMES:
            self._levels.append(max(level, DIGITAL_SILENCE_DBFS))
        floor = min(self._levels) if self._levels else DIGITAL_SILENCE_DBFS
        tonal = (
            level >= p.tone_floor_dbfs
            and level >= floor + p.tone_snr_db
            and f.purity >= p.tone_purity
        )
        if tonal and self._tone is not None and level < self._tone.last_level - TONE_LEVEL_DROP_DB:
            tonal = False  # the tone stopped; what is left is its echo in the window
        # A steady tone holds its pitch and loudness from frame to frame; a vowel with a
        # strong harmonic (high voices after band-limiting) glides, so it stays speech.
        steady = (
            tonal
            and self._was_tonal
            and abs(f.peak_hz - self._last_peak) <= STEADY_HZ
            and abs(level - self._last_level) <= STEADY_DB
        )
        self._was_tonal, self._last_peak, self._last_level = tonal, f.peak_hz, level
        speech = (
            not steady
            and level >= p.speech_floor_dbfs
            and level >= floor + p.speech_snr_db
            and level >= self._speech_peak - p.speech_range_db
            and (level >= floor + p.speech_loud_db or self._vad.is_speech(pcm))
        )
        if speech and self._in_utterance and level > self._speech_peak:
            self._speech_peak = level
        decision = self._tones(f, tonal)
        if speech and not tonal:
            self._plain_speech += 1
        self._speech(speech, steady)
        if self.verdict is not None:
            return decision
        if decision:
            return True
        return self._rules()

    def _decide(self, callee_type: CalleeType, cause: Cause) -> bool:
        beep = self._beep_end_ms
        if self.verdict is None:
            self._decided = self._frame
            self.verdict = Verdict(callee_type, cause, self.position_ms, beep)
            return True
        if self.verdict.beep_end_ms != beep:
            v = self.verdict
            self.verdict = Verdict(v.callee_type, v.cause, v.decided_ms, beep)
            return True
        return False

    # speech -------------------------------------------------------------------------------

    def _speech(self, speech: bool, steady: bool) -> None:
        self._speech_bits = ((self._speech_bits << 1) | speech) & 0xFF
        if speech:
            self._speech_run += 1
            if self._in_utterance:
                self._last_speech = self._frame
                self._quiet = 0
            elif self._speech_run >= self._f_speech_start:
                self._in_utterance = True
                if self._first_speech < 0:
                    self._first_speech = self._frame - self._speech_run + 1
                self._last_speech = self._frame
                self._quiet = 0
            return
        self._speech_run = 0
        if not steady:
            self._quiet += 1
        if self._in_utterance and self._frame - self._last_speech > self._f_speech_gap:
            self._in_utterance = False

    def _rules(self) -> bool:
        p = self.params
        now_ms = self.position_ms
        if self._first_speech < 0:
            if now_ms >= p.dead_air_ms and self._tone is None:
                return self._decide(CalleeType.UNKNOWN, Cause.DEAD_AIR)
        else:
            greeting_ms = (self._last_speech - self._first_speech + 1) * FRAME_MS
            if self._in_utterance:
                span_ms = (self._frame - self._first_speech + 1) * FRAME_MS
                if span_ms >= p.machine_greeting_ms:
                    return self._decide(CalleeType.ANSWERINGMACHINE, Cause.LONG_GREETING)
            quiet_ms = self._quiet * FRAME_MS
            if self._tone is None:
                if greeting_ms <= p.short_greeting_ms:
                    if quiet_ms >= p.voice_silence_ms:
                        return self._decide(CalleeType.VOICE, Cause.SHORT_GREETING)
                elif greeting_ms <= p.person_greeting_max_ms:
                    if quiet_ms >= p.voice_silence_long_ms:
                        return self._decide(CalleeType.VOICE, Cause.GREETING_THEN_SILENCE)
                elif quiet_ms >= p.long_greeting_silence_ms:
                    return self._decide(CalleeType.VOICE, Cause.LONG_GREETING_THEN_SILENCE)
        if now_ms >= p.max_decision_ms:
            return self._decide(CalleeType.UNKNOWN, Cause.NO_DECISION)
        return False

    # tones --------------------------------------------------------------------------------

    def _tones(self, f: features.FrameFeatures, tonal: bool) -> bool:
        """Track fax, SIT and beep tones; True when the verdict changed."""
        changed = False
        if self.verdict is None:
            fax = self._fax.update(f)
            if fax is not None:
                return self._decide(CalleeType.FAX, fax)
            if self._sit.update(self._frame, f.bank):
                return self._decide(CalleeType.INFORMATIONTONE, Cause.SIT)
        run = self._tone
        p = self.params
        peak, level = f.peak_hz, f.level_dbfs
        if tonal:
            if (
                run is not None
                and abs(peak - run.hz) <= p.beep_max_jitter_hz
                and self._frame - run.last <= TONE_GAP_FRAMES + 1
            ):
                run.last = self._frame
                run.frames += 1
                run.levels.append(level)
                run.tail_level = None  # it went on after all (a lost packet)
                return changed
            if run is not None:
                changed = self._tone_ended(run) or changed
            after_speech = bool(self._speech_bits & BEEP_CLEAR_MASK)
            self._tone = _ToneRun(self._frame, self._frame, peak, level, after_speech=after_speech)
            return changed
        if run is not None and self._frame == run.last + 1:
            run.tail_level = level
        if run is not None and self._frame - run.last >= self._f_settle:
            self._tone = None
            changed = self._tone_ended(run) or changed
        return changed

    def _tone_ended(self, run: _ToneRun) -> bool:
        """A steady tone stopped: a CNG burst, a beep, or neither."""
        p = self.params
        length_ms = (run.last - run.start + 1) * FRAME_MS
        if run.frames < self._f_beep_min:
            return False
        if run.after_speech and run.frames < BEEP_AFTER_SPEECH_FRAMES:
            return False
        steady = run.levels[:-1]  # the first and last frames may hold part of the tone
        if any(abs(b - a) > BEEP_LEVEL_STEP_DB for a, b in itertools.pairwise(steady)):
            return False
        if abs(run.hz - features.CED_HZ) <= CED_CLEARANCE_HZ:
            return False
        # Speech before a beep: not just the odd frame where one tone turns into the next
        # (SIT segments), which the VAD may call speech.
        heard_speech = self._first_speech >= 0 and self._plain_speech >= HEARD_SPEECH_FRAMES
        if (
            not heard_speech
            and self.verdict is None
            and abs(run.hz - features.CNG_HZ) <= CNG_CLEARANCE_HZ
            and p.cng_min_ms <= length_ms <= p.cng_max_ms
        ):
            return self._decide(CalleeType.FAX, Cause.FAX_CNG)
        if not p.beep_min_hz <= run.hz <= p.beep_max_hz:
            return False
        if not heard_speech and self.verdict is None:
            return False  # a tone before any greeting: SIT segments, a ringback leftover
        self._beep_end = run.last
        # The beep may stop inside its last tonal frame or spill into the next: the energy of
        # each, against the frame before (a chime decays), says how much of it the beep filled.
        self._beep_end_ms = round((run.last + _filled(run)) * FRAME_MS)
        return self._decide(CalleeType.ANSWERINGMACHINE, Cause.BEEP)
