"""Listening to a call (SPEC §7): ``Listener`` fed frames, ``Listening`` on a scripted leg.

The audio is synthesised: tones from ``outdial.audio.synth``, and "speech" made of loud noise
bursts (non-tonal, well above the line's background, as the detector's speech rule wants). The
leg yields its frames with ``asyncio.sleep(0)`` between them: no network and no clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence

import numpy as np
import numpy.typing as npt
import pytest

from outdial.audio import synth
from outdial.audio.frames import FRAME_SAMPLES
from outdial.calls import CalleeType
from outdial.detect import Cause, DetectionParams, Verdict
from outdial.dispatch.flows import PromptTelling
from outdial.dispatch.listening import Listener, Listening
from outdial.speech.spotter import Spotted, Spotting
from outdial.telephony.carrier import (
    AudioFrame,
    DialRequest,
    HangupCause,
    Leg,
    LegEvent,
    Playback,
)

FloatArray = npt.NDArray[np.float64]
QUIET_DBFS = -60.0  # a quiet line's background
TALK_DBFS = -20.0
SIT_TRIAD = (synth.SIT_LOW_HZ[0], synth.SIT_MID_HZ[0], (274.0, 274.0, 380.0))
MAX_STEPS = 100_000  # event-loop turns a scripted call may take before a test gives up


def quiet(ms: float, seed: int = 1) -> FloatArray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, synth.amplitude(QUIET_DBFS) / np.sqrt(2.0), synth.samples_for(ms))


def talk(ms: float, seed: int = 2) -> FloatArray:
    """Syllables: 200 ms noise bursts 40 dB above the background, 100 ms apart."""
    rng = np.random.default_rng(seed)
    syllable = synth.amplitude(TALK_DBFS) / np.sqrt(2.0)
    parts: list[FloatArray] = []
    for _ in range(round(ms / 300.0)):
        parts += [rng.normal(0.0, syllable, synth.samples_for(200)), quiet(100, seed)]
    return np.concatenate(parts)


def sit() -> FloatArray:
    return synth.sit(*SIT_TRIAD)


def frames(*parts: FloatArray, early: bool = False) -> list[AudioFrame]:
    """Whole 20 ms frames of 16-bit little-endian PCM."""
    pcm = np.clip(np.round(np.concatenate(parts)), -32768, 32767).astype("<i2")
    whole = len(pcm) // FRAME_SAMPLES * FRAME_SAMPLES
    return [
        AudioFrame(pcm[i : i + FRAME_SAMPLES].tobytes(), early)
        for i in range(0, whole, FRAME_SAMPLES)
    ]


def fax() -> list[AudioFrame]:
    return frames(quiet(300), synth.ced(3000.0, reversals=True))


def greeting(ms: float = 7200.0) -> FloatArray:
    """Three sentences with 500 ms pauses: 7 s of it is a machine by its length."""
    sentence = talk((ms - 1000.0) / 3)
    return np.concatenate([sentence, quiet(500), sentence, quiet(500), sentence])


def long_greeting_then_beep(beep_ms: float = 500.0) -> list[AudioFrame]:
    """A voicemail: 7 s of greeting, then a 1 kHz beep."""
    return frames(
        quiet(400), greeting(), quiet(300), synth.tone(1000.0, beep_ms, -14.0), quiet(2000)
    )


def feed_all(listener: Listener, audio: Sequence[AudioFrame]) -> list[Verdict]:
    """Every verdict ``feed`` returns, in order."""
    return [v for v in map(listener.feed, audio) if v is not None]


# Listener: pure ----------------------------------------------------------------------------------


def test_a_sit_in_early_media_is_reported_once() -> None:
    listener = Listener(DetectionParams())
    verdicts = feed_all(listener, frames(quiet(300), sit(), quiet(2000), sit(), early=True))
    assert len(verdicts) == 1
    assert (verdicts[0].callee_type, verdicts[0].cause) == (CalleeType.INFORMATIONTONE, Cause.SIT)
    assert listener.sit is verdicts[0]
    assert not listener.finished  # nothing was answered
    assert listener.end() is None


def test_early_media_that_is_no_sit_says_nothing_and_listening_starts_afresh() -> None:
    # Six seconds of dead air decide "unknown" in a detector, which is then finished: without a
    # fresh one, the SIT after it would go unheard.
    listener = Listener(DetectionParams())
    assert feed_all(listener, frames(quiet(6000), early=True)) == []
    verdicts = feed_all(listener, frames(sit(), quiet(500), early=True))
    assert [v.callee_type for v in verdicts] == [CalleeType.INFORMATIONTONE]
    assert listener.sit is verdicts[0]


def test_ringback_is_not_a_sit() -> None:
    ringback = np.concatenate(
        [synth.tone(440.0, 2000.0, -20.0) + synth.tone(480.0, 2000.0, -20.0), quiet(4000)] * 2
    )
    listener = Listener(DetectionParams())
    assert feed_all(listener, frames(ringback, early=True)) == []
    assert listener.sit is None


def test_answered_audio_is_judged_from_the_answer_without_the_early_media() -> None:
    # Two segments of a SIT before the answer, the third after it: not a SIT. The answered
    # call's detector starts at the answer and hears dead air.
    listener = Listener(DetectionParams())
    tones = synth.sit(*SIT_TRIAD)
    two_segments = synth.samples_for(548.0)
    assert feed_all(listener, frames(quiet(300), tones[:two_segments], early=True)) == []
    verdicts = feed_all(listener, frames(tones[two_segments:], quiet(6000)))
    assert [(v.callee_type, v.cause) for v in verdicts] == [(CalleeType.UNKNOWN, Cause.DEAD_AIR)]
    assert verdicts[0].decided_ms == DetectionParams().dead_air_ms  # counted from the answer
    assert listener.sit is None


def test_early_media_after_the_answer_is_ignored() -> None:
    listener = Listener(DetectionParams())
    assert feed_all(listener, frames(quiet(200))) == []
    assert feed_all(listener, frames(sit(), quiet(500), early=True)) == []
    assert listener.sit is None


def test_an_answered_fax_is_decided_and_finished() -> None:
    listener = Listener(DetectionParams())
    verdicts = feed_all(listener, fax())
    assert [(v.callee_type, v.cause) for v in verdicts] == [(CalleeType.FAX, Cause.FAX_CED)]
    assert listener.finished
    assert listener.end() == verdicts[0]


def test_a_voicemail_is_reported_when_decided_and_again_when_its_beep_ends() -> None:
    listener = Listener(DetectionParams())
    verdicts: list[Verdict] = []
    finished_before_beep: list[bool] = []
    for frame in long_greeting_then_beep():
        verdict = listener.feed(frame)
        if verdict is not None:
            verdicts.append(verdict)
            finished_before_beep.append(listener.finished)
        if listener.finished:
            break
    first, second = verdicts
    assert (first.callee_type, first.cause, first.beep_end_ms) == (
        CalleeType.ANSWERINGMACHINE,
        Cause.LONG_GREETING,
        None,
    )
    assert second.callee_type is CalleeType.ANSWERINGMACHINE
    assert second.decided_ms == first.decided_ms
    assert second.beep_end_ms is not None and second.beep_end_ms > first.decided_ms
    assert finished_before_beep == [False, False]  # waits for the beep to settle
    assert listener.finished
    assert listener.end() == second


def test_an_answered_call_that_ends_undecided_settles_as_unknown() -> None:
    listener = Listener(DetectionParams())
    assert feed_all(listener, frames(quiet(1000))) == []
    assert not listener.finished
    verdict = listener.end()
    assert verdict is not None
    assert (verdict.callee_type, verdict.cause) == (CalleeType.UNKNOWN, Cause.AUDIO_ENDED)


def test_a_beep_cut_off_by_the_hang_up_still_counts() -> None:
    listener = Listener(DetectionParams())
    audio = frames(quiet(400), greeting(), quiet(300), synth.tone(1000.0, 400.0, -14.0))
    verdicts = feed_all(listener, audio)
    assert [v.beep_end_ms for v in verdicts] == [None]  # decided on the greeting's length
    settled = listener.end()
    assert settled is not None
    assert settled.callee_type is CalleeType.ANSWERINGMACHINE
    assert settled.beep_end_ms is not None


def test_the_deployment_s_parameters_are_used() -> None:
    listener = Listener(DetectionParams(dead_air_ms=1000))
    verdicts = feed_all(listener, frames(quiet(1500)))
    assert [(v.cause, v.decided_ms) for v in verdicts] == [(Cause.DEAD_AIR, 1000)]


# Listening: on a scripted leg --------------------------------------------------------------------


class ScriptedLeg(Leg):
    """A leg whose audio is a fixed list of frames; it says how far it was read."""

    def __init__(self, audio: Sequence[AudioFrame]) -> None:
        super().__init__(DialRequest("call-1", 1, "+16175551234", None, None, 30.0))
        self._audio = audio
        self.delivered = 0  # frames handed out
        self.closed = False  # the audio iterator was closed (its ``finally`` ran)

    async def _progress(self) -> AsyncGenerator[LegEvent, None]:
        return
        yield

    async def hangup(self, cause: HangupCause) -> None:
        pass

    async def send_dtmf(self, digits: str) -> None:
        pass

    async def audio(self) -> AsyncIterator[AudioFrame]:
        try:
            for frame in self._audio:
                await asyncio.sleep(0)  # as frames arrive from the network, one at a time
                self.delivered += 1
                yield frame
        finally:
            self.closed = True


class Recorder:
    """The dialer's side: verdicts stored, SITs acted on."""

    def __init__(self) -> None:
        self.verdicts: list[Verdict] = []
        self.sits = 0

    async def record(self, verdict: Verdict) -> None:
        self.verdicts.append(verdict)

    async def early_sit(self) -> None:
        self.sits += 1


