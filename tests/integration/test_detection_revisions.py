"""A revised verdict on a real dialer call (simulated carrier, both databases): detection says
"person" and later "voicemail". Today's detector never revises, so the verdicts are scripted
through the dialer's one seam for it (``make_detector``); everything else is the product: the
dialer records both verdicts on the attempt, the call ends as a machine, and the flow's
``on: {answeringmachine: …}`` handler takes over from the step a person would have heard."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import pytest
from simdial_support import all_final, make_dep, make_trunk, queue

from outdial.accounts import Account
from outdial.audio.frames import FRAME_MS
from outdial.calls import CalleeType, CallStatus
from outdial.detect import Cause, DetectionParams, Heard, Verdict
from outdial.dispatch.dialer import Dialer, DialerSettings
from outdial.dispatch.listening import VerdictSource
from outdial.store.store import Store

FLOW = """\
flow: 1
start: who
on: {answeringmachine: message}
steps:
  who: {type: detect, timeout_s: 5, branches: {voice: talk, answeringmachine: message}}
  talk: {type: pause, seconds: 20, next: done}
  message: {type: result, fields: {reached: voicemail}, next: done}
  done: {type: hangup}
"""
FIRST = Verdict(CalleeType.VOICE, Cause.SHORT_GREETING, 1000)
REVISED = Verdict(CalleeType.ANSWERINGMACHINE, Cause.BEEP, 2600, beep_end_ms=2600)


class ScriptedDetector:
    """Says each verdict when the audio reaches its ``decided_ms``; finished after the last."""

    def __init__(self, verdicts: list[Verdict]) -> None:
        self._verdicts = list(verdicts)
        self._heard_ms = 0
        self.verdict: Verdict | None = None

    def feed(self, audio: bytes) -> Verdict | None:
        self._heard_ms += FRAME_MS
        if self._verdicts and self._heard_ms >= self._verdicts[0].decided_ms:
            self.verdict = self._verdicts.pop(0)
            return self.verdict
        return None

    @property
    def finished(self) -> bool:
        return not self._verdicts

    def end(self) -> Verdict:
        assert self.verdict is not None, "the call ended before the scripted verdicts"
        return self.verdict

    @property
    def position_ms(self) -> int:
        return self._heard_ms

    @property
    def wants_words(self) -> bool:
        return False  # scripted: words change nothing

    @property
    def last_speech_ms(self) -> int | None:
        return None

    def heard_words(self, phrases: Iterable[Heard]) -> None:
        pass

    def playing(self, on: bool) -> None:
        pass


def scripted(params: DetectionParams) -> VerdictSource:
    return ScriptedDetector([FIRST, REVISED])


def run_dialer(store: Store, done: object, timeout: float = 30.0) -> None:
    async def main() -> None:
        dialer = Dialer(
            store, DialerSettings(lease=5.0, poll=0.05), worker_id="w", make_detector=scripted
        )
        task = asyncio.create_task(dialer.run())
        deadline = time.monotonic() + timeout
        assert callable(done)
        while not await asyncio.to_thread(done) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        dialer.stop()
        await task

    asyncio.run(main())


@pytest.fixture
def tenant(live: Store) -> Account:
    account, _ = live.create_account("revisions@example.com")
    return account


def test_a_revised_verdict_is_recorded_and_the_flow_s_handler_takes_over(
    live: Store, tenant: Account
) -> None:
    rules = [{"match": ".", "outcome": "voice", "ring_s": 0.2, "talk_s": 15.0}]
    dep = make_dep(live, tenant, make_trunk(live, "sim", rules))
    live.save_flow(dep.application_id, FLOW, "yaml", tenant.email)
    [call_id] = queue(live, dep, ["+16175550101"])

    run_dialer(live, all_final(live, tenant, [call_id]))

    call = live.get_call(tenant, call_id)
    assert (call.status, call.callee_type) == (CallStatus.COMPLETED, CalleeType.ANSWERINGMACHINE)
    [attempt] = call.attempt_list
    assert attempt.callee_type is CalleeType.ANSWERINGMACHINE
    assert [(v.callee_type, v.cause, v.decided_ms) for v in attempt.verdicts] == [
        (CalleeType.VOICE, "short greeting then silence", 1000),
        (CalleeType.ANSWERINGMACHINE, "beep after greeting", 2600),
    ]
    detection = call.details()["attempt_details"][0]["detection"]
    assert detection["first"]["callee_type"] == "voice"
    assert [r["callee_type"] for r in detection["revisions"]] == ["answeringmachine"]
    # the flow went the person's way, then the revision sent it to the voicemail handler
    trace = call.details()["attempt_details"][0]["flow"]["trace"]
    assert [step["step"] for step in trace] == ["who", "talk", "message", "done"]
    assert trace[0]["outcome"] == "voice"
    talk = trace[1]
    assert talk["end_ms"] is not None and talk["end_ms"] - talk["start_ms"] < 20_000  # cut short
    assert call.results == {"reached": "voicemail"}
    assert attempt.cause == "hung up by the call flow"  # long before the callee's 15 s


LATE_BEEP_FLOW = """
flow: 1
start: who
on: {answeringmachine: message}
steps:
  who: {type: detect, timeout_s: 5, branches: {voice: talk, answeringmachine: message}}
  talk: {type: pause, seconds: 20, next: done}
  message: {type: wait_beep, timeout_s: 15, next: left}
  left: {type: result, fields: {reached: voicemail, beep: "${message$.beep}"}, next: done}
  done: {type: hangup}
"""


def test_the_real_detector_revises_a_late_beep_voicemail_and_the_flow_leaves_a_message(
    live: Store, tenant: Account
) -> None:
    # The simulated voicemail that sounds like a person first: "Hello?", 2 s of quiet, a
    # message, and a beep 7.6 s after the answer. No scripted verdicts: the detector decides.
    rules = [
        {
            "match": ".",
            "outcome": "answeringmachine",
            "ring_s": 0.2,
            "talk_s": 25.0,
            "callee": {"sound": "voicemail-late-beep"},
        }
    ]
    dep = make_dep(live, tenant, make_trunk(live, "sim", rules))
    live.save_flow(dep.application_id, LATE_BEEP_FLOW, "yaml", tenant.email)
    [call_id] = queue(live, dep, ["+16175550166"])

    async def main() -> None:
        dialer = Dialer(live, DialerSettings(lease=5.0, poll=0.05), worker_id="w")
        task = asyncio.create_task(dialer.run())
        deadline = time.monotonic() + 45.0
        done = all_final(live, tenant, [call_id])
        while not await asyncio.to_thread(done) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        dialer.stop()
        await task

    asyncio.run(main())

    call = live.get_call(tenant, call_id)
    assert (call.status, call.callee_type) == (CallStatus.COMPLETED, CalleeType.ANSWERINGMACHINE)
    [attempt] = call.attempt_list
    first, *revisions = attempt.verdicts
    assert first.callee_type is CalleeType.VOICE
    assert [v.callee_type for v in revisions] == [CalleeType.ANSWERINGMACHINE]
    trace = call.details()["attempt_details"][0]["flow"]["trace"]
    assert [step["step"] for step in trace][:3] == ["who", "talk", "message"]
    assert call.results == {"reached": "voicemail", "beep": "true"}
