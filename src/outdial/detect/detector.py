"""The streaming callee-type detector: 20 ms frames in, a :class:`Verdict` out.

Rules, checked on every frame in this order (docs/detection.md explains them):

1. Tones that identify the callee at once: the SIT triad (informationtone), the fax answer
   tone CED or V.21 flags (fax), and the fax calling tone CNG heard before any speech.
2. A steady tone of 400-2000 Hz after speech is a voicemail beep: answeringmachine. One sine,
   two peaks (a dual tone, a square wave), or an even sweep.
3. A greeting phrase spotted (handed in by ``heard_words``) in a greeting of 2 s or more is a
   machine.
4. Speech followed by silence is a person (voice); the longer the greeting, the longer the
   silence must be.
5. Speech that goes on longer than a person's greeting, with sentence pauses, is a machine
   (and, as an option, sooner: the greeting's shape).
6. Nothing heard for ``dead_air_ms`` is unknown, and so is anything undecided at
   ``max_decision_ms``.

A voice verdict is revised to answeringmachine by a later beep, by a greeting that goes on
(speech resumed, not while our prompt plays: ``playing``) or by two greeting phrases, within
the revision window. After answeringmachine the detector keeps listening and reports where
the beep ended. Everything here is a pure function of the audio and of the inputs given at
their audio positions: no clock, no I/O, no randomness.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterable
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
from outdial.detect.verdict import Cause, Heard, Verdict

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
# Two peaks this close are neighbouring harmonics of a voice, not a dual tone or a square wave.
SECOND_PEAK_APART_HZ = 150.0
# A tone that was never one pure sine (two peaks, or a sweep) must last this long: a vowel's
# strongest harmonics can look like one for 100 ms.
MIXED_BEEP_FRAMES = 10
BEEP_FADE_STEP_DB = 4.0  # dB per frame a chime may fade by, if it fades evenly...
BEEP_FADE_EVEN_DB = 1.0  # ...its steps differing by at most this
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
    hz2: float = 0.0  # the second peak (a dual tone, a square wave's harmonic)
    slope: float = 0.0  # Hz per frame the peak moves (a swept beep)
    frames: int = 1
    pure: int = 0  # frames that were one steady sine
    levels: list[float] = field(default_factory=list)
    after_speech: bool = False  # speech ran right up to the tone: a vowel, not a beep
    tail_level: float | None = None  # level of the frame just after the last tonal one

    @property
    def last_level(self) -> float:
        return self.levels[-1] if self.levels else self.level


class _SlidingMin:
    """The smallest of the last ``size`` values pushed (a monotonic queue: O(1) a push)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._count = 0
        self._queue: deque[tuple[int, float]] = deque()  # (push number, value), rising

    def append(self, value: float) -> None:
        queue = self._queue
        while queue and queue[-1][1] >= value:
            queue.pop()
        queue.append((self._count, value))
        self._count += 1
        if queue[0][0] <= self._count - 1 - self._size:
            queue.popleft()

    @property
    def minimum(self) -> float:
        return self._queue[0][1] if self._queue else DIGITAL_SILENCE_DBFS


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
        self._levels = _SlidingMin(p.frames(p.noise_window_ms))
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
        self._last_peak2 = 0.0
        self._last_slope = 0.0
        # revision, prompt, words
        self._playing = False
        self._voice_at = -1  # frame of the voice verdict, while it may be revised
        self._group_start = -1  # first frame of the current group (gaps < voice silence)
        self._group_prompted = False  # it started while our prompt played
        self._sentences = 0  # pauses >= sentence_pause_ms between utterances so far
        self._phrases: set[str] = set()
        self._phrases_after_voice: set[str] = set()
        self._f_sentence_pause = p.frames(p.sentence_pause_ms)
        self._purity2 = p.tone_purity2 if p.tone_purity2 < 1.0 else math.inf
        # frame counts from the parameters
        self._f_speech_start = p.frames(p.speech_start_ms)
        self._f_speech_gap = p.frames(p.speech_gap_ms)
        self._f_beep_min = p.frames(p.beep_min_ms)
        self._f_settle = p.frames(p.beep_settle_ms)

    # input --------------------------------------------------------------------------------

    def feed(self, audio: npt.NDArray[np.int16] | bytes) -> Verdict | None:
        """Process audio (16-bit PCM, 8 kHz mono); the newest verdict made or changed by it."""
        samples = np.frombuffer(audio, dtype="<i2") if isinstance(audio, bytes) else audio
        if len(samples) == FRAME_SAMPLES and not len(self._partial) and not self.finished:
            return self._one(samples)  # the usual case: one RTP packet's frame
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

    def _one(self, samples: npt.NDArray[np.int16]) -> Verdict | None:
        window = self._window
        window[:FRAME_SAMPLES] = window[FRAME_SAMPLES:]
        window[FRAME_SAMPLES:] = samples
        pcm = samples.astype("<i2", copy=False).tobytes()
        return self.verdict if self._step(features.measure(window), pcm) else None

    def feed_ulaw(self, payload: bytes) -> Verdict | None:
        """``feed`` for G.711 µ-law bytes (an RTP PCMU payload)."""
        return self.feed(ulaw_decode(payload))

    def feed_alaw(self, payload: bytes) -> Verdict | None:
        """``feed`` for G.711 A-law bytes (an RTP PCMA payload)."""
        return self.feed(alaw_decode(payload))

    def playing(self, on: bool) -> None:
        """We started (``True``) or stopped playing a prompt to the callee, at the current
        audio position. Speech that starts while a prompt plays is the callee answering it,
        never a greeting going on."""
        self._playing = on

    def heard_words(self, phrases: Iterable[Heard]) -> None:
        """Greeting phrases spotted in the audio so far (``outdial.speech.spotter`` runs off
        the event loop and hands its hits in as they come). They count from the next frame."""
        if not self._listening_for_words:
            return
        for heard in phrases:
            self._phrases.add(heard.phrase)
            if self._voice_at >= 0 and heard.end_ms > self._voice_at * FRAME_MS:
                self._phrases_after_voice.add(heard.phrase)

    @property
    def wants_words(self) -> bool:
        """True while spotted phrases could still change the verdict: a caller runs the
        spotter only then."""
        return self._listening_for_words and self._first_speech >= 0

    @property
    def _listening_for_words(self) -> bool:
        p = self.params
        if p.phrases_for_machine <= 0 or self.finished:
            return False
        return self.verdict is None or self._voice_at >= 0

    @property
    def last_speech_ms(self) -> int | None:
        """End of the last speech frame so far (ms from answer), or ``None``."""
        return (self._last_speech + 1) * FRAME_MS if self._last_speech >= 0 else None

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
        p = self.params
        if v.callee_type is CalleeType.VOICE and self._voice_at >= 0:
            if self._tone is not None:
                return False
            if self.position_ms >= p.beep_listen_max_ms:
                return True
            since_voice = (self._frame - self._voice_at) * FRAME_MS
            quiet = (self._frame - max(self._last_speech, self._voice_at)) * FRAME_MS
            return since_voice >= p.revise_window_ms and quiet >= p.revise_quiet_ms
        if v.callee_type is not CalleeType.ANSWERINGMACHINE:
            return True
        if self._tone is not None:
            return False
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
        if self.verdict is not None and self.finished:
            return False

        level = f.level_dbfs
        # A lost packet is one frame of digital silence and says nothing about the line's
        # background; a longer run of it is a quiet line.
        self._silent_run = self._silent_run + 1 if level <= DIGITAL_SILENCE_DBFS else 0
        if level > DIGITAL_SILENCE_DBFS or self._silent_run > LOST_PACKET_FRAMES:
            self._levels.append(max(level, DIGITAL_SILENCE_DBFS))
        floor = self._levels.minimum
        tonal = (
            level >= p.tone_floor_dbfs
            and level >= floor + p.tone_snr_db
            and (
                f.purity >= p.tone_purity
                or (
                    f.purity2 >= self._purity2
                    and abs(f.peak2_hz - f.peak_hz) >= SECOND_PEAK_APART_HZ
                )
            )
        )
        if tonal and self._tone is not None and level < self._tone.last_level - TONE_LEVEL_DROP_DB:
            tonal = False  # the tone stopped; what is left is its echo in the window
        # A steady tone holds its pitch (or sweeps it evenly) and its loudness from frame to
        # frame; a vowel with a strong harmonic (high voices after band-limiting) glides, so it
        # stays speech.
        peak = f.peak_hz
        step = peak - self._last_peak
        slope = self._last_slope if abs(self._last_slope) <= p.beep_sweep_hz else 0.0
        held = abs(step - slope) <= STEADY_HZ or (
            f.purity < p.tone_purity
            and (
                abs(peak - self._last_peak2) <= features.BIN_HZ
                or abs(f.peak2_hz - self._last_peak) <= features.BIN_HZ
            )
        )
        steady = tonal and self._was_tonal and held and abs(level - self._last_level) <= STEADY_DB
        self._last_slope = step if tonal and self._was_tonal else 0.0
        self._was_tonal, self._last_peak, self._last_level = tonal, peak, level
        self._last_peak2 = f.peak2_hz if tonal and f.purity < p.tone_purity else 0.0
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
        if decision:
            return True
        if self.verdict is not None:
            return self._revise() if self._voice_at >= 0 else False
        return self._rules()

    def _decide(self, callee_type: CalleeType, cause: Cause) -> bool:
        beep = self._beep_end_ms
        v = self.verdict
        if v is None:
            self._decided = self._frame
            self.verdict = Verdict(callee_type, cause, self.position_ms, beep)
            if callee_type is CalleeType.VOICE and self.params.revise_window_ms > 0:
                self._voice_at = self._frame
            return True
        if v.callee_type is CalleeType.VOICE and callee_type is CalleeType.ANSWERINGMACHINE:
            # A revision: the detector goes on as if it had decided voicemail here.
            self._decided = self._frame
            self._voice_at = -1
            self.verdict = Verdict(callee_type, cause, self.position_ms, beep, CalleeType.VOICE)
            return True
        if v.beep_end_ms != beep:
            self.verdict = Verdict(v.callee_type, v.cause, v.decided_ms, beep, v.revises)
            return True
        return False

    # speech -------------------------------------------------------------------------------

    def _speech(self, speech: bool, steady: bool) -> None:
        p = self.params
        self._speech_bits = ((self._speech_bits << 1) | speech) & 0xFF
        if speech:
            self._speech_run += 1
            if self._in_utterance:
                self._last_speech = self._frame
                self._quiet = 0
            elif self._speech_run >= self._f_speech_start:
                self._in_utterance = True
                start = self._frame - self._speech_run + 1
                if self._first_speech < 0:
                    self._first_speech = start
                else:
                    pause = start - self._last_speech - 1
                    if pause >= self._f_sentence_pause:
                        self._sentences += 1
                    if self._quiet * FRAME_MS >= p.voice_silence_ms:
                        self._group_start = start
                        self._group_prompted = self._playing
                if self._group_start < 0:
                    self._group_start = start
                self._last_speech = self._frame
                self._quiet = 0
            return
        self._speech_run = 0
        if not steady:
            self._quiet += 1
        if self._in_utterance and self._frame - self._last_speech > self._f_speech_gap:
            self._in_utterance = False

    def _revise(self) -> bool:
        """After a voice verdict: does a greeting going on, or its words, make it voicemail?
        (A beep is found by the tone rules.)"""
        p = self.params
        if p.phrases_for_machine > 0 and len(self._phrases_after_voice) >= p.revise_phrases:
            return self._decide(CalleeType.ANSWERINGMACHINE, Cause.PHRASES_AFTER_VOICE)
        if (
            p.revise_speech_ms > 0
            and self._in_utterance
            and not self._group_prompted
            and self._group_start > self._voice_at
            and (self._frame - self._group_start + 1) * FRAME_MS >= p.revise_speech_ms
        ):
            return self._decide(CalleeType.ANSWERINGMACHINE, Cause.GREETING_WENT_ON)
        return False

    def _rules(self) -> bool:
        p = self.params
        now_ms = self.position_ms
        if self._first_speech < 0:
            if now_ms >= p.dead_air_ms and self._tone is None:
                return self._decide(CalleeType.UNKNOWN, Cause.DEAD_AIR)
        else:
            greeting_ms = (self._last_speech - self._first_speech + 1) * FRAME_MS
            if (
                p.phrases_for_machine > 0
                and len(self._phrases) >= p.phrases_for_machine
                and greeting_ms >= p.phrase_speech_ms
            ):
                return self._decide(CalleeType.ANSWERINGMACHINE, Cause.GREETING_PHRASES)
            if self._in_utterance:
                span_ms = (self._frame - self._first_speech + 1) * FRAME_MS
                if span_ms >= p.machine_greeting_ms and (
                    self._sentences >= p.long_sentences or span_ms >= p.monologue_ms
                ):
                    return self._decide(CalleeType.ANSWERINGMACHINE, Cause.LONG_GREETING)
                if (
                    p.machine_shape_ms > 0
                    and span_ms >= p.machine_shape_ms
                    and self._sentences >= p.shape_sentences
                ):
                    return self._decide(CalleeType.ANSWERINGMACHINE, Cause.GREETING_SHAPE)
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
            if run is not None and self._frame - run.last <= TONE_GAP_FRAMES + 1:
                gap = self._frame - run.last
                expected = run.hz + run.slope * gap
                moved = peak - run.hz
                if abs(peak - expected) <= p.beep_max_jitter_hz or (
                    run.frames == 1 and abs(moved) <= p.beep_sweep_hz * gap
                ):
                    # A sweep: the second frame sets the rate, later ones must keep to it.
                    if p.beep_sweep_hz > 0:
                        run.slope = moved / gap
                        run.hz = peak
                elif f.purity < p.tone_purity and (
                    abs(peak - run.hz2) <= p.beep_max_jitter_hz
                    or abs(f.peak2_hz - run.hz) <= features.BIN_HZ
                ):
                    pass  # a dual tone whose louder half swapped
                else:
                    run = None
                if run is not None:
                    run.last = self._frame
                    run.frames += 1
                    run.pure += f.purity >= p.tone_purity and abs(run.slope) <= STEADY_HZ
                    run.levels.append(level)
                    run.tail_level = None  # it went on after all (a lost packet)
                    return changed
                run = self._tone
            if run is not None:
                changed = self._tone_ended(run) or changed
            after_speech = bool(self._speech_bits & BEEP_CLEAR_MASK)
            self._tone = _ToneRun(
                self._frame,
                self._frame,
                peak,
                level,
                hz2=f.peak2_hz if f.purity < p.tone_purity else 0.0,
                after_speech=after_speech,
                pure=int(f.purity >= p.tone_purity),
            )
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
        if run.pure < self._f_beep_min and run.frames < MIXED_BEEP_FRAMES:
            return False
        if run.after_speech and run.frames < BEEP_AFTER_SPEECH_FRAMES:
            return False
        steady = run.levels[:-1]  # the first and last frames may hold part of the tone
        steps = [b - a for a, b in itertools.pairwise(steady)]
        # A chime may fade fast, but evenly: the same few dB every frame.
        fading = bool(steps) and all(-BEEP_FADE_STEP_DB <= d <= 0.5 for d in steps)
        fading = fading and max(steps) - min(steps) <= BEEP_FADE_EVEN_DB
        if not fading and any(abs(d) > BEEP_LEVEL_STEP_DB for d in steps):
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
        voice = self.verdict is not None and self.verdict.callee_type is CalleeType.VOICE
        return self._decide(
            CalleeType.ANSWERINGMACHINE, Cause.BEEP_AFTER_VOICE if voice else Cause.BEEP
        )