def listen(leg: Leg, recorder: Recorder, params: DetectionParams | None = None) -> Listening:
    return Listening(leg, params or DetectionParams(), recorder.record, recorder.early_sit)


async def until_closed(leg: ScriptedLeg) -> None:
    """Let the listening task run until it has let go of the leg's audio."""
    for _ in range(MAX_STEPS):
        if leg.closed:
            return
        await asyncio.sleep(0)
    raise AssertionError("the listening task never closed the leg's audio")


async def turns(n: int = 200) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def test_verdicts_are_recorded_only_once_the_answer_is_stored() -> None:
    async def main() -> None:
        leg, recorder = ScriptedLeg(fax()), Recorder()
        listening = listen(leg, recorder)
        await turns(500)  # the fax is decided after 36 frames, but the answer is not stored
        assert recorder.verdicts == []
        listening.answer_recorded.set()
        await until_closed(leg)
        assert [v.callee_type for v in recorder.verdicts] == [CalleeType.FAX]
        assert leg.delivered < len(fax())  # finished: stopped reading
        assert await listening.settle() is CalleeType.FAX
        assert len(recorder.verdicts) == 1  # settle does not record it again
        await listening.stop()

    asyncio.run(main())


def test_a_voicemail_s_verdicts_are_recorded_in_order_and_settled() -> None:
    async def main() -> None:
        leg, recorder = ScriptedLeg(long_greeting_then_beep()), Recorder()
        listening = listen(leg, recorder)
        listening.answer_recorded.set()
        await until_closed(leg)
        await listening.stop()
        first, second = recorder.verdicts
        assert (first.cause, first.beep_end_ms) == (Cause.LONG_GREETING, None)
        assert second.beep_end_ms is not None
        assert await listening.settle() is CalleeType.ANSWERINGMACHINE
        assert recorder.verdicts == [first, second]

    asyncio.run(main())


