"""The flow driver against a scripted leg: prompts played and stopped, keys, timers, results,
recordings, HTTP failures and the hang-up. Prompts are short (a few ms), so these run fast."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import numpy as np

from outdial.audio import g711
from outdial.calls import CalleeType
from outdial.flow import actions as a
from outdial.flow.context import Session
from outdial.flow.document import Flow, load_flow
from outdial.flow.driver import FlowHooks, FlowRun, Heard, HttpOutcome, TransferOutcome
from outdial.flow.interpreter import Interpreter
from outdial.flow.steps import Scalar
from outdial.flow.tts import TtsCache, TtsError
from outdial.flow.utterance import Pcm
from outdial.telephony import simaudio
from outdial.telephony.carrier import AudioFrame, Playback, timed_playback

MS_PER_CHAR = 10  # the fake voice speaks a character in 10 ms: margins for a loaded machine


class FakeVoice:
    engine = "espeak-ng"

    def synthesize(self, text: str, voice: str) -> bytes:
        if "FAIL" in text:
            raise TtsError("tts: the engine crashed")
        return b"\x7f" * (8 * MS_PER_CHAR * len(text))


class FakeLeg:
    """Plays prompts in real (short) time; keys and audio come from the test."""

    def __init__(self) -> None:
        self.keys: asyncio.Queue[str | None] = asyncio.Queue()
        self.frames: asyncio.Queue[AudioFrame | None] = asyncio.Queue()
        self.played: list[bytes] = []
        self.playbacks: list[Playback] = []
        self.dtmf: list[str] = []
        self.readers = 0  # audio() iterators open

    def play_prompt(self, ulaw: bytes) -> Playback:
        self.played.append(ulaw)
        playback = timed_playback(ulaw)
        self.playbacks.append(playback)
        return playback

    async def digits(self) -> AsyncIterator[str]:
        while (key := await self.keys.get()) is not None:
            yield key

    async def audio(self) -> AsyncIterator[AudioFrame]:
        self.readers += 1
        try:
            while (frame := await self.frames.get()) is not None:
                yield frame
        finally:
            self.readers -= 1

    async def send_dtmf(self, digits: str) -> None:
        self.dtmf.append(digits)


class Kept:
    def __init__(self) -> None:
        self.results: dict[str, Scalar] = {}
        self.recordings: list[tuple[str, bytes, float]] = []
        self.hangups: list[str] = []
        self.requests: list[a.HttpRequest] = []
        self.heard: list[tuple[dict[str, str], int]] = []  # (phrases, samples) recognised

    def hooks(self, http: HttpOutcome | None = None, heard: Heard | None = None) -> FlowHooks:
        async def save_results(fields: Mapping[str, Scalar]) -> None:
            self.results.update(fields)

        async def save_recording(step: str, audio: bytes, seconds: float) -> str:
            self.recordings.append((step, audio, seconds))
            return f"rec-{len(self.recordings)}"

        async def hangup(reason: str) -> None:
            self.hangups.append(reason)

        async def do_http(request: a.HttpRequest) -> HttpOutcome:
            self.requests.append(request)
            if http is None:  # never answers: the client gives up at the step's timeout
                await asyncio.sleep(request.timeout_s)
                return HttpOutcome(error=f"no reply within {request.timeout_s:g} s")
            return http

        async def fetch(url: str) -> Flow:
            raise RuntimeError("no flow service")

        async def transfer(action: a.Transfer) -> TransferOutcome:
            return TransferOutcome("busy")

        async def audio_file(name: str) -> bytes:
            raise FileNotFoundError(name)

        async def recognize(phrases: Mapping[str, str], pcm: Pcm) -> Heard:
            self.heard.append((dict(phrases), len(pcm)))
            assert heard is not None
            return heard

        return FlowHooks(
            save_results,
            save_recording,
            hangup,
            do_http,
            fetch,
            transfer,
            audio_file,
            recognize if heard is not None else None,
        )


def run_of(
    text: str,
    leg: FakeLeg,
    kept: Kept,
    http: HttpOutcome | None = None,
    heard: Heard | None = None,
) -> FlowRun:
    flow = load_flow(text)
    interpreter = Interpreter(flow, {"name": "Ann"}, Session("call-1", 1, "+16175550101"))
    return FlowRun(interpreter, leg, TtsCache(FakeVoice()), kept.hooks(http, heard))


MENU = """
flow: 1
start: hello
steps:
  hello: {type: say, text: "Hello ${name}, this is a long enough greeting to interrupt.", next: ask}
  ask:
    type: menu
    prompt: "Press 1."
    choices: {"1": yes}
    timeout_s: 0.05
    attempts: 2
    then: bye
  yes: {type: result, fields: {confirmed: "yes", who: "${name}"}, next: done}
  bye: {type: result, fields: {confirmed: "no"}, next: done}
  done: {type: hangup}
