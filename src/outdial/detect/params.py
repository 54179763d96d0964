"""Detection parameters: every threshold the decision rules use, with its unit.

The defaults are the ones ``benchmarks/detect.py`` supports (see docs/detection.md). A
deployment may override any of them with :func:`dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass

from outdial.audio.frames import FRAME_MS


@dataclass(frozen=True, slots=True)
class DetectionParams:
    """Thresholds of the streaming detector. Times are milliseconds of audio from answer."""

    # Voice activity
    vad_mode: int = 3  # webrtcvad aggressiveness, 0 (lenient) to 3 (strict)
    speech_floor_dbfs: float = -50.0  # dBFS: quieter frames are never speech
    speech_snr_db: float = 7.0  # dB above the background noise level a speech frame must be
    speech_loud_db: float = 20.0  # dB above background: speech even if the VAD disagrees
    speech_range_db: float = 18.0  # dB below the greeting's loudest frame: background talk
    noise_window_ms: int = 1500  # ms: background level is the quietest frame in this window
    speech_start_ms: int = 60  # ms of speech frames that start an utterance
    speech_gap_ms: int = 200  # ms of non-speech that still belongs to the same utterance

    # Tones (fraction of a frame's energy at one frequency that makes it a tone)
    tone_purity: float = 0.88  # 0..1: energy share of the spectral peak for a beep frame
    tone_purity2: float = 0.75  # 0..1: energy share of the two strongest peaks for a tone frame
    # (a dual tone, a square wave, a beep in noise); 1.0 turns this off
    tone_floor_dbfs: float = -55.0  # dBFS: quieter frames are never tones
    tone_snr_db: float = 6.0  # dB above the background level a tone frame must be
    beep_min_hz: float = 400.0  # Hz
    beep_max_hz: float = 2000.0  # Hz
    beep_min_ms: int = 100  # ms: shorter steady tones are not beeps
    beep_max_jitter_hz: float = 10.0  # Hz: how far a beep's frequency may wander
    beep_sweep_hz: float = 60.0  # Hz a swept beep's frequency may move per 20 ms frame (0: none)
    beep_settle_ms: int = 60  # ms of no tone after a beep before it counts as ended
    beep_wait_ms: int = 3000  # ms after the greeting's last speech to keep waiting for a beep
    beep_listen_max_ms: int = 30000  # ms from answer after which no beep is looked for
    beep_after_beep_ms: int = 800  # ms after a beep ends in which a further beep may follow

    # Fax and special information tones
    ced_min_ms: int = 400  # ms of 2100 Hz answer tone for fax
    v21_min_ms: int = 240  # ms of V.21 HDLC flags for fax
    cng_min_ms: int = 360  # ms of 1100 Hz calling tone (ITU-T T.30: 0.5 s on, 3 s off)
    cng_max_ms: int = 800  # ms: a longer 1100 Hz tone is not CNG
    sit_segment_min_ms: int = 140  # ms: SIT segments last 274 or 380 ms (ANSI T1.401)
    sit_gap_max_ms: int = 80  # ms allowed between SIT segments

    # Decision rules over the greeting
    voice_silence_ms: int = 560  # ms of silence after a short greeting that means a person
    voice_silence_long_ms: int = 900  # ms of silence after a greeting up to 3 s
    short_greeting_ms: int = 1000  # ms: greetings up to this take voice_silence_ms
    person_greeting_max_ms: int = 3000  # ms: a longer greeting needs long_greeting_silence_ms
    long_greeting_silence_ms: int = 1600  # ms of silence (no beep) after a long greeting -> voice
    machine_greeting_ms: int = 6500  # ms from first speech with speech still going -> machine
    dead_air_ms: int = 5000  # ms of silence from answer with nothing heard -> unknown
    max_decision_ms: int = 12000  # ms: undecided by then -> unknown

    # Deciding voicemail sooner: from the greeting's shape, or from its words
    machine_shape_ms: int = 0  # ms from first speech, still talking, with sentence pauses
    # (0: off) -> machine
    sentence_pause_ms: int = 400  # ms: a pause at least this long ends a sentence
    shape_sentences: int = 1  # sentence pauses the shape rule needs
    phrases_for_machine: int = 1  # distinct greeting phrases heard -> machine (0: words unused)
    phrase_speech_ms: int = 2000  # ms of speech (first to last frame) before words may decide
    revise_phrases: int = 2  # distinct greeting phrases after a voice verdict that revise it
    long_sentences: int = 2  # sentence pauses a greeting needs for machine_greeting_ms...
    monologue_ms: int = 10000  # ...and with fewer, ms of speech from first speech -> machine

    # Revising a voice verdict
    revise_window_ms: int = 6000  # ms after a voice verdict to keep listening (0: never revise)
    revise_quiet_ms: int = 3000  # ...and until this much silence after the last speech
    revise_speech_ms: int = 2600  # ms of one utterance group after voice that is a greeting going
    # on (0: off); speech that started while our prompt played never counts

    def frames(self, ms: int) -> int:
        """Whole 20 ms frames covering ``ms`` milliseconds (at least one)."""
        return max(1, -(-ms // FRAME_MS))
