"""Call flows on the dialer's calls (SPEC §7, FLOWS.md).

``FlowRuntime.prepare`` runs while the phone rings: it finds the flow the call will run (the
deployment's flow URL, else the application's newest stored version), and synthesises the
prompts already known so that none waits on text to speech after the answer. ``start`` builds
the call's :class:`~outdial.flow.driver.FlowRun` on answer, with hooks that keep results and
recordings in the store and reach the user's web services, and recognise the callee's spoken
answers to menus (one :class:`~outdial.speech.pool.RecognitionPool` of worker threads for the
dialer, so recognition never blocks the event loop).
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from outdial.calls import CallEvent
from outdial.dispatch.transfer import transfer_call
from outdial.dispatch.webhooks import SIGNATURE_HEADER, sign
from outdial.errors import InvalidField
from outdial.flow import actions as a
from outdial.flow.context import Session
from outdial.flow.document import Flow, load_flow
from outdial.flow.driver import (
    FlowHooks,
    FlowLeg,
    FlowRun,
    Heard,
    HttpOutcome,
    TransferOutcome,
)
from outdial.flow.engines import default_cache
from outdial.flow.interpreter import Interpreter
from outdial.flow.prompts import prompts_known_at_claim
from outdial.flow.steps import JsonValue, MenuStep, Scalar
from outdial.flow.tts import TtsCache, parse_voice
from outdial.flow.utterance import Pcm
from outdial.options import parse_result_url
from outdial.outbound.client import OutboundClient, OutboundError, Reply
from outdial.outbound.policy import UrlPolicy
from outdial.speech.pool import RecognitionPool
from outdial.store.store import Claim, Store
from outdial.telephony.carrier import AudioFrame, Carrier, Leg, Playback

log = logging.getLogger(__name__)

T = TypeVar("T")
FLOW_CACHE_S = 2.0  # seconds a stored flow version is reused before the store is asked again
FLOW_URL_TIMEOUT_S = 3.0  # seconds the user's flow service has to answer, while the phone rings
MAX_HTTP_BODY = 1024 * 1024  # bytes of an http step's reply kept
MAX_FLOW_BYTES = 256 * 1024  # bytes of a fetched flow
WARM_DECODES = 2  # decodes that make a grammar ready: one per thread of RecognitionPool's default
WARM_SAMPLES = 1600  # 200 ms of silence at 8 kHz
# Threads synthesising ringing calls' prompts (one a core here): a slow voice's backlog
# (festival: ~0.4 s a sentence) neither fills the default executor, which the store's calls
# and answered calls' prompts use, nor makes an answered call's prompt queue behind it.
RINGING_THREADS = 2


@dataclass(frozen=True, slots=True)
class _Synthesis:
    future: asyncio.Future[None]
    started: threading.Event  # set once a thread runs it: waiting for it is then the quickest


@dataclass(frozen=True, slots=True)
class PreparedFlow:
    flow: Flow
    version: int | None  # the stored version, None for a fetched flow
    params: dict[str, str]
    session: Session
    synthesis: asyncio.Task[None] | None  # prompts being synthesised while the phone rings


class FlowRuntime:
    """Flows for one dialer: stored flows (cached briefly), fetched ones, TTS, HTTP."""

    def __init__(
        self,
        store: Store,
        tts: TtsCache,
        run_in_thread: Callable[..., Awaitable[Any]],
        url_policy: UrlPolicy | None = None,
        *,
        recognition: RecognitionPool | None = None,
    ) -> None:
        self.store = store
        self.tts = tts
        self._thread = run_in_thread
        # Menus' spoken answers; its threads start with the first utterance.
        self.recognition = recognition if recognition is not None else RecognitionPool()
        self._warmed: set[tuple[tuple[str, str], ...]] = set()  # grammars made ready
        self._warming: set[asyncio.Future[Any]] = set()
        self._stored: dict[int, tuple[float, int | None]] = {}  # app -> (checked at, version)
        self._parsed: dict[tuple[int, int], Flow] = {}
        self._url_policy = url_policy or UrlPolicy()
        self._client: OutboundClient | None = None
        # (engine, voice, text) -> the synthesis in progress
        self._synthesizing: dict[tuple[str, str, str], _Synthesis] = {}
        self._ringing: ThreadPoolExecutor | None = None

    @classmethod
    def default(
        cls, store: Store, tts_cache: Path | None = None, url_policy: UrlPolicy | None = None
    ) -> FlowRuntime:
        """Every TTS engine (espeak-ng, flite, festival) behind a cache (kept in ``tts_cache``
        when given); store calls in threads; the user's web services reached under
        ``url_policy``."""
        return cls(store, default_cache(tts_cache), asyncio.to_thread, url_policy)

    @property
    def client(self) -> OutboundClient:
        """Flow URLs, goto and http steps: only allowed addresses, no redirects, capped."""
        if self._client is None:
            self._client = OutboundClient(self._url_policy)
        return self._client

    async def close(self) -> None:
        for warm in list(self._warming):
            warm.cancel()
        self.recognition.close()
        if self._client is not None:
            await self._client.aclose()
        if self._ringing is not None:
            self._ringing.shutdown(wait=False, cancel_futures=True)

    async def recognize(self, phrases: Mapping[str, str], pcm: Pcm) -> Heard:
        """A menu's spoken answer, recognised in a worker thread against its phrases."""
        got = await self.recognition.recognize(phrases, pcm)
        return Heard(got.text, got.key, got.confidence)

    # -- while the phone rings --------------------------------------------------------------

    def may_have_flow(self, claim: Claim) -> bool:
        """False when the call's application is known (within FLOW_CACHE_S) to have no flow and
        its deployment no flow URL: such a call needs no flow machinery at all."""
        if claim.flow_url:
            return True
        checked = self._stored.get(claim.application_id)
        if checked is None or time.monotonic() - checked[0] > FLOW_CACHE_S:
            return True
        return checked[1] is not None

    async def prepare(self, claim: Claim) -> PreparedFlow | None:
        """The flow this call runs on answer, its prompts being synthesised; None: no flow."""
        params = _params(claim.call_parameters)
        session = Session(claim.call_id, claim.attempt, claim.phone_number, claim.caller_id or "")
        flow: Flow | None = None
        version: int | None = None
        if claim.flow_url:
            try:
                flow = await self._fetch_for_call(claim, params)
            except Exception as error:
                log.warning("flow URL of call %s failed: %s", claim.call_id, error)
                detail = error.message if isinstance(error, InvalidField) else f"flow_url: {error}"
                await self._event(claim, CallEvent.FLOW_FAILED, detail)
        if flow is None:
            found = await self._stored_flow(claim.application_id)
            if found is not None:
                version, flow = found
        if flow is None:
            return None
        self._warm_recognition(flow)
        known = prompts_known_at_claim(flow, params, session)
        synthesis = (
            asyncio.create_task(self._synthesize(known), name=f"tts-{claim.call_id}")
            if known
            else None
        )
        return PreparedFlow(flow, version, params, session, synthesis)

    def _warm_recognition(self, flow: Flow) -> None:
        """Make ready, while the phone rings, the recognisers of the flow's menus with
        ``speech``: a worker thread's first decoder of a grammar loads the model (about 0.35 s
        here), which the callee's first spoken answer would otherwise wait for. Once per grammar
        for the dialer; one short decode of silence per worker thread."""
        for step in flow.steps.values():
            if not isinstance(step, MenuStep) or not step.speech:
                continue
            grammar = tuple(sorted(step.speech.items()))
            if grammar in self._warmed:
                continue
            self._warmed.add(grammar)
            for _ in range(WARM_DECODES):
                warm = asyncio.ensure_future(
                    self.recognition.recognize(step.speech, np.zeros(WARM_SAMPLES, np.int16))
                )
                self._warming.add(warm)
                warm.add_done_callback(self._warmed_up)

    def _warmed_up(self, warm: asyncio.Future[Any]) -> None:
        self._warming.discard(warm)
        if not warm.cancelled() and warm.exception() is not None:
            log.warning("a menu's recogniser could not be made ready: %s", warm.exception())

    async def _synthesize(self, prompts: list[tuple[str, str]]) -> None:
        """Synthesise a ringing call's prompts, each once however many calls ring with it:
        calls claimed together (a campaign's first 200 lines) share one synthesis of each
        prompt instead of running the engine (espeak-ng and sox, flite, festival) once per
        call."""
        for voice, text in prompts:
            if not self.tts.cached(text, voice):
                await asyncio.shield(self._shared(text, voice))  # a call that ends stops
                # waiting, not the synthesis

    def _shared(self, text: str, voice: str, *, now: bool = False) -> asyncio.Future[None]:
        """The synthesis of ``text`` in progress, or a new one (errors logged, not raised).
        ``en-us`` and ``espeak-ng:en-us`` are one voice, so one synthesis.

        Ringing calls' syntheses queue for RINGING_THREADS threads of their own. A prompt
        needed ``now`` (an answered call's) never waits in that queue: one still queued is
        synthesised at once on the default executor (the queued one then finds it cached),
        one already running is waited for."""
        key = (*parse_voice(voice), text)
        pending = self._synthesizing.get(key)
        if pending is not None and (not now or pending.started.is_set()):
            return pending.future
        started = threading.Event()
        future: asyncio.Future[None]
        if now:
            started.set()
            future = asyncio.ensure_future(
                asyncio.to_thread(self._synthesize_now, text, voice, started)
            )
        else:
            future = asyncio.get_running_loop().run_in_executor(
                self._ringing_pool(), self._synthesize_now, text, voice, started
            )
        self._synthesizing[key] = _Synthesis(future, started)
        future.add_done_callback(functools.partial(self._synthesized, key))
        return future

    async def speech(self, text: str, voice: str) -> bytes:
        """A prompt's audio for a call's flow: from the cache, or from the synthesis already
        running since the phone rang (never a second synthesis of the same prompt)."""
        if not self.tts.cached(text, voice):
            await asyncio.shield(self._shared(text, voice, now=True))
        if self.tts.cached(text, voice):
            return self.tts.get(text, voice)
        return await asyncio.to_thread(self.tts.get, text, voice)  # raises what failed

    def _synthesized(self, key: tuple[str, str, str], future: asyncio.Future[None]) -> None:
        pending = self._synthesizing.get(key)
        if pending is not None and pending.future is future:
            del self._synthesizing[key]

    def _synthesize_now(self, text: str, voice: str, started: threading.Event) -> None:
        started.set()
        try:
            self.tts.get(text, voice)  # from the cache when a prompt needed now was first
        except Exception as error:  # the prompt fails again when played, on the step's path
            log.warning("text to speech failed while ringing: %s", error)

    def _ringing_pool(self) -> ThreadPoolExecutor:
        if self._ringing is None:
            self._ringing = ThreadPoolExecutor(RINGING_THREADS, thread_name_prefix="tts-ringing")
        return self._ringing

    async def _stored_flow(self, application_id: int) -> tuple[int, Flow] | None:
        now = time.monotonic()
        checked = self._stored.get(application_id)
        if checked is None or now - checked[0] > FLOW_CACHE_S:
            current = await self._thread(self.store.current_flow, application_id)
            version = None if current is None else current.version
            self._stored[application_id] = (now, version)
            if current is not None and (application_id, current.version) not in self._parsed:
                self._parsed[(application_id, current.version)] = load_flow(current.source)
        else:
            version = checked[1]
        if version is None:
            return None
        return version, self._parsed[(application_id, version)]

    async def _fetch_for_call(self, claim: Claim, params: dict[str, str]) -> Flow | None:
        assert claim.flow_url is not None
        body = json.dumps(
            {
                "call_id": claim.call_id,
                "attempt": claim.attempt,
                "phone_number": claim.phone_number,
                "caller_id": claim.caller_id,
                "application_id": claim.application_id,
                "deployment_id": claim.deployment_id,
                "call_parameters": json.loads(claim.call_parameters or "{}"),
            }
        ).encode()
        secret = await self._thread(self.store.deployment_secret, claim.deployment_id)
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
        reply = await self.client.request(
            "POST",
            claim.flow_url,
            field="flow_url",
            content=body,
            headers=headers,
            timeout=FLOW_URL_TIMEOUT_S,
            max_bytes=MAX_FLOW_BYTES,
        )
        if reply.status == 204:
            return None
        return _flow_in(reply, claim.flow_url)

    # -- on answer --------------------------------------------------------------------------

    def start(
        self,
        prepared: PreparedFlow,
        claim: Claim,
        leg: Leg,
        carrier: Carrier,
        hangup: Callable[[str], Awaitable[None]],
        on_playing: Callable[[bool], None] | None = None,
    ) -> FlowRun:
        """The flow's run on the answered ``leg``; ``on_playing`` hears when prompts start
        and stop playing (detection listens to the callee differently meanwhile)."""
        interpreter = Interpreter(prepared.flow, prepared.params, prepared.session)

        async def save_results(fields: Mapping[str, Scalar]) -> None:
            await self._thread(self.store.merge_results, claim.call_pk, dict(fields))

        async def save_recording(step: str, audio: bytes, seconds: float) -> str:
            return str(
                await self._thread(
                    self.store.save_recording, claim.call_pk, claim.attempt, step, audio, seconds
                )
            )

        async def transfer(action: a.Transfer) -> TransferOutcome:
            return await transfer_call(carrier, leg, action, claim)

        hooks = FlowHooks(
            save_results=save_results,
            save_recording=save_recording,
            hangup=hangup,
            http=self._http,
            fetch_flow=self._fetch_flow,
            transfer=transfer,
            audio_file=lambda name: self._audio_prompt(claim.application_id, name),
            recognize=self.recognize,
        )
        flow_leg: FlowLeg = leg if on_playing is None else PromptTelling(leg, on_playing)
        return FlowRun(interpreter, flow_leg, self.tts, hooks, speak=self.speech)

    async def finish(
        self, run: FlowRun, claim: Claim, prepared: PreparedFlow, ended: a.Ended | None
    ) -> None:
        """Keep the attempt's trace (the flow has ended, or was stopped: ``ended`` None)."""
        await self._thread(
            self.store.record_flow_trace, claim.call_pk, claim.attempt, prepared.version, run.trace
        )
        if ended is not None and ended.error:
            await self._event(claim, CallEvent.FLOW_FAILED, ended.reason)

    async def _event(self, claim: Claim, event: CallEvent, detail: str) -> None:
        try:
            await self._thread(self.store.add_call_event, claim.call_pk, event, detail[:500])
        except Exception:
            log.exception("could not record %s of call %s", event, claim.call_id)

    async def _audio_prompt(self, application_id: int, name: str) -> bytes:
        audio = await self._thread(self.store.audio_prompt, application_id, name)
        if audio is None:
            raise FileNotFoundError(
                f"audio prompt {name!r}: the application has none by that name "
                "(outdial app audio, or PUT /api/apps/{app}/audio/{name})"
            )
        return bytes(audio)

    # -- the user's web services ------------------------------------------------------------

    async def _http(self, action: a.HttpRequest) -> HttpOutcome:
        try:
            parse_result_url(action.url, "url")  # the rules result callbacks follow
            reply = await self.client.request(
                action.method,
                action.url,
                headers=dict(action.headers),
                content=action.body.encode() if action.body is not None else None,
                timeout=action.timeout_s,
                max_bytes=MAX_HTTP_BODY,
            )
        except InvalidField as error:
            return HttpOutcome(error=error.message)
        except OutboundError as error:
            return HttpOutcome(error=error.message)
        text = _text(reply)
        try:
            body: JsonValue = (
                json.loads(text) if "json" in reply.headers.get("content-type", "") else None
            )
        except (ValueError, RecursionError):  # not JSON, or nested past what Python parses
            body = None
        return HttpOutcome(status=reply.status, json=body, text=text)

    async def _fetch_flow(self, url: str) -> Flow:
        parse_result_url(url, "url")
        try:
            reply = await self.client.request(
                "GET", url, timeout=FLOW_URL_TIMEOUT_S, max_bytes=MAX_FLOW_BYTES
            )
        except OutboundError as error:
            raise RuntimeError(error.message) from None
        return _flow_in(reply, url)