"""


def test_a_key_during_a_prompt_stops_it_and_answers_the_menu() -> None:
    asyncio.run(_a_key_during_a_prompt_stops_it_and_answers_the_menu())


async def _a_key_during_a_prompt_stops_it_and_answers_the_menu() -> None:
    leg, kept = FakeLeg(), Kept()
    run = run_of(MENU, leg, kept)
    task = asyncio.create_task(run.run())
    await asyncio.sleep(0.05)  # the greeting (about 550 ms) is playing
    leg.keys.put_nowait("1")
    ended = await asyncio.wait_for(task, 2.0)
    assert leg.playbacks[0].done.result() is False  # stopped by the key, not played out
    assert len(leg.played) == 1  # the menu's prompt never played: the key had answered it
    assert kept.results == {"confirmed": "yes", "who": "Ann"}
    assert kept.hangups and not ended.error
    assert [entry["step"] for entry in run.trace] == ["hello", "ask", "yes", "done"]
    assert run.trace[0]["outcome"] != "played"


def test_no_input_plays_the_prompt_again_then_takes_then() -> None:
    asyncio.run(_no_input_plays_the_prompt_again_then_takes_then())


async def _no_input_plays_the_prompt_again_then_takes_then() -> None:
    leg, kept = FakeLeg(), Kept()
    run = run_of(MENU, leg, kept)
    ended = await asyncio.wait_for(run.run(), 2.0)
    assert kept.results == {"confirmed": "no"}
    assert len(leg.played) == 3  # the greeting, the menu, the menu again
    assert all(p.done.result() for p in leg.playbacks)
    assert not ended.error


def test_a_hang_up_mid_prompt_ends_the_flow_and_keeps_the_results() -> None:
    asyncio.run(_a_hang_up_mid_prompt_ends_the_flow_and_keeps_the_results())


async def _a_hang_up_mid_prompt_ends_the_flow_and_keeps_the_results() -> None:
    text = """
flow: 1
start: saved
on: {hangup: gone}
steps:
  saved: {type: result, fields: {reached: "yes"}, next: talk}
  talk: {type: say, text: "A long message the callee will not wait to hear out.", next: done}
  gone: {type: result, fields: {hung_up: "yes"}}
  done: {type: hangup}
"""
    leg, kept = FakeLeg(), Kept()
    run = run_of(text, leg, kept)
    task = asyncio.create_task(run.run())
    await asyncio.sleep(0.01)
    run.hang_up()
    ended = await asyncio.wait_for(task, 2.0)
    assert kept.results == {"reached": "yes", "hung_up": "yes"}
    assert kept.hangups == []  # the callee left: nothing to hang up
    assert leg.playbacks[0].done.result() is False
    assert not ended.error


def test_a_voicemail_verdict_interrupts_and_the_message_waits_for_the_beep() -> None:
    asyncio.run(_a_voicemail_verdict_interrupts_and_the_message_waits_for_the_beep())


async def _a_voicemail_verdict_interrupts_and_the_message_waits_for_the_beep() -> None:
    text = """
flow: 1
start: hello
on: {answeringmachine: beep}
steps:
  hello: {type: say, text: "Hello, are you there? This prompt is long enough.", next: done}
  beep: {type: wait_beep, timeout_s: 5, next: leave}
  leave: {type: say, text: "Message.", next: left}
  left: {type: result, fields: {voicemail: "left", beep: "${beep$.beep}"}, next: done}
  done: {type: hangup}
"""
    leg, kept = FakeLeg(), Kept()
    run = run_of(text, leg, kept)
    task = asyncio.create_task(run.run())
    await asyncio.sleep(0.01)
    run.verdict(CalleeType.ANSWERINGMACHINE, cause="greeting longer than a person's")
    await asyncio.sleep(0.05)
    assert len(leg.played) == 1  # nothing plays while the greeting goes on
    run.greeting_over(beep=True)
    await asyncio.wait_for(task, 2.0)
    assert leg.playbacks[0].done.result() is False  # the hello was cut off
    assert len(leg.played) == 2 and len(leg.played[1]) == 8 * MS_PER_CHAR * len("Message.")
    assert kept.results == {"voicemail": "left", "beep": "true"}


def test_a_failing_prompt_or_http_step_ends_the_flow_with_its_reason() -> None:
    asyncio.run(_a_failing_prompt_or_http_step_ends_the_flow_with_its_reason())


async def _a_failing_prompt_or_http_step_ends_the_flow_with_its_reason() -> None:
    text = """
flow: 1
start: ask
steps:
  ask:
    type: http
    url: "https://example.com/lookup?n=${name}"
    timeout_s: 0.05
    next: say
  say: {type: say, text: "FAIL", next: done}
  done: {type: hangup}
