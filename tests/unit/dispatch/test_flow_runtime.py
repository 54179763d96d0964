"""The dialer's flow runtime shares syntheses: calls ringing together, and a call that answers
while its prompts are still being synthesised, wait for the one synthesis in progress."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import cast

import pytest

from outdial.dispatch.flows import FlowRuntime
from outdial.flow.tts import TtsCache, TtsError
from outdial.store.store import Store


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
