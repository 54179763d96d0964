"""The dialer: claims due calls, places them through carriers, records what happens.

One ``Dialer`` runs per process (inside ``outdial serve`` or as ``outdial worker``). Its main
loop claims calls when lines are free (woken at once by an enqueue in this process, by a call
ending, or by the poll as a fallback) and runs each call as a task. Side tasks renew the leases
of held calls (and hang up calls cancelled meanwhile), take over calls of workers that died,
and close call windows. Every task is referenced and awaited; ``run`` returns after a graceful
drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from outdial.calls import CalleeType
from outdial.config import CALL_LEASE
from outdial.detect import Detector, Verdict
from outdial.detect.overrides import params_for
from outdial.dispatch.diallog import DialLog
from outdial.dispatch.flowcall import FlowCall
from outdial.dispatch.flows import FlowRuntime
from outdial.dispatch.hours_filter import hours_filter
from outdial.dispatch.listening import DetectorFactory, Listening, shared_spotting
from outdial.outbound.policy import UrlPolicy
from outdial.policy import AttemptResult
from outdial.store.groupcommit import GroupCommit
from outdial.store.progress import (
    AnswerOp,
    ClaimRef,
    DetectedOp,
    FinishOp,
    Outcome,
    ProgressOp,
    RingingOp,
)
from outdial.store.store import Claim, Store
from outdial.telephony.carrier import (
    Answered,
    Carrier,
    DialRequest,
    Ended,
    HangupCause,
    Leg,
    Ringing,
)
from outdial.telephony.trunk import build_carrier
from outdial.trunks import Trunk

log = logging.getLogger(__name__)

POLL = 0.5  # seconds between claim attempts when nothing wakes the loop
MAX_CLAIM = 200  # calls claimed per pass
EXPIRE_EVERY = 1.0  # seconds between closing expired call windows
DRAIN_TIMEOUT = 10.0  # seconds a stopping dialer lets calls in progress finish
FENCE_FRACTION = 2 / 3  # of the lease: hang up if not renewed by then (the reaper waits longer)
DB_RETRIES = 8  # tries of a store call that records a call's progress
DB_RETRY_FIRST = 0.1  # seconds before the first retry, doubling
DB_RETRY_MAX = 3.0  # seconds between retries at most

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DialerSettings:
    lease: float = CALL_LEASE
    poll: float = POLL
    max_active: int = 10_000  # calls this process holds at once
    dial_log: Path | None = None  # JSON lines, one when a dial starts and one when it ends
    drain_timeout: float = DRAIN_TIMEOUT
    flows: bool = True  # run the deployment's call flow on answered calls
    tts_cache: Path | None = None  # a directory keeping synthesised prompts across restarts
    # Which of the users' web services (flow URLs, goto and http steps, result callbacks) may
    # be reached: public addresses, and the networks the operator allowed.
    url_policy: UrlPolicy = field(default_factory=UrlPolicy)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dialer:
    def __init__(
        self,
        store: Store,
        settings: DialerSettings | None = None,
        *,
        worker_id: str | None = None,
        carrier_factory: Callable[[Trunk], Carrier] = build_carrier,
        flows: FlowRuntime | None = None,
        make_detector: DetectorFactory = Detector,
    ) -> None:
        self.store = store
        self._make_detector = make_detector  # callee-type detection on each answered call
        self.settings = settings or DialerSettings()
        self.worker_id = worker_id or new_worker_id()
        self._carrier_factory = carrier_factory
        self._carriers: dict[int, Carrier] = {}
        self._broken_trunks: set[int] = set()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        # Keyed by (call_pk, attempt): one dial each, even if this process claims the call again.
        self._calls: dict[tuple[int, int], asyncio.Task[None]] = {}
        self._legs: dict[tuple[int, int], Leg] = {}
        self._renewed: dict[tuple[int, int], float] = {}  # monotonic time the lease was renewed
        self._dial_log = DialLog(self.settings.dial_log) if self.settings.dial_log else None
        self._control_pool = ThreadPoolExecutor(1, thread_name_prefix="dialer-control")
        self._writer: GroupCommit | None = None  # started by run()
        self._flows = flows
        if flows is None and self.settings.flows:
            self._flows = FlowRuntime.default(
                store, self.settings.tts_cache, self.settings.url_policy
            )
        self.takeovers = 0  # calls taken over from dead workers, for metrics
        self.dialed = 0

    @property
    def active(self) -> int:
        return len(self._calls)

    def wake(self) -> None:
        """Look for due calls now (after an enqueue, say)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Dial until ``stop()``, then drain: let calls finish, hang up what is left."""
        side = [
            asyncio.create_task(
                self._every(self.settings.lease / 3, self._heartbeat), name="heartbeat"
            ),
            asyncio.create_task(
                self._every(self.settings.lease / 3, self._reap), name="lease-reaper"
            ),
            asyncio.create_task(self._every(EXPIRE_EVERY, self._expire), name="window-closer"),
            asyncio.create_task(self._every(self.settings.lease / 6, self._fence), name="fence"),
        ]
        self._writer = GroupCommit(self.store)
        if self.store.engine.dialect.name == "postgresql":
            side.append(
                asyncio.create_task(self.store.listen_for_queued(self.wake), name="listener")
            )
        try:
            await self._claim_loop()
        finally:
            await self._drain()
            for task in side:
                task.cancel()
            await asyncio.gather(*side, return_exceptions=True)
            for carrier in self._carriers.values():
                await carrier.close()
            if self._dial_log:
                self._dial_log.close()
            self._control_pool.shutdown(wait=True)
            self._writer.close()
            if self._flows is not None:
                await self._flows.close()

    # -- claiming ---------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            free = self.settings.max_active - len(self._calls)
            claims: Sequence[Claim] = []
            if free > 0:
                try:
                    trunk_ids = await self._usable_trunks()
                    if trunk_ids:
                        claims = await self._control(
                            self.store.claim,
                            self.worker_id,
                            lease=self.settings.lease,
                            limit=min(free, MAX_CLAIM),
                            hours=hours_filter,
                            trunk_ids=trunk_ids,
                        )
                except Exception:
                    log.exception("claiming calls failed; retrying")
            for claim in claims:
                task = asyncio.create_task(self._run_call(claim), name=f"call-{claim.call_id}")
                self._calls[(claim.call_pk, claim.attempt)] = task
                self._renewed[(claim.call_pk, claim.attempt)] = time.monotonic()
            if claims and len(claims) == min(free, MAX_CLAIM):
                continue  # there may be more due right now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), await self._poll_delay(bool(claims)))

    async def _poll_delay(self, claimed: bool) -> float:
        if claimed:
            return 0.05  # pacing may allow the next call soon
        try:
            due = await self._control(self.store.next_due_at)
        except Exception:
            return self.settings.poll
        if due is None:
            return self.settings.poll
        return min(self.settings.poll, max(0.01, due - self.store.clock()))

    async def _usable_trunks(self) -> list[int]:
        """IDs of trunks whose carrier is built, building new ones as trunks appear."""
        trunks = await self._control(self.store.all_trunks)
        for trunk in trunks:
            if trunk.id in self._carriers or trunk.id in self._broken_trunks:
                continue
            try:
                self._carriers[trunk.id] = self._carrier_factory(trunk)
            except Exception as error:
                self._broken_trunks.add(trunk.id)
                log.error("trunk %s cannot dial: %s", trunk.name, error)
        return [t.id for t in trunks if t.id in self._carriers]

    # -- one call ---------------------------------------------------------------------------

    async def _run_call(self, claim: Claim) -> None:
        started = self.store.clock()
        logged_end = False

        def log_end() -> None:  # when the leg is over, before its result is stored
            nonlocal logged_end
            if self._dial_log and not logged_end:
                self._dial_log.write(claim, started, self.store.clock())
            logged_end = True

        try:
            if self._dial_log:
                self._dial_log.write(claim, started, None)
            self.dialed += 1
            try:
                result = await self._place(claim)
            except Exception as error:
                log.exception("call %s failed in the dialer", claim.call_id)
                leg = self._legs.get((claim.call_pk, claim.attempt))
                if leg is not None:
                    with contextlib.suppress(Exception):
                        await leg.hangup(HangupCause.DIALER_ERROR)
                result = AttemptResult(False, CalleeType.LINEFAILURE, f"dialer error: {error}")
            log_end()
            ref = ClaimRef(claim.call_pk, claim.attempt)
            await self._with_retries(FinishOp(ref, self.worker_id, result, self.store.clock()))
        except Exception:
            # The database stayed unreachable: stop renewing the lease (the finally below
            # forgets the call), so the reaper closes the attempt once the database is back.
            log.exception("could not record the end of call %s", claim.call_id)
        finally:
            log_end()
            key = (claim.call_pk, claim.attempt)
            self._legs.pop(key, None)
            self._calls.pop(key, None)
            self._renewed.pop(key, None)
            self._wake.set()  # a line is free

    async def _place(self, claim: Claim) -> AttemptResult:
        request = DialRequest(
            call_id=claim.call_id,
            attempt=claim.attempt,
            phone_number=claim.phone_number,
            caller_id=claim.caller_id,
            postd=claim.postd,
            ring_timeout=claim.ring_timeout,
        )
        carrier = self._carriers[claim.trunk_id]
        leg = carrier.dial(request)
        self._legs[(claim.call_pk, claim.attempt)] = leg
        answered: Answered | None = None
        ref = ClaimRef(claim.call_pk, claim.attempt)
        # While the phone rings: find the call's flow and synthesise its known prompts.
        flows = self._flows
        flow = (
            FlowCall(flows, claim, leg, carrier)
            if flows is not None and flows.may_have_flow(claim)
            else None
        )
        listening = None
        if claim.detection:

            async def early_sit() -> None:
                await leg.hangup(HangupCause.EARLY_SIT)

            async def heard(verdict: Verdict) -> None:
                await self._with_retries(self._detected(ref, verdict))
                if flow is not None:
                    flow.heard(verdict)

            params = params_for(claim.detection_params)
            listening = Listening(
                leg,
                params,
                heard,
                early_sit,
                flow.listening_finished if flow is not None else None,
                self._make_detector,
                shared_spotting() if params.phrases_for_machine > 0 else None,
            )
            if flow is not None:
                flow.on_playing = listening.playing

        try:  # the leg hangs up at the ring timeout (request.ring_timeout), as Ended says
            async for event in leg.events():
                if isinstance(event, Ringing):
                    try:
                        await self._record(RingingOp(ref, self.worker_id, self.store.clock()))
                    except Exception:  # an event lost is better than a call dropped
                        log.warning("could not record ringing of %s", claim.call_id)
                elif isinstance(event, Answered):
                    answered = event
                    at = self.store.clock()
                    held = await self._with_retries(AnswerOp(ref, self.worker_id, at))
                    if not held:
                        await leg.hangup(HangupCause.LEASE_LOST)
                        continue
                    if listening is not None:
                        listening.answer_recorded.set()
                    if claim.postd:
                        await leg.send_dtmf(claim.postd)
                    if flow is not None:
                        await flow.start()
                elif isinstance(event, Ended):
                    sit = None
                    if listening is not None:
                        await listening.stop()
                        sit = listening.sit
                        if answered is not None:
                            answered = Answered(await listening.settle())
                    if flow is not None:
                        await flow.end()
                    return _result(event, answered, sit)
        finally:
            if listening is not None:
                await listening.stop()
            if flow is not None:
                await flow.end()
        return AttemptResult(False, CalleeType.LINEFAILURE, "the carrier stopped reporting")

    def _detected(self, ref: ClaimRef, verdict: Verdict) -> DetectedOp:
        return DetectedOp(
            ref,
            self.worker_id,
            verdict.callee_type,
            str(verdict.cause),
            verdict.decided_ms,
            verdict.beep_end_ms,
            self.store.clock(),
        )

    async def _control(self, job: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Claims, heartbeats, takeovers: on their own thread, never queued behind the
        progress writes of thousands of calls (a late heartbeat would fence calls)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._control_pool, partial(job, *args, **kwargs))

    async def _record(self, op: ProgressOp) -> Outcome:
        """Record a call's progress; returns once the transaction holding it committed."""
        assert self._writer is not None, "the dialer is not running"
        return await self._writer.submit(op)

    async def _with_retries(self, op: ProgressOp) -> Outcome:
        """Record ``op``, retrying while the database is unreachable."""
        delay = DB_RETRY_FIRST
        for _ in range(DB_RETRIES - 1):
            try:
                return await self._record(op)
            except Exception as error:
                log.warning("recording %s failed (%s); retrying", type(op).__name__, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, DB_RETRY_MAX)
        return await self._record(op)

    # -- side tasks -------------------------------------------------------------------------

    async def _every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                log.exception("dialer side task failed; it runs again in %.1f s", seconds)

    async def _heartbeat(self) -> None:
        keys = list(self._calls)
        started = time.monotonic()
        held = await self._control(
            self.store.heartbeat, self.worker_id, self.settings.lease, [pk for pk, _ in keys]
        )
        still = {call.call_pk: call for call in held}
        for key in keys:
            leg = self._legs.get(key)
            call = still.get(key[0])
            if call is None:
                # Another worker took the call over (our lease lapsed): it may be dialing it
                # now, so this leg must go at once.
                if leg is not None:
                    log.warning("lost the lease of call %s; hanging up", key[0])
                    await leg.hangup(HangupCause.LEASE_LOST)
                continue
            self._renewed[key] = started
            if call.cancel_requested and leg is not None:
                await leg.hangup(HangupCause.CANCELED)

    async def _fence(self) -> None:
        """Hang up calls whose lease this process could not renew in time.

        When the database is out of reach, heartbeats fail; after two thirds of the lease the
        call may soon be taken over by another worker, which would dial it again. Better to end
        our leg first: a call is never up twice at once (SPEC §2).
        """
        limit = self.settings.lease * FENCE_FRACTION
        now = time.monotonic()
        for key, renewed in list(self._renewed.items()):
            leg = self._legs.get(key)
            if now - renewed > limit and leg is not None:
                log.warning("could not renew the lease of call %s in time; hanging up", key[0])
                await leg.hangup(HangupCause.LEASE_NOT_RENEWED)

    async def _reap(self) -> None:
        taken = await self._control(self.store.reap_expired_leases)
        if taken:
            self.takeovers += taken
            log.warning("took over %d calls whose worker stopped renewing its lease", taken)
            self._wake.set()

    async def _expire(self) -> None:
        await self._control(self.store.expire_windows)

    async def _drain(self) -> None:
        if not self._calls:
            return
        log.info("draining %d calls in progress", len(self._calls))
        _, pending = await asyncio.wait(
            list(self._calls.values()), timeout=self.settings.drain_timeout
        )
        for leg in list(self._legs.values()):
            await leg.hangup(HangupCause.SHUTDOWN)
        if pending:
            await asyncio.wait(pending, timeout=5.0)
        for task in list(self._calls.values()):
            task.cancel()
        await asyncio.gather(*self._calls.values(), return_exceptions=True)


def _result(event: Ended, answered: Answered | None, sit: Verdict | None) -> AttemptResult:
    """Map a leg's end to an attempt result (SPEC §6); ``sit``: a SIT heard while ringing."""
    if sit is not None and answered is None:
        return AttemptResult(False, CalleeType.INFORMATIONTONE, str(HangupCause.EARLY_SIT))
    if answered is not None:
        return AttemptResult(
            True, answered.callee_type or CalleeType.UNKNOWN, event.cause, event.sip_code
        )
    if event.callee_type is not None:
        return AttemptResult(False, event.callee_type, event.cause, event.sip_code)
    if event.reason is HangupCause.RING_TIMEOUT:  # and the carrier left the callee type to us
        return AttemptResult(False, CalleeType.NOANSWER, "no answer before the ring timeout")
    return AttemptResult(False, CalleeType.UNKNOWN, event.cause or "hung up before answer")


__all__ = ["DialLog", "Dialer", "DialerSettings", "new_worker_id"]
