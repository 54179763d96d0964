"""A deployment on a SIP trunk: the real dialer places queued calls through sipp."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from flow_support import espeak_clip
from sip_support import Sipp, tone_file, trunk_config

from outdial.audio import g711
from outdial.calls import CalleeType, CallStatus
from outdial.dispatch.dialer import Dialer, DialerSettings
from outdial.options import Schedule
from outdial.store import db
from outdial.store.store import NewCall, Store, new_call_ids
from outdial.telephony.simaudio import clip
from outdial.trunks import TrunkKind

FINAL = {CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.UNCALLED}


@pytest.fixture
def live(sqlite_template: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "outdial.db"
    shutil.copyfile(sqlite_template, path)
    store = Store(db.make_engine(f"sqlite:///{path}"))
    try:
        yield store
    finally:
        store.close()


def _dial_until_final(store: Store, done: Callable[[], bool], timeout: float = 20.0) -> None:
    async def main() -> None:
        dialer = Dialer(store, DialerSettings(lease=5.0, poll=0.05), worker_id="sip")
        task = asyncio.create_task(dialer.run())
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(done) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        dialer.stop()
        await task

    asyncio.run(main())


@pytest.mark.parametrize(
    ("scenario", "status", "callee_type", "sip_code"),
    [
        # answered: detection (another module) decides the type; until then it is unknown
        ("answer_callee_bye.xml", CallStatus.COMPLETED, CalleeType.UNKNOWN, None),
        ("reject.xml", CallStatus.FAILED, CalleeType.BUSY, 486),
    ],
)
def test_deployment_on_a_sip_trunk_dials_sipp(
    live: Store,
    sipp: Callable[..., Sipp],
    tmp_path: Path,
    scenario: str,
    status: CallStatus,
    callee_type: CalleeType,
    sip_code: int | None,
) -> None:
    tone = tone_file(tmp_path / "tone.ul", [(1000, 0.5)])
    peer = sipp(scenario, audio=tone, talk_ms=800, code=486, reason="Busy Here")
    trunk = live.create_trunk(
        "sipp", TrunkKind.SIP, lines=5, cps=10.0, config=trunk_config(peer.port).to_json()
    )
    account, _ = live.create_account("sip@example.com")
    app = live.create_application(account.email, "sip test")
    dep = live.create_deployment(app.id, trunk_id=trunk.id)
    [call_id] = new_call_ids(1)
    row = NewCall(call_id, "+16175551234", None, None, None, "{}", None)
    live.queue_calls(dep, Schedule(start_at=time.time()), [row])

    _dial_until_final(live, lambda: live.get_call(account, call_id).status in FINAL)

    call = live.get_call(account, call_id)
    assert (call.status, call.callee_type) == (status, callee_type)
    assert [a.sip_code for a in call.attempt_list] == [sip_code]
    assert peer.wait() == 0, peer.output()


def _callee_audio(path: Path, kind: str) -> tuple[Path, int]:
    """What sipp streams after answering, as headerless µ-law, and its length in ms: the
    simulated carrier's recorded speech (espeak-ng), a beep for the voicemail, then quiet."""
    rate = 8000
    quiet = np.zeros(int(rate * 2.5), dtype=np.int16)
    if kind == "voicemail":
        beep = (6000 * np.sin(2 * np.pi * 1000 * np.arange(int(rate * 0.5)) / rate)).astype(
            np.int16
        )
        parts = [clip("voicemail-carrier"), np.zeros(rate // 4, dtype=np.int16), beep, quiet]
    else:
        parts = [clip("person-hello"), quiet]
    samples = np.concatenate(parts)
    path.write_bytes(g711.encode(samples))
    return path, len(samples) * 1000 // rate


@pytest.mark.parametrize(
    ("kind", "callee_type"),
    [("voicemail", CalleeType.ANSWERINGMACHINE), ("person", CalleeType.VOICE)],
)
def test_detection_decides_who_answered_a_sip_call(
    live: Store,
    sipp: Callable[..., Sipp],
    tmp_path: Path,
    kind: str,
    callee_type: CalleeType,
) -> None:
    audio, talk_ms = _callee_audio(tmp_path / f"{kind}.ul", kind)
    peer = sipp("answer_callee_bye.xml", audio=audio, talk_ms=talk_ms)
    trunk = live.create_trunk(
        "sipp", TrunkKind.SIP, lines=5, cps=10.0, config=trunk_config(peer.port).to_json()
    )
    account, _ = live.create_account("sip@example.com")
    app = live.create_application(account.email, "sip detection")
    dep = live.create_deployment(app.id, trunk_id=trunk.id)
    assert dep.detection
    [call_id] = new_call_ids(1)
    live.queue_calls(
        dep,
        Schedule(start_at=time.time()),
        [NewCall(call_id, "+16175551234", None, None, None, "{}", None)],
    )

    _dial_until_final(live, lambda: live.get_call(account, call_id).status in FINAL)

    call = live.get_call(account, call_id)
    assert (call.status, call.callee_type) == (CallStatus.COMPLETED, callee_type)
    [attempt] = call.attempt_list
    assert attempt.detect_cause is not None and attempt.decided_ms is not None
    assert attempt.decided_ms < talk_ms  # decided while the callee was still on the line
    if kind == "voicemail":
        # the beep: 5.2 s of greeting, 250 ms of quiet, then 500 ms of tone
        assert attempt.beep_end_ms is not None
        assert abs(attempt.beep_end_ms - (len(clip("voicemail-carrier")) // 8 + 750)) <= 100
    assert peer.wait() == 0, peer.output()


def test_a_callee_who_says_hello_and_then_sends_no_rtp_is_a_person(
    live: Store, sipp: Callable[..., Sipp], tmp_path: Path
) -> None:
    """sipp streams a spoken "hello?" once and stays on the line sending nothing: the gap is
    silence on the media clock, so the call is a person with a short greeting, decided while
    the callee is still there; not `unknown` because the audio ran out."""
    hello = espeak_clip(tmp_path / "hello.ul", "Hello?")
    hello_ms = len(hello) * 1000 // 8000
    peer = sipp("answer_callee_bye.xml", audio=tmp_path / "hello.ul", talk_ms=5000)
    trunk = live.create_trunk(
        "sipp", TrunkKind.SIP, lines=5, cps=10.0, config=trunk_config(peer.port).to_json()
    )
    account, _ = live.create_account("sip@example.com")
    app = live.create_application(account.email, "sip hello then quiet")
    dep = live.create_deployment(app.id, trunk_id=trunk.id)
    [call_id] = new_call_ids(1)
    live.queue_calls(
        dep,
        Schedule(start_at=time.time()),
        [NewCall(call_id, "+16175551234", None, None, None, "{}", None)],
    )

    _dial_until_final(live, lambda: live.get_call(account, call_id).status in FINAL)

    call = live.get_call(account, call_id)
    assert (call.status, call.callee_type) == (CallStatus.COMPLETED, CalleeType.VOICE)
    [attempt] = call.attempt_list
    assert attempt.callee_type is CalleeType.VOICE
    assert attempt.detect_cause == "short greeting then silence"
    # decided in the silence after the word, long before the callee hung up
    assert attempt.decided_ms is not None and hello_ms < attempt.decided_ms < 3000
    assert peer.wait() == 0, peer.output()