def test_audio_that_ends_undecided_is_recorded_as_unknown_when_settled() -> None:
    async def main() -> None:
        leg, recorder = ScriptedLeg(frames(quiet(1000))), Recorder()
        listening = listen(leg, recorder)
        listening.answer_recorded.set()
        await until_closed(leg)
        assert leg.delivered == 50  # read to the end
        assert recorder.verdicts == []
        await listening.stop()
        assert await listening.settle() is CalleeType.UNKNOWN
        assert [(v.callee_type, v.cause) for v in recorder.verdicts] == [
            (CalleeType.UNKNOWN, Cause.AUDIO_ENDED)
        ]

    asyncio.run(main())


def test_a_verdict_the_stopped_task_could_not_record_is_recorded_when_settled() -> None:
    async def main() -> None:
        leg, recorder = ScriptedLeg(fax()), Recorder()
        listening = listen(leg, recorder)
        await turns(500)  # decided, waiting for the answer to be stored
        await listening.stop()
        assert leg.closed
        assert recorder.verdicts == []
        listening.answer_recorded.set()
        assert await listening.settle() is CalleeType.FAX
        assert [(v.callee_type, v.cause) for v in recorder.verdicts] == [
            (CalleeType.FAX, Cause.FAX_CED)
        ]

    asyncio.run(main())


