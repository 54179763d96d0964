"""Call flows on the dialer's calls (SPEC §7, FLOWS.md).

``FlowRuntime.prepare`` runs while the phone rings: it finds the flow the call will run (the
deployment's flow URL, else the application's newest stored version), and synthesises the
prompts already known so that none waits on text to speech after the answer. ``start`` builds
the call's :class:`~outdial.flow.driver.FlowRun` on answer, with hooks that keep results and
recordings in the store and reach the user's web services.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from outdial.calls import CallEvent
from outdial.dispatch.transfer import transfer_call
from outdial.dispatch.webhooks import SIGNATURE_HEADER, sign
from outdial.errors import InvalidField
from outdial.flow import actions as a
from outdial.flow.context import Session
from outdial.flow.document import Flow, load_flow
from outdial.flow.driver import FlowHooks, FlowLeg, FlowRun, HttpOutcome, TransferOutcome
from outdial.flow.interpreter import Interpreter
from outdial.flow.prompts import prompts_known_at_claim
from outdial.flow.steps import JsonValue, Scalar
from outdial.flow.tts import EspeakSynthesizer, TtsCache
from outdial.options import parse_result_url
from outdial.store.store import Claim, Store
from outdial.telephony.carrier import AudioFrame, Carrier, Leg, Playback

log = logging.getLogger(__name__)

T = TypeVar("T")
FLOW_CACHE_S = 2.0  # seconds a stored flow version is reused before the store is asked again
FLOW_URL_TIMEOUT_S = 3.0  # seconds the user's flow service has to answer, while the phone rings
MAX_HTTP_BODY = 1024 * 1024  # bytes of an http step's reply kept
MAX_FLOW_BYTES = 256 * 1024  # bytes of a fetched flow


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
    ) -> None:
        self.store = store
        self.tts = tts
        self._thread = run_in_thread
        self._stored: dict[int, tuple[float, int | None]] = {}  # app -> (checked at, version)
        self._parsed: dict[tuple[int, int], Flow] = {}
        self._client: httpx.AsyncClient | None = None
        self._synthesizing: dict[tuple[str, str], asyncio.Future[None]] = {}  # (voice, text)

    @classmethod
    def default(cls, store: Store, tts_cache: Path | None = None) -> FlowRuntime:
        """espeak-ng behind a cache (kept in ``tts_cache`` when given); store calls in threads."""
        return cls(store, TtsCache(EspeakSynthesizer(), directory=tts_cache), asyncio.to_thread)

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

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
                await self._event(claim, CallEvent.FLOW_FAILED, f"flow_url: {error}")
        if flow is None:
            found = await self._stored_flow(claim.application_id)
            if found is not None:
                version, flow = found
        if flow is None:
            return None
        known = prompts_known_at_claim(flow, params, session)
        synthesis = (
            asyncio.create_task(self._synthesize(known), name=f"tts-{claim.call_id}")
            if known
            else None
        )
        return PreparedFlow(flow, version, params, session, synthesis)

    async def _synthesize(self, prompts: list[tuple[str, str]]) -> None:
        """Synthesise a ringing call's prompts, each once however many calls ring with it:
        calls claimed together (a campaign's first 200 lines) share one synthesis of each
        prompt instead of running espeak-ng and sox once per call."""
        for voice, text in prompts:
            if not self.tts.cached(text, voice):
                await asyncio.shield(self._shared(text, voice))  # a call that ends stops
                # waiting, not the synthesis

    def _shared(self, text: str, voice: str) -> asyncio.Future[None]:
        """The synthesis of ``text`` in progress, or a new one (errors logged, not raised)."""
        key = (voice, text)
        running = self._synthesizing.get(key)
        if running is None:
            running = asyncio.ensure_future(asyncio.to_thread(self._synthesize_now, text, voice))
            self._synthesizing[key] = running
            running.add_done_callback(functools.partial(self._synthesized, key))
        return running

    async def speech(self, text: str, voice: str) -> bytes:
        """A prompt's audio for a call's flow: from the cache, or from the synthesis already
        running since the phone rang (never a second espeak-ng for the same prompt)."""
        if not self.tts.cached(text, voice):
            await asyncio.shield(self._shared(text, voice))
        if self.tts.cached(text, voice):
            return self.tts.get(text, voice)
        return await asyncio.to_thread(self.tts.get, text, voice)  # raises what failed

    def _synthesized(self, key: tuple[str, str], _: object) -> None:
        self._synthesizing.pop(key, None)

    def _synthesize_now(self, text: str, voice: str) -> None:
        try:
            self.tts.get(text, voice)
        except Exception as error:  # the prompt fails again when played, on the step's path
            log.warning("text to speech failed while ringing: %s", error)

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
        response = await self.client.post(
            claim.flow_url, content=body, headers=headers, timeout=FLOW_URL_TIMEOUT_S
        )
        if response.status_code == 204:
            return None
        return _flow_in(response, claim.flow_url)

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
        except InvalidField as error:
            return HttpOutcome(error=error.message)
        try:
            response = await self.client.request(
                action.method,
                action.url,
                headers=dict(action.headers),
                content=action.body.encode() if action.body is not None else None,
                timeout=action.timeout_s,
            )
        except httpx.TimeoutException:
            return HttpOutcome(error=f"no reply within {action.timeout_s:g} s")
        except httpx.HTTPError as error:
            return HttpOutcome(error=f"{type(error).__name__}: {error}")
        text = response.content[:MAX_HTTP_BODY].decode(response.encoding or "utf-8", "replace")
        try:
            body: JsonValue = (
                json.loads(text) if "json" in response.headers.get("content-type", "") else None
            )
        except (ValueError, RecursionError):  # not JSON, or nested past what Python parses
            body = None
        return HttpOutcome(status=response.status_code, json=body, text=text)

    async def _fetch_flow(self, url: str) -> Flow:
        parse_result_url(url, "url")
        response = await self.client.get(url, timeout=FLOW_URL_TIMEOUT_S)
        return _flow_in(response, url)


def _flow_in(response: httpx.Response, url: str) -> Flow:
    """The flow a user's web service answered with (flow URL or goto): 200, within the size
    limit, valid."""
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code} from {url}")
    if len(response.content) > MAX_FLOW_BYTES:
        raise RuntimeError(f"the flow is larger than {MAX_FLOW_BYTES} bytes")
    return load_flow(response.text)


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