"""
    leg, kept = FakeLeg(), Kept()
    run = run_of(text, leg, kept, http=None)  # the service never answers
    ended = await asyncio.wait_for(run.run(), 2.0)
    assert ended.error and "ask" in ended.reason
    assert kept.requests[0].url == "https://example.com/lookup?n=Ann"
    assert kept.hangups  # never a line left open
    leg2, kept2 = FakeLeg(), Kept()
    run2 = run_of(text, leg2, kept2, http=HttpOutcome(status=200, text="ok"))
    ended2 = await asyncio.wait_for(run2.run(), 2.0)
    assert ended2.error and "engine crashed" in ended2.reason
    assert leg2.played == []


def test_a_recording_takes_the_callee_audio_until_the_key() -> None:
    asyncio.run(_a_recording_takes_the_callee_audio_until_the_key())


async def _a_recording_takes_the_callee_audio_until_the_key() -> None:
    text = """
flow: 1
start: rec
steps:
  rec: {type: record, beep: true, max_s: 5, final_silence_s: 2, next: keep}
  keep: {type: result, fields: {got: "${rec$.recording}", key: "${rec$.termchar}"}, next: done}
  done: {type: hangup}
"""
    leg, kept = FakeLeg(), Kept()
    run = run_of(text, leg, kept)
    task = asyncio.create_task(run.run())
    await asyncio.sleep(0.4)  # the 250 ms beep plays first
    tone = (np.sin(np.arange(160) * 0.3) * 8000).astype("<i2").tobytes()
    for _ in range(50):  # a second of the callee speaking
        leg.frames.put_nowait(AudioFrame(tone, early=False))
    await asyncio.sleep(0.05)
    leg.keys.put_nowait("#")
    await asyncio.wait_for(task, 2.0)
    assert len(leg.played[0]) == 2000  # the beep: 250 ms of µ-law
    [(step, audio, seconds)] = kept.recordings
    assert (step, len(audio), seconds) == ("rec", 8000, 1.0)
    assert kept.results == {"got": "rec-1", "key": "#"}


SPOKEN_MENU = """
flow: 1
start: ask
steps:
  ask:
    type: menu
    prompt: "Press 1 or say yes."
    choices: {"1": yes}
    speech: {"yes": "1"}
    timeout_s: 3
    attempts: 1
    then: bye
  yes:
    type: result
    fields: {answer: "${ask$.value}", mode: "${ask$.inputmode}", heard: "${ask$.utterance}"}
    next: done
  bye: {type: result, fields: {answer: "none"}, next: done}
  done: {type: hangup}
"""


def spoken(word: str, before_s: float = 0.3, after_s: float = 1.0) -> list[AudioFrame]:
    """The callee's 20 ms frames: quiet, ``word`` (the simulated carrier's clip), quiet."""
    pcm = np.concatenate(
        [
            np.zeros(int(8000 * before_s), np.int16),
            simaudio.said(word),
            np.zeros(int(8000 * after_s), np.int16),
        ]
    )
    data = pcm[: len(pcm) // 160 * 160].astype("<i2").tobytes()
    return [AudioFrame(data[i : i + 320], early=False) for i in range(0, len(data), 320)]


def test_a_spoken_answer_is_recognised_and_chooses() -> None:
    asyncio.run(_a_spoken_answer_is_recognised_and_chooses())


async def _a_spoken_answer_is_recognised_and_chooses() -> None:
    leg, kept = FakeLeg(), Kept()
    for frame in spoken("yes"):
        leg.frames.put_nowait(frame)
    run = run_of(SPOKEN_MENU, leg, kept, heard=Heard("yes", "1", 0.8))
    ended = await asyncio.wait_for(run.run(), 5.0)
    assert kept.results == {"answer": "1", "mode": "voice", "heard": "yes"}
    [(phrases, samples)] = kept.heard
    assert phrases == {"yes": "1"}
    assert len(simaudio.said("yes")) < samples < 8000 * 2  # the word, not the whole line
    assert run.trace[0]["outcome"] == "said 'yes': key 1"
    assert leg.readers == 0  # the menu's audio reader was closed
    assert not ended.error


def test_a_spoken_answer_not_recognised_is_a_wrong_input() -> None:
    asyncio.run(_a_spoken_answer_not_recognised_is_a_wrong_input())


async def _a_spoken_answer_not_recognised_is_a_wrong_input() -> None:
    leg, kept = FakeLeg(), Kept()
    run = run_of(SPOKEN_MENU, leg, kept, heard=Heard("", None, 0.0))
    task = asyncio.create_task(run.run())
    await asyncio.sleep(0.3)  # the prompt (190 ms) is over: the menu waits for an answer
    for frame in spoken("maybe"):
        leg.frames.put_nowait(frame)
    ended = await asyncio.wait_for(task, 5.0)
    assert kept.results == {"answer": "none"}
    assert run.trace[0]["outcome"] == "no match after 1 attempts"
    assert len(kept.heard) == 1 and leg.readers == 0
    assert not ended.error


def test_without_a_recogniser_a_menu_reads_no_audio_and_keys_still_work() -> None:
    asyncio.run(_without_a_recogniser_a_menu_reads_no_audio_and_keys_still_work())


async def _without_a_recogniser_a_menu_reads_no_audio_and_keys_still_work() -> None:
    leg, kept = FakeLeg(), Kept()
    run = run_of(SPOKEN_MENU, leg, kept)
    task = asyncio.create_task(run.run())
    await asyncio.sleep(0.05)
    assert leg.readers == 0
    leg.keys.put_nowait("1")
    await asyncio.wait_for(task, 5.0)
    assert kept.results == {"answer": "1", "mode": "dtmf", "heard": "1"}


class SaysYes:
    """A voice whose every prompt is the simulated callee's "yes" (a prompt that can echo)."""

    engine = "espeak-ng"

    def synthesize(self, text: str, voice: str) -> bytes:
        return g711.encode(simaudio.said("yes"))