def test_nothing_is_recorded_if_the_answer_never_was() -> None:
    async def main() -> None:
        leg, recorder = ScriptedLeg(fax()), Recorder()
        listening = listen(leg, recorder)
        await turns(500)
        await listening.stop()
        assert await listening.settle() is CalleeType.FAX
        assert recorder.verdicts == []

    asyncio.run(main())


def test_a_sit_in_early_media_hangs_up_and_stops_listening() -> None:
    async def main() -> None:
        audio = frames(quiet(300), sit(), quiet(5000), early=True)
        leg, recorder = ScriptedLeg(audio), Recorder()
        listening = listen(leg, recorder)
        await until_closed(leg)
        assert recorder.sits == 1
        assert leg.delivered < len(audio)
        sit_verdict = listening.sit
        assert sit_verdict is not None
        assert sit_verdict.callee_type is CalleeType.INFORMATIONTONE
        await listening.stop()
        listening.answer_recorded.set()
        assert await listening.settle() is CalleeType.UNKNOWN  # nothing was answered
        assert recorder.verdicts == []  # a SIT is not an answered call's verdict

    asyncio.run(main())


def test_stopping_mid_call_closes_the_leg_s_audio_and_may_be_repeated() -> None:
    async def main() -> None:
        leg, recorder = ScriptedLeg(frames(quiet(10_000))), Recorder()
        listening = listen(leg, recorder)
        listening.answer_recorded.set()
        await turns(20)
        await listening.stop()
        assert leg.closed
        assert 0 < leg.delivered < 500
        await listening.stop()  # the dialer stops it on Ended and again on the way out
        assert await listening.settle() is CalleeType.UNKNOWN
        assert [v.cause for v in recorder.verdicts] == [Cause.AUDIO_ENDED]

    asyncio.run(main())


def test_a_leg_without_audio_settles_as_unknown_without_a_verdict() -> None:
    class Silent(ScriptedLeg):
        def audio(self) -> AsyncIterator[AudioFrame]:
            return Leg.audio(self)  # the base class: carriers without audio yield nothing

    async def main() -> None:
        recorder = Recorder()
        listening = listen(Silent([]), recorder)
        listening.answer_recorded.set()
        await turns(5)
        await listening.stop()
        assert await listening.settle() is CalleeType.UNKNOWN
        assert recorder.verdicts == []
        assert recorder.sits == 0

    asyncio.run(main())


