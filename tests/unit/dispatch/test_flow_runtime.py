"""The dialer's flow runtime shares syntheses: calls ringing together, and a call that answers
while its prompts are still being synthesised, wait for the one synthesis in progress. Its
recognition pool makes menus' grammars ready while the phone rings, and recognises answers."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from typing import cast

import pytest

from outdial.dispatch.flows import WARM_DECODES, WARM_SAMPLES, FlowRuntime
from outdial.flow.document import load_flow
from outdial.flow.driver import Heard
from outdial.flow.tts import TtsCache, TtsError
from outdial.flow.utterance import Pcm
from outdial.speech.pool import RecognitionPool
from outdial.speech.recognizer import Recognition
from outdial.store.store import Store
from outdial.telephony import simaudio


class SlowVoice:
    engine = "espeak-ng"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def synthesize(self, text: str, voice: str) -> bytes:
        with self._lock:
            self.calls.append(text)
        time.sleep(0.05)
        if text == "broken":
            raise TtsError("tts: espeak-ng failed")
        return text.encode() * 10


def runtime(voice: SlowVoice) -> FlowRuntime:
    no_store = cast(Store, object())  # speech never touches the store
    return FlowRuntime(no_store, TtsCache(voice), asyncio.to_thread)


def test_calls_ringing_together_share_one_synthesis_per_prompt() -> None:
    async def scenario() -> tuple[list[bytes], list[str]]:
        voice = SlowVoice()
        flows = runtime(voice)
        ringing = [flows._synthesize([("en-us", "hello"), ("en-us", "bye")]) for _ in range(20)]
        await asyncio.gather(*ringing)
        answered = await asyncio.gather(*(flows.speech("hello", "en-us") for _ in range(5)))
        return answered, voice.calls

    answered, calls = asyncio.run(scenario())
    assert sorted(calls) == ["bye", "hello"]
    assert answered == [b"hello" * 10] * 5


def test_an_answer_during_the_synthesis_waits_for_it_instead_of_starting_another() -> None:
    async def scenario() -> tuple[bytes, list[str]]:
        voice = SlowVoice()
        flows = runtime(voice)
        ringing = asyncio.create_task(flows._synthesize([("en-us", "hello")]))
        await asyncio.sleep(0.01)  # answered while espeak-ng still runs
        audio = await flows.speech("hello", "en-us")
        await ringing
        return audio, voice.calls

    audio, calls = asyncio.run(scenario())
    assert (audio, calls) == (b"hello" * 10, ["hello"])


def test_a_failed_synthesis_is_raised_when_the_prompt_is_played() -> None:
    async def scenario() -> None:
        flows = runtime(SlowVoice())
        await flows._synthesize([("en-us", "broken")])  # logged while ringing, not raised
        await flows.speech("broken", "en-us")

    with pytest.raises(TtsError, match="espeak-ng failed"):
        asyncio.run(scenario())


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://0x7f000001:8000/", "127.0.0.1 is a loopback address"),
        ("http://localhost:8000/", "'localhost' is a local name"),
    ],
)
def test_an_http_step_pointing_inside_gets_an_error_and_sends_nothing(url: str, error: str) -> None:
    from outdial.flow import actions as a

    async def scenario() -> str | None:
        flows = runtime(SlowVoice())
        try:
            outcome = await flows._http(a.HttpRequest("r1", "GET", url, {}, None, 2.0))
        finally:
            await flows.close()
        assert outcome.status is None
        return outcome.error

    assert asyncio.run(scenario()) == f"url: may not point inside: {error}"


class CountingPool(RecognitionPool):
    """The real pool (worker processes, pocketsphinx), counting what it is asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[dict[str, str], int]] = []

    async def recognize(
        self, phrases: Mapping[str, str], pcm: Pcm, *, threshold: float | None = None
    ) -> Recognition:
        self.asked.append((dict(phrases), len(pcm)))
        return await super().recognize(phrases, pcm, threshold=threshold)


SPOKEN = """
flow: 1
start: ask
steps:
  ask: {type: menu, prompt: "Say yes.", choices: {"1": done}, speech: {"yes": "1"}}
  again: {type: menu, prompt: "Say yes.", choices: {"1": done}, speech: {"yes": "1"}, next: done}
  keys: {type: menu, prompt: "Press 1.", choices: {"1": done}}
  done: {type: hangup}
"""


def test_menu_grammars_are_made_ready_while_ringing_once_and_answers_recognised() -> None:
    async def scenario() -> tuple[list[tuple[dict[str, str], int]], Heard]:
        pool = CountingPool()
        store, tts = cast(Store, object()), TtsCache(SlowVoice())
        flows = FlowRuntime(store, tts, asyncio.to_thread, recognition=pool)
        flow = load_flow(SPOKEN)
        for _ in range(3):  # three calls ring: the grammar is made ready once
            flows._warm_recognition(flow)
        while flows._warming:
            await asyncio.sleep(0.01)
        warmed = list(pool.asked)
        heard = await flows.recognize({"yes": "1"}, simaudio.said("yes"))
        await flows.close()
        return warmed, heard

    warmed, heard = asyncio.run(scenario())
    assert warmed == [({"yes": "1"}, WARM_SAMPLES)] * WARM_DECODES
    assert (heard.text, heard.key) == ("yes", "1")


def test_an_answered_calls_prompt_does_not_queue_behind_ringing_calls_syntheses() -> None:
    """Ten ringing calls queue ten prompts for the ringing threads (two at a time, 50 ms each):
    the prompt an answered call needs now is synthesised at once, not after them, and the
    ringing call that had it queued finds it done."""

    async def scenario() -> tuple[list[str], bytes]:
        voice = SlowVoice()
        flows = runtime(voice)
        ringing = [
            asyncio.create_task(
                flows._synthesize([("en-us", f"greeting {i}"), ("en-us", "thanks")])
            )
            for i in range(10)
        ]
        await asyncio.sleep(0.01)  # two greetings running, eight queued
        audio = await flows.speech("greeting 9", "en-us")
        await asyncio.gather(*ringing)
        return voice.calls, audio

    calls, audio = asyncio.run(scenario())
    assert audio == b"greeting 9" * 10
    assert calls.index("greeting 9") <= 3  # started third or fourth, not tenth
    assert sorted(calls) == sorted([f"greeting {i}" for i in range(10)] + ["thanks"])