def test_our_prompt_echoed_back_is_not_taken_for_an_answer() -> None:
    """The line sends our "yes" prompt back, 60 ms late, while the menu listens: at 26 dB down
    it is echo and nothing is recognised; at full level it would be taken for the callee."""
    assert asyncio.run(_echo_of_the_prompt(loss_db=26.0)) == 0
    assert asyncio.run(_echo_of_the_prompt(loss_db=0.0)) == 1


async def _echo_of_the_prompt(loss_db: float) -> int:
    leg, kept = FakeLeg(), Kept()
    flow = load_flow(SPOKEN_MENU.replace("timeout_s: 3", "timeout_s: 0.8"))
    interpreter = Interpreter(flow, {}, Session("call-1", 1, "+16175550101"))
    run = FlowRun(interpreter, leg, TtsCache(SaysYes()), kept.hooks(heard=Heard("yes", "1", 0.8)))
    task = asyncio.create_task(run.run())
    while not leg.played:
        await asyncio.sleep(0.001)
    echo = (simaudio.said("yes") * 10 ** (-loss_db / 20)).astype(np.int16)
    pcm = np.concatenate([np.zeros(480, np.int16), echo, np.zeros(4000, np.int16)])
    data = pcm[: len(pcm) // 160 * 160].astype("<i2").tobytes()
    for at in range(0, len(data), 320):  # as the line brings it: a frame each 20 ms
        leg.frames.put_nowait(AudioFrame(data[at : at + 320], early=False))
        await asyncio.sleep(0.02)
    await asyncio.wait_for(task, 5.0)
    return len(kept.heard)


class Engine:
    """A named fake engine that keeps the (voice, text) of each synthesis."""

    def __init__(self, name: str) -> None:
        self.engine = name
        self.spoken: list[tuple[str, str]] = []

    def synthesize(self, text: str, voice: str) -> bytes:
        self.spoken.append((voice, text))
        return b"\x7f" * 80


def test_a_steps_voice_overrides_the_flows_and_each_engine_speaks_its_own() -> None:
    asyncio.run(_a_steps_voice_overrides_the_flows_and_each_engine_speaks_its_own())


async def _a_steps_voice_overrides_the_flows_and_each_engine_speaks_its_own() -> None:
    text = """
flow: 1
start: hello
voice: flite:slt
steps:
  hello: {type: say, text: "Hello.", next: smooth}
  smooth: {type: say, text: "Smooth.", voice: "festival:us-slt-hts", next: ask}
  ask:
    type: menu
    voice: en-gb
    prompt: {text: "Press 1.", voice: "flite:kal"}
    no_input: ["Again, press 1."]
    choices: {"1": done}
    timeout_s: 0.05
    attempts: 2
    then: done
  done: {type: hangup}
"""
    engines = {name: Engine(name) for name in ("espeak-ng", "flite", "festival")}
    leg, kept = FakeLeg(), Kept()
    interpreter = Interpreter(load_flow(text), {}, Session("call-1", 1, "+16175550101"))
    run = FlowRun(interpreter, leg, TtsCache(engines), kept.hooks())
    ended = await asyncio.wait_for(run.run(), 2.0)
    assert not ended.error
    assert engines["flite"].spoken == [("slt", "Hello."), ("kal", "Press 1.")]
    assert engines["festival"].spoken == [("us-slt-hts", "Smooth.")]
    assert engines["espeak-ng"].spoken == [("en-gb", "Again, press 1.")]
    assert len(leg.played) == 4