def test_detection_failing_does_not_fail_the_call(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        broken = AudioFrame(b"\x00" * 161, early=False)  # half a sample: not 16-bit PCM
        leg, recorder = ScriptedLeg([*frames(quiet(200)), broken, *frames(quiet(200))]), Recorder()
        listening = listen(leg, recorder)
        listening.answer_recorded.set()
        await until_closed(leg)
        assert leg.delivered == 11  # it stopped at the broken frame
        await listening.stop()  # the task ended by itself, without raising
        assert await listening.settle() is CalleeType.UNKNOWN

    with caplog.at_level(logging.ERROR, logger="outdial.dispatch.listening"):
        asyncio.run(main())
    assert [r.getMessage() for r in caplog.records] == ["listening to call call-1 failed"]


# Words and prompts ---------------------------------------------------------------------------


class FakeSpotting:
    """Hears "leave a message" in every window, and keeps the windows it was given."""

    def __init__(self) -> None:
        self.windows: list[tuple[int, int]] = []

    async def spot(self, pcm: npt.NDArray[np.int16], offset_ms: int) -> Spotting:
        self.windows.append((offset_ms, offset_ms + len(pcm) // 8))
        heard = Spotted("leave a message", offset_ms + 100, offset_ms + 900)
        return Spotting((heard,), 0.001)


def test_greeting_phrases_spotted_in_a_worker_decide_voicemail() -> None:
    async def main() -> None:
        spotting = FakeSpotting()
        leg, recorder = ScriptedLeg(frames(quiet(300), greeting(), quiet(3000))), Recorder()
        listening = Listening(
            leg,
            DetectionParams(),
            recorder.record,
            recorder.early_sit,
            spotting=spotting,  # type: ignore[arg-type]
        )
        listening.answer_recorded.set()
        await until_closed(leg)
        await listening.stop()
        first = recorder.verdicts[0]
        assert (first.callee_type, first.cause) == (
            CalleeType.ANSWERINGMACHINE,
            Cause.GREETING_PHRASES,
        )
        assert spotting.windows[0] == (0, 1000)  # a second of audio at a time
        assert listening.listener.spot_cpu_s > 0

    asyncio.run(main())


def test_without_a_spotter_no_audio_is_kept_for_one() -> None:
    listener = Listener(DetectionParams(phrases_for_machine=0))
    feed_all(listener, frames(quiet(300), talk(3000)))
    assert listener.spot_window() is None


def test_speech_over_our_prompt_does_not_revise_the_voice_verdict() -> None:
    audio = frames(quiet(300), talk(600), quiet(1200), talk(4000), quiet(4000))
    told, untold = Listener(DetectionParams()), Listener(DetectionParams())
    told_verdicts: list[Verdict] = []
    for frame in audio:
        verdict = told.feed(frame)
        if verdict is not None:
            told_verdicts.append(verdict)
            told.playing(True)  # the flow answers the voice verdict with a prompt
    untold_verdicts = feed_all(untold, audio)

    assert [v.callee_type for v in told_verdicts] == [CalleeType.VOICE]
    assert [v.callee_type for v in untold_verdicts] == [
        CalleeType.VOICE,
        CalleeType.ANSWERINGMACHINE,
    ]


def test_a_flow_leg_says_when_its_prompts_play() -> None:
    async def main() -> None:
        heard: list[bool] = []
        playbacks: list[Playback] = []

        class PromptLeg:
            def play_prompt(self, ulaw: bytes) -> Playback:
                playbacks.append(Playback())
                return playbacks[-1]

        telling = PromptTelling(PromptLeg(), heard.append)  # type: ignore[arg-type]
        telling.play_prompt(b"\xff" * 160)
        telling.play_prompt(b"\xff" * 160)
        playbacks[0].finish()
        await asyncio.sleep(0)
        assert heard == [True]  # the second prompt still plays
        playbacks[1].stop()
        await asyncio.sleep(0)
        assert heard == [True, False]

    asyncio.run(main())


def test_the_spotter_hears_each_second_with_the_one_before_it() -> None:
    listener = Listener(DetectionParams())
    windows: list[tuple[int, int]] = []
    for frame in frames(quiet(300), talk(12000)):
        listener.feed(frame)
        window = listener.spot_window()
        if window is not None:
            offset, pcm = window
            windows.append((offset, offset + len(pcm) // 8))
    assert windows[:3] == [(0, 1000), (0, 2000), (1000, 3000)]
    assert windows[-1] == (8000, 10000)  # nothing after 10 s from answer is spotted
