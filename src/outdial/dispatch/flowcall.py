"""One call's flow, as the dialer sees it: prepared while the phone rings, started on answer,
told what detection hears, and closed (its trace kept) when the call ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from outdial.calls import CalleeType
from outdial.detect import Verdict
from outdial.dispatch.flows import FlowRuntime, PreparedFlow
from outdial.flow.actions import Ended
from outdial.flow.driver import HANGUP_GRACE_S, FlowRun
from outdial.store.store import Claim
from outdial.telephony.carrier import Carrier, HangupCause, Leg

log = logging.getLogger(__name__)


class FlowCall:
    def __init__(self, runtime: FlowRuntime, claim: Claim, leg: Leg, carrier: Carrier) -> None:
        self._runtime = runtime
        self._claim = claim
        self._leg = leg
        self._carrier = carrier
        self._preparing = asyncio.create_task(
            runtime.prepare(claim), name=f"flow-prepare-{claim.call_id}"
        )
        self._prepared: PreparedFlow | None = None
        self._run: FlowRun | None = None
        self._task: asyncio.Task[Ended] | None = None
        # Heard so far, each with whether it revised the one before: replayed to a flow that
        # starts after them.
        self._verdicts: list[tuple[Verdict, bool]] = []
        self._greeting_over: bool | None = None  # beep (True) or silence (False) ended it
        # Told when the flow's prompts start and stop playing (the call's detection).
        self.on_playing: Callable[[bool], None] | None = None
        self._ended = False

    async def start(self) -> None:
        """The call was answered (and its post-dial digits sent): run the flow, if it has one."""
        try:
            self._prepared = await self._preparing
        except Exception:
            log.exception("preparing the flow of call %s failed", self._claim.call_id)
            return
        if self._prepared is None:
            return

        async def hangup(reason: str) -> None:
            log.debug("call %s: the flow hangs up (%s)", self._claim.call_id, reason)
            await self._leg.hangup(HangupCause.FLOW_ENDED)

        run = self._runtime.start(
            self._prepared, self._claim, self._leg, self._carrier, hangup, self.on_playing
        )
        self._run = run
        self._replay(run)
        self._task = asyncio.create_task(run.run(), name=f"flow-{self._claim.call_id}")

    def heard(self, verdict: Verdict) -> None:
        """Detection decided (again): the flow sees the callee type, and the greeting's end."""
        last = self._verdicts[-1][0] if self._verdicts else None
        revised = last is not None and last.callee_type != verdict.callee_type
        self._verdicts.append((verdict, revised))
        if self._run is not None:
            self._run.verdict(verdict.callee_type, revised=revised, cause=str(verdict.cause))
        if verdict.beep_end_ms is not None:
            self.greeting_over(beep=True)

    def greeting_over(self, *, beep: bool) -> None:
        if self._greeting_over is not None:
            return
        self._greeting_over = beep
        if self._run is not None:
            self._run.greeting_over(beep)

    def listening_finished(self) -> None:
        """Detection has nothing more to learn: a voicemail without a beep is over too."""
        last = self._verdicts[-1][0] if self._verdicts else None
        if last is not None and last.callee_type is CalleeType.ANSWERINGMACHINE:
            self.greeting_over(beep=last.beep_end_ms is not None)

    def _replay(self, run: FlowRun) -> None:
        for verdict, revised in self._verdicts:
            run.verdict(verdict.callee_type, revised=revised, cause=str(verdict.cause))
        if self._greeting_over is not None:
            run.greeting_over(self._greeting_over)

    async def end(self) -> None:
        """The call ended: let the flow finish what may run after a hang-up, keep its trace.
        Harmless twice."""
        if self._ended:
            return
        self._ended = True
        if not self._preparing.done():
            self._preparing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._preparing
        prepared = self._prepared
        if prepared is not None and prepared.synthesis is not None:
            prepared.synthesis.cancel()
        run, task = self._run, self._task
        if run is None or task is None or prepared is None:
            return
        run.hang_up()
        try:
            await asyncio.wait_for(asyncio.shield(task), HANGUP_GRACE_S)
        except TimeoutError:
            log.warning("the flow of call %s did not end after the hang-up", self._claim.call_id)
            task.cancel()
        except Exception:
            log.exception("the flow of call %s failed", self._claim.call_id)
        ended = None
        with contextlib.suppress(asyncio.CancelledError, Exception):
            ended = await task
        try:
            await self._runtime.finish(run, self._claim, prepared, ended)
        except Exception:
            log.exception("could not keep the flow trace of call %s", self._claim.call_id)
