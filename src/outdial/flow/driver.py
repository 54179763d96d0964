"""The flow driver: one per answered call, it runs an :class:`Interpreter` against a leg.

The interpreter decides; the driver does. It owns the clock (``at_ms`` from answer), the timers,
playback (text to speech through the shared cache), the callee's keys, recordings, HTTP
requests, transfers and flow fetches, and turns each outcome back into an event. What the
dialer must keep (results, recordings, the hang-up itself) goes through :class:`FlowHooks`, so
this module knows no store and no dialer.

A menu with ``speech`` asks the driver to listen (:class:`~outdial.flow.actions.Listen`): the
driver reads the callee's audio through an :class:`~outdial.flow.utterance.Endpointer`, tells
the flow when an utterance starts, has each utterance recognised by the ``recognize`` hook
(off the event loop: the hook's business) and feeds the result as a ``Speech`` event, until the
menu ends (:class:`~outdial.flow.actions.StopListen`); then its audio reader is closed.

Detection reaches the flow through :meth:`FlowRun.verdict` and :meth:`FlowRun.greeting_over`
(the dialer's ``Listening`` calls them); the end of the call through :meth:`FlowRun.hang_up`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from outdial.audio.g711 import ulaw_decode
from outdial.calls import CalleeType
from outdial.flow import actions as a
from outdial.flow import events as e
from outdial.flow.document import Flow
from outdial.flow.interpreter import Interpreter
from outdial.flow.recorder import Recorder, beep_ulaw
from outdial.flow.steps import JsonValue, Scalar
from outdial.flow.tts import TtsCache, TtsError
from outdial.flow.utterance import EchoReference, Endpointer, Pcm, Started, Utterance
from outdial.telephony.carrier import AudioFrame, Playback, close_audio

log = logging.getLogger(__name__)

DTMF_PAUSE_S = 0.5  # seconds a "," in send_dtmf waits
HANGUP_GRACE_S = 10.0  # seconds the flow may still run (result, http steps) after a hang-up


class FlowLeg(Protocol):
    """What a flow needs from the call it runs on (every carrier's legs have it)."""

    def play_prompt(self, ulaw: bytes) -> Playback: ...

    def digits(self) -> AsyncIterator[str]: ...

    def audio(self) -> AsyncIterator[AudioFrame]: ...

    async def send_dtmf(self, digits: str) -> None: ...


@dataclass(frozen=True, slots=True)
class HttpOutcome:
    status: int | None = None
    json: JsonValue = None
    text: str = ""
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    outcome: e.TransferOutcome
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Heard:
    """What the recogniser made of an utterance: ``key`` the menu key of the phrase it matched
    (None: no match), ``text`` what it heard (``""``: nothing), ``confidence`` 0 to 1."""

    text: str
    key: str | None
    confidence: float


@dataclass(frozen=True, slots=True)
class FlowHooks:
    """What the dialer does for a flow: keep what it gathers, reach the outside world."""

    save_results: Callable[[Mapping[str, Scalar]], Awaitable[object]]
    # (step, µ-law audio, seconds) -> the recording's ID
    save_recording: Callable[[str, bytes, float], Awaitable[str]]
    hangup: Callable[[str], Awaitable[None]]
    http: Callable[[a.HttpRequest], Awaitable[HttpOutcome]]
    fetch_flow: Callable[[str], Awaitable[Flow]]
    transfer: Callable[[a.Transfer], Awaitable[TransferOutcome]]
    audio_file: Callable[[str], Awaitable[bytes]]  # an application's audio prompt, µ-law
    # (phrases: phrase -> key, 8 kHz samples) -> what was said; None: menus take keys only
    recognize: Callable[[Mapping[str, str], Pcm], Awaitable[Heard]] | None = None


class FlowRun:
    """One flow on one answered call. ``run()`` returns when the flow has ended."""

    def __init__(
        self,
        interpreter: Interpreter,
        leg: FlowLeg,
        tts: TtsCache,
        hooks: FlowHooks,
        *,
        answered_at: float | None = None,
        speak: Callable[[str, str], Awaitable[bytes]] | None = None,
    ) -> None:
        self.interpreter = interpreter
        self._leg = leg
        self._tts = tts
        self._hooks = hooks
        self._speak = speak  # shares syntheses with other calls; default: the cache here
        self._loop = asyncio.get_running_loop()
        self._answered_at = self._loop.time() if answered_at is None else answered_at
        self._events: asyncio.Queue[e.Event] = asyncio.Queue()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._playing: dict[str, Playback] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._recorder: Recorder | None = None
        self._listening: dict[str, asyncio.Task[None]] = {}  # listen_id -> its task
        self._sent = EchoReference()  # our prompts, so their echo is not taken for an answer
        self._line_up = True

    # -- what the dialer tells the flow -----------------------------------------------------

    def now_ms(self) -> int:
        return max(0, round((self._loop.time() - self._answered_at) * 1000))

    def verdict(self, callee_type: CalleeType, *, revised: bool = False, cause: str = "") -> None:
        self._events.put_nowait(e.Verdict(callee_type, revised, cause, at_ms=self.now_ms()))

    def greeting_over(self, beep: bool) -> None:
        """The voicemail greeting ended: its beep ended (``beep``) or it fell silent."""
        self._events.put_nowait(e.BeepEnd(beep, at_ms=self.now_ms()))

    def hang_up(self) -> None:
        """The callee hung up (the leg ended)."""
        if self._line_up:
            self._line_up = False
            self._events.put_nowait(e.HangUp(at_ms=self.now_ms()))

    @property
    def trace(self) -> list[dict[str, object]]:
        return [entry.as_dict() for entry in self.interpreter.trace]

    # -- running ----------------------------------------------------------------------------

    async def run(self) -> a.Ended:
        """Run the flow to its end; never raises for a failure of the flow itself."""
        digits = self._spawn(self._read_digits(), "flow-digits")
        try:
            actions = self.interpreter.start(self.now_ms())
            while True:
                for action in actions:
                    await self._do(action)
                if self.interpreter.ended is not None:
                    return self.interpreter.ended
                event = await self._events.get()
                actions = self.interpreter.feed(event)
        except Exception as error:  # a hook failed (the store out of reach): end the call
            log.exception("the flow failed at step %s", self.interpreter.current_step)
            with contextlib.suppress(Exception):
                await self._hang_up(f"flow error: {error}")
            return a.Ended(f"flow error at step {self.interpreter.current_step}: {error}", True)
        finally:
            digits.cancel()
            await self._stop_everything()

    async def _do(self, action: a.Action) -> None:
        if isinstance(action, a.Play):
            await self._play(action)
        elif isinstance(action, a.StopPlay):
            playback = self._playing.pop(action.play_id, None)
            if playback is not None:
                playback.stop()
        elif isinstance(action, a.StartTimer):
            self._start_timer(action)
        elif isinstance(action, a.CancelTimer):
            handle = self._timers.pop(action.timer_id, None)
            if handle is not None:
                handle.cancel()
        elif isinstance(action, a.SendDtmf):
            self._spawn(self._send_dtmf(action.digits), "flow-dtmf")
        elif isinstance(action, a.SetResult):
            await self._hooks.save_results(action.fields)
        elif isinstance(action, a.HttpRequest):
            self._spawn(self._http(action), "flow-http")
        elif isinstance(action, a.FetchFlow):
            self._spawn(self._fetch(action), "flow-fetch")
        elif isinstance(action, a.Transfer):
            self._spawn(self._transfer(action), "flow-transfer")
        elif isinstance(action, a.Record):
            self._spawn(self._record(action), "flow-record")
        elif isinstance(action, a.StopRecord):
            if self._recorder is not None and self._recorder.record_id == action.record_id:
                self._recorder.stop("")
        elif isinstance(action, a.Listen):
            self._listen(action)
        elif isinstance(action, a.StopListen):
            listening = self._listening.pop(action.listen_id, None)
            if listening is not None:
                listening.cancel()
        elif isinstance(action, a.Hangup):
            await self._hang_up(action.reason)
        elif isinstance(action, a.Warn):
            log.warning("flow step %s: %s", action.step, action.message)
        elif isinstance(action, a.Ended):
            log.debug("flow ended: %s", action.reason)

    async def _hang_up(self, reason: str) -> None:
        """End the call from our side, once; nothing to do when the callee already left."""
        if self._line_up:
            self._line_up = False
            await self._hooks.hangup(reason)

    # -- prompts ----------------------------------------------------------------------------

    async def _play(self, action: a.Play) -> None:
        try:
            if action.text is not None:
                audio = await self._synthesize(action.text, action.voice)
            else:
                assert action.audio is not None
                audio = await self._hooks.audio_file(action.audio)
        except Exception as error:  # TTS down, a file missing: the step's error path
            reason = (
                str(error) if isinstance(error, TtsError) else f"{type(error).__name__}: {error}"
            )
            self._put(e.PlayFailed(action.play_id, reason, at_ms=self.now_ms()))
            return
        if not self._line_up:
            self._put(e.PromptFinished(action.play_id, at_ms=self.now_ms()))
            return
        playback = self._leg.play_prompt(audio)
        self._playing[action.play_id] = playback
        self._sent.play(self._loop.time(), ulaw_decode(audio))

        def finished(_: object) -> None:
            self._sent.stop(self._loop.time())
            if self._playing.get(action.play_id) is playback:
                del self._playing[action.play_id]
                self._put(e.PromptFinished(action.play_id, at_ms=self.now_ms()))

        playback.done.add_done_callback(finished)

    async def _synthesize(self, text: str, voice: str) -> bytes:
        if self._speak is not None:
            return await self._speak(text, voice)
        if self._tts.cached(text, voice):
            return self._tts.get(text, voice)
        return await asyncio.to_thread(self._tts.get, text, voice)

    # -- keys, timers -----------------------------------------------------------------------

    async def _read_digits(self) -> None:
        async for key in self._leg.digits():
            if self._recorder is not None and self._recorder.takes_key(key):
                continue
            self._put(e.Digit(key, at_ms=self.now_ms()))

    def _start_timer(self, action: a.StartTimer) -> None:
        old = self._timers.pop(action.timer_id, None)
        if old is not None:
            old.cancel()

        def fire() -> None:
            self._timers.pop(action.timer_id, None)
            self._put(e.TimerFired(action.timer_id, at_ms=self.now_ms()))

        self._timers[action.timer_id] = self._loop.call_later(max(0.0, action.seconds), fire)

    async def _send_dtmf(self, digits: str) -> None:
        for part in digits.split(","):
            if part:
                await self._leg.send_dtmf(part)
            await asyncio.sleep(DTMF_PAUSE_S)

    # -- spoken answers ---------------------------------------------------------------------

    def _listen(self, action: a.Listen) -> None:
        if self._hooks.recognize is None or not self._line_up or not action.phrases:
            return  # no recogniser here: the menu takes keys only
        task = self._spawn(self._hear(action), f"flow-listen-{action.listen_id}")
        self._listening[action.listen_id] = task
        task.add_done_callback(lambda _: self._listening.pop(action.listen_id, None))

    async def _hear(self, action: a.Listen) -> None:
        """Endpoint the callee's audio and have each utterance recognised, until cancelled
        (StopListen) or the audio ends; the audio reader is closed either way."""
        frames = self._leg.audio()
        endpointer = Endpointer()
        try:
            async for frame in frames:
                if frame.early:
                    continue
                said = endpointer.feed(frame.samples, self._sent.level(self._loop.time()))
                if isinstance(said, Started):
                    self._put(e.SpeechStarted(action.listen_id, at_ms=self.now_ms()))
                elif isinstance(said, Utterance):
                    await self._recognize(action, said)
        except asyncio.CancelledError:
            raise
        except Exception:  # listening failing must not fail the call: keys still work
            log.exception("listening for speech at step %s failed", self.interpreter.current_step)
        finally:
            await close_audio(frames)

    async def _recognize(self, action: a.Listen, utterance: Utterance) -> None:
        assert self._hooks.recognize is not None
        try:
            heard = await self._hooks.recognize(action.phrases, utterance.pcm)
        except Exception as error:  # an utterance not understood: the menu's no-match path
            log.warning("speech recognition failed: %s: %s", type(error).__name__, error)
            heard = Heard("", None, 0.0)
        log.debug(  # not what was said: a private step's answers stay out of the logs
            "an utterance of %d ms: key %s, confidence %.2f",
            utterance.duration_ms,
            heard.key,
            heard.confidence,
        )
        speech = e.Speech(
            heard.text, heard.key, heard.confidence, action.listen_id, at_ms=self.now_ms()
        )
        self._put(speech)

    # -- the outside world ------------------------------------------------------------------

    async def _http(self, action: a.HttpRequest) -> None:
        try:
            got = await self._hooks.http(action)
        except Exception as error:
            got = HttpOutcome(error=f"{type(error).__name__}: {error}")
        self._put(
            e.HttpReply(
                action.request_id,
                got.status,
                got.json,
                got.text,
                got.error,
                at_ms=self.now_ms(),
            )
        )

    async def _fetch(self, action: a.FetchFlow) -> None:
        try:
            flow = await self._hooks.fetch_flow(action.url)
        except Exception as error:
            self._put(e.FlowFetched(action.request_id, None, str(error), at_ms=self.now_ms()))
        else:
            self._put(e.FlowFetched(action.request_id, flow, at_ms=self.now_ms()))

    async def _transfer(self, action: a.Transfer) -> None:
        try:
            got = await self._hooks.transfer(action)
        except Exception as error:
            log.warning("transfer to %s failed: %s", action.to, error)
            got = TransferOutcome("failed")
        self._put(e.TransferEnded(got.outcome, got.duration_s, at_ms=self.now_ms()))

    async def _record(self, action: a.Record) -> None:
        recorder = Recorder(action)
        self._recorder = recorder
        try:
            if action.beep and self._line_up:
                await self._leg.play_prompt(beep_ulaw()).done
            audio_task = self._spawn(recorder.listen(self._leg.audio()), "flow-record-audio")
            termchar = await recorder.finished(self._loop, lambda: self._line_up)
            audio_task.cancel()
            ulaw, seconds = recorder.take()
            recording = ""
            if ulaw:
                recording = await self._hooks.save_recording(
                    self.interpreter.current_step or "record", ulaw, seconds
                )
        except Exception as error:
            log.warning("recording failed: %s", error)
            termchar, seconds, recording = "", 0.0, ""
        finally:
            if self._recorder is recorder:
                self._recorder = None
        self._put(
            e.RecordingEnded(action.record_id, termchar, seconds, recording, at_ms=self.now_ms())
        )

    # -- bookkeeping ------------------------------------------------------------------------

    def _put(self, event: e.Event) -> None:
        self._events.put_nowait(event)

    def _spawn(self, work: Awaitable[None], name: str) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _stop_everything(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for playback in self._playing.values():
            playback.stop()
        self._playing.clear()
        if self._recorder is not None:
            self._recorder.stop("")
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