def _flow_in(reply: Reply, url: str) -> Flow:
    """The flow a user's web service answered with (flow URL or goto): 200, within the size
    limit, valid."""
    if reply.status != 200:
        raise RuntimeError(f"HTTP {reply.status} from {url}")
    if reply.truncated:
        raise RuntimeError(f"the flow is larger than {MAX_FLOW_BYTES} bytes")
    return load_flow(_text(reply))


def _text(reply: Reply) -> str:
    """A reply's body as text, in the charset its Content-Type names (UTF-8 by default)."""
    return reply.content.decode(_charset(reply.headers) or "utf-8", "replace")


def _charset(headers: Mapping[str, str]) -> str | None:
    """The charset a reply's Content-Type names, if Python knows it."""
    for part in headers.get("content-type", "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            try:
                return codecs.lookup(value.strip('"')).name
            except LookupError:
                return None
    return None


def _params(call_parameters: str) -> dict[str, str]:
    """Call parameters as flow variables: text, with numbers and booleans as JSON writes them."""
    try:
        data = json.loads(call_parameters or "{}")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, str] = {}
    for key, value in data.items():
        out[str(key)] = value if isinstance(value, str) else json.dumps(value)
    return out


class PromptTelling:
    """A flow's leg that says when prompts start playing and when the last has stopped."""

    def __init__(self, leg: FlowLeg, on_playing: Callable[[bool], None]) -> None:
        self._leg = leg
        self._on_playing = on_playing
        self._playing = 0

    def play_prompt(self, ulaw: bytes) -> Playback:
        playback = self._leg.play_prompt(ulaw)
        self._playing += 1
        if self._playing == 1:
            self._on_playing(True)
        playback.done.add_done_callback(self._stopped)
        return playback

    def _stopped(self, _: object) -> None:
        self._playing -= 1
        if self._playing == 0:
            self._on_playing(False)

    def digits(self) -> AsyncIterator[str]:
        return self._leg.digits()

    def audio(self) -> AsyncIterator[AudioFrame]:
        return self._leg.audio()

    async def send_dtmf(self, digits: str) -> None:
        await self._leg.send_dtmf(digits)
