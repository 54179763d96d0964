"""Call flows on real SIP calls: the dialer runs an application's flow on calls that sipp
answers, and an independent capture of loopback (tcpdump) shows what went over the wire.

Each test queues one call on a deployment whose trunk points at sipp (or at kamailio routing to
two sipps), runs the real dialer until the call is final, and reads the call as the API shows
it: results, the flow's trace, events. Timings are read from the capture, not from outdial.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from flow_support import (
    KAMAILIO_ROUTER,
    Capture,
    Rtp,
    audio,
    between,
    dominant_frequency,
    espeak_clip,
    quiet,
    speech,
    tone,
    tone_packets,
    write_ulaw,
)
from sip_support import Sipp, trunk_config

from outdial.accounts import Account
from outdial.calls import Call, CalleeType, CallStatus
from outdial.dispatch.dialer import Dialer, DialerSettings
from outdial.flow.document import load_flow
from outdial.flow.engines import default_cache
from outdial.flow.tts import EspeakSynthesizer, TtsCache
from outdial.options import Schedule
from outdial.outbound.policy import UrlPolicy, parse_networks
from outdial.store import db
from outdial.store.store import NewCall, Store, new_call_ids
from outdial.telephony.sip.config import SipTrunkConfig
from outdial.trunks import TrunkKind

FINAL = {CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.UNCALLED}
REMINDER = (
    Path(__file__).parents[3] / "examples" / "flows" / "appointment_reminder.yaml"
).read_text()
PARAMS = {"first_name": "Ann", "date": "May 3"}
DTMF_1 = Path("/usr/share/sip-tester/dtmf_2833_1.pcap")  # sipp's capture of an RFC 4733 '1'
DTMF_9 = Path("/usr/share/sip-tester/dtmf_2833_9.pcap")
FRAME_BYTES = 160  # µ-law bytes in a 20 ms RTP packet
TELEPHONE_EVENT = 101  # the payload type our scenarios offer for RFC 4733
RING_MS = 500  # the callee rings this long: the flow is prepared meanwhile
BEEP_HZ = 1000.0
AGENT = "+16175550100"


@pytest.fixture
def live(sqlite_template: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "outdial.db"
    shutil.copyfile(sqlite_template, path)
    store = Store(db.make_engine(f"sqlite:///{path}"))
    try:
        yield store
    finally:
        store.close()


def _queue(
    store: Store,
    config: SipTrunkConfig,
    flow: str,
    params: dict[str, str] | None = None,
    *,
    flow_url: str | None = None,
) -> tuple[Account, str]:
    """An application with ``flow`` as its newest version, a deployment on a SIP trunk with
    ``config``, and one call queued, due now."""
    trunk = store.create_trunk("sipp", TrunkKind.SIP, lines=5, cps=10.0, config=config.to_json())
    account, _ = store.create_account("flows@example.com")
    app = store.create_application(account.email, "flows on sip")
    store.save_flow(app.id, flow, "yaml", account.email)
    dep = store.create_deployment(app.id, trunk_id=trunk.id)
    if flow_url is not None:
        store.set_flow_url(dep.id, flow_url)
    [call_id] = new_call_ids(1)
    row = NewCall(call_id, "+16175551234", None, None, None, json.dumps(params or {}), None)
    store.queue_calls(dep, Schedule(start_at=time.time()), [row])
    return account, call_id


def _tts_cache(tmp_path: Path) -> Path:
    """Where the dialer keeps the prompts it synthesised (a test reads them back)."""
    return tmp_path / "tts"


def _dial(store: Store, account: Account, call_id: str, tmp_path: Path) -> Call:
    """Run the dialer until the call is final (at most 30 s); the call as the API shows it."""

    def final() -> bool:
        return store.get_call(account, call_id).status in FINAL

    async def main() -> None:
        settings = DialerSettings(
            lease=5.0,
            poll=0.05,
            tts_cache=_tts_cache(tmp_path),
            url_policy=UrlPolicy(parse_networks("127.0.0.0/8")),  # the tests' web services
        )
        dialer = Dialer(store, settings, worker_id="sip-flows")
        task = asyncio.create_task(dialer.run())
        deadline = time.monotonic() + 30.0
        while not await asyncio.to_thread(final) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        dialer.stop()
        await task

    asyncio.run(main())
    return store.get_call(account, call_id)


def _trace(call: Call) -> list[dict[str, object]]:
    flow = call.details()["attempt_details"][0]["flow"]
    assert isinstance(flow, dict), call.details()
    trace = flow["trace"]
    assert isinstance(trace, list)
    return trace


def _steps(call: Call) -> list[str]:
    return [str(entry["step"]) for entry in _trace(call)]


def _ours(packets: list[Rtp], config: SipTrunkConfig) -> tuple[list[Rtp], list[Rtp]]:
    """What our RTP ports sent, and what they received."""
    low, high = config.rtp_ports
    sent = [p for p in packets if low <= p.src < high]
    received = [p for p in packets if low <= p.dst < high]
    return sent, received


def _media_port(peer: Sipp) -> int:
    """The RTP port sipp streams from: the one in the SDP of the 200 OK it sent."""
    answer = peer.messages().split("SIP/2.0 200 OK", 1)[1]
    found = re.search(r"^\s*m=audio (\d+) ", answer, re.MULTILINE)
    assert found is not None, peer.messages()
    return int(found.group(1))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def test_a_person_who_presses_1_confirms_the_appointment(
    live: Store, sipp: Callable[..., Sipp], capture: Callable[..., Capture], tmp_path: Path
) -> None:
    """sipp answers, says "hello?" (espeak-ng), and presses 1 (RFC 4733, sipp's own capture of
    a '1') 4 s after the answer, while the greeting plays: the reminder's result is kept."""
    hello = espeak_clip(tmp_path / "hello.ul", "Hello?")
    callee = write_ulaw(tmp_path / "person.ul", quiet(0.2), hello, quiet(18.0))
    peer = sipp(
        "flow_callee_key.xml", audio=callee, ring_ms=RING_MS, key_ms=4000, digit_pcap=DTMF_1
    )
    config = trunk_config(peer.port)
    wire = capture(config.rtp_ports)
    account, call_id = _queue(live, config, REMINDER, PARAMS)

    call = _dial(live, account, call_id, tmp_path)
    packets = wire.stop()

    assert (call.status, call.callee_type) == (CallStatus.COMPLETED, CalleeType.VOICE)
    assert call.results == {"confirmed": "yes"}
    steps = _steps(call)
    assert steps[:4] == ["greet", "who", "ask", "confirmed"], steps
    assert steps[-2:] == ["thanks", "done"], steps
    assert call.attempt_list[0].cause == "hung up by the call flow"
    assert peer.wait() == 0, peer.output()
    # On the wire: we spoke from the answer on, the key reached us, and we spoke after it
    sent, received = _ours(packets, config)
    keys = [p for p in received if p.payload_type == TELEPHONE_EVENT]
    assert keys, "sipp's RFC 4733 packets were not captured"
    assert [p for p in speech(sent) if p.at < keys[0].at], "no greeting before the key"
    assert [p for p in speech(sent) if p.at > keys[0].at + 0.2], "no 'thank you' after the key"


def test_the_voicemail_message_starts_after_the_beep(
    live: Store, sipp: Callable[..., Sipp], capture: Callable[..., Capture], tmp_path: Path
) -> None:
    """sipp plays a voicemail greeting, a beep and a recorder's quiet: in the capture, the
    message's speech starts after the beep has ended, and within 400 ms of its end."""
    greeting = espeak_clip(
        tmp_path / "greeting.ul",
        "The person you are calling is not available. Please leave a message after the tone.",
        voice="en-gb+f2",
        speed=150,
    )
    callee = write_ulaw(
        tmp_path / "voicemail.ul",
        quiet(0.2),
        greeting,
        quiet(0.3),
        tone(BEEP_HZ, 0.5),
        quiet(14.0),
    )
    peer = sipp("flow_callee.xml", audio=callee, ring_ms=RING_MS)
    config = trunk_config(peer.port)
    wire = capture(config.rtp_ports)
    account, call_id = _queue(live, config, REMINDER, PARAMS)

    call = _dial(live, account, call_id, tmp_path)
    packets = wire.stop()

    assert (call.status, call.callee_type) == (CallStatus.COMPLETED, CalleeType.ANSWERINGMACHINE)
    assert call.results == {"voicemail": "left"}
    steps = _steps(call)
    assert "message" in steps and steps[-3:] == ["leave", "left", "done"], steps
    assert call.attempt_list[0].beep_end_ms is not None
    assert peer.wait() == 0, peer.output()

    sent, received = _ours(packets, config)
    beep = tone_packets(received, BEEP_HZ)
    assert len(beep) >= 20, "the beep (500 ms) is not in the capture"
    beep_start, beep_end = beep[0].at, beep[-1].at
    spoken = speech(sent)
    during = [p for p in spoken if beep_start <= p.at <= beep_end]
    assert not during, f"we spoke during the beep, {_ms(during[0].at - beep_start)} ms into it"
    onset = next(p for p in spoken if p.at > beep_end)
    delay = onset.at - beep_end
    assert 0 < delay <= 0.400, f"the message started {_ms(delay)} ms after the beep's end"
    # and it is the message: it goes on (the 'leave' prompt is several seconds long)
    assert len([p for p in spoken if onset.at <= p.at <= onset.at + 3.0]) > 75


def test_a_key_pressed_mid_prompt_stops_the_prompt(
    live: Store, sipp: Callable[..., Sipp], capture: Callable[..., Capture], tmp_path: Path
) -> None:
    """Barge-in: a key 2.5 s into a long prompt stops it; in the capture our speech ends
    within 100 ms of the key's first RFC 4733 packet, and quiet follows (the flow pauses)."""
    flow = """
flow: 1
start: talk
steps:
  talk:
    type: say
    text: >-
      This is a long announcement about your account. It goes on and on, with many words,
      so that there is plenty of time to press a key while it is still being read to you.
    next: ask
  ask:
    type: menu
    prompt: "Press 1 to stop."
    choices: {"1": hush}
    timeout_s: 5
  hush: {type: pause, seconds: 2, next: mark}
  mark: {type: result, fields: {barged: "yes"}, next: done}
  done: {type: hangup}
"""
    hello = espeak_clip(tmp_path / "hello.ul", "Hello?")
    callee = write_ulaw(tmp_path / "person.ul", quiet(0.2), hello, quiet(12.0))
    peer = sipp(
        "flow_callee_key.xml", audio=callee, ring_ms=RING_MS, key_ms=2500, digit_pcap=DTMF_1
    )
    config = trunk_config(peer.port)
    wire = capture(config.rtp_ports)
    account, call_id = _queue(live, config, flow)

    call = _dial(live, account, call_id, tmp_path)
    packets = wire.stop()

    assert call.results == {"barged": "yes"}
    assert _steps(call) == ["talk", "ask", "hush", "mark", "done"]
    assert peer.wait() == 0, peer.output()
    sent, received = _ours(packets, config)
    key = next(p for p in received if p.payload_type == TELEPHONE_EVENT).at
    spoken = speech(sent)
    assert [p for p in spoken if key - 0.5 <= p.at < key], "the prompt was not playing"
    after = [p for p in spoken if key <= p.at <= key + 1.5]
    last = after[-1].at - key if after else 0.0
    assert last <= 0.100, f"the prompt went on {_ms(last)} ms after the key"
    quiet_after = [p for p in audio(sent) if key + 0.1 < p.at <= key + 1.5]
    assert len(quiet_after) > 50, "we stopped sending RTP instead of sending quiet"


def test_transfer_bridges_the_callee_to_an_agent(
    live: Store,
    sipp: Callable[..., Sipp],
    kamailio: Callable[..., int],
    capture: Callable[..., Capture],
    tmp_path: Path,
) -> None:
    """A flow's transfer dials the agent on the call's trunk (kamailio routes the agent's
    number to a second sipp): the callee's audio (a 1200 Hz tone) reaches the agent, and the
    agent's (700 Hz) reaches the callee, in the capture."""
    flow = f"""
flow: 1
start: hi
steps:
  hi: {{type: say, text: "Connecting you.", next: desk}}
  desk:
    type: transfer
    to: "tel:{AGENT}"
    timeout_s: 10
    branches: {{completed: done, busy: sorry, noanswer: sorry, failed: sorry}}
  sorry: {{type: result, fields: {{transfer: "failed"}}, next: done}}
  done: {{type: hangup}}
"""
    hello = espeak_clip(tmp_path / "hello.ul", "Hello?")
    callee_audio = write_ulaw(
        tmp_path / "callee.ul", quiet(0.2), hello, quiet(0.5), tone(1200.0, 14.0)
    )
    agent_audio = write_ulaw(tmp_path / "agent.ul", tone(700.0, 6.0))
    callee = sipp("flow_callee.xml", audio=callee_audio, ring_ms=RING_MS)
    agent = sipp("flow_agent.xml", audio=agent_audio, talk_ms=4000)
    proxy = kamailio(callee.port, config=KAMAILIO_ROUTER, agent_port=agent.port, agent_user=AGENT)
    config = trunk_config(proxy)
    wire = capture(config.rtp_ports)
    account, call_id = _queue(live, config, flow)

    call = _dial(live, account, call_id, tmp_path)
    packets = wire.stop()

    assert call.status is CallStatus.COMPLETED
    trace = _trace(call)
    assert [entry["step"] for entry in trace] == ["hi", "desk", "done"], trace
    assert agent.wait() == 0, agent.output()
    assert callee.wait() == 0, callee.output()
    agent_port, callee_port = _media_port(agent), _media_port(callee)
    to_agent = audio(between(packets, dst=agent_port))
    from_agent = audio(between(packets, src=agent_port))
    assert len(to_agent) > 100, "we sent the agent (almost) no RTP"
    bridged = [p for p in to_agent if p.rms > 1000]
    assert len(bridged) > 75, "the callee's audio did not reach the agent"
    assert abs(dominant_frequency(bridged) - 1200.0) < 20
    to_callee = [p for p in audio(between(packets, dst=callee_port)) if p.at > from_agent[0].at]
    heard = [p for p in to_callee if p.rms > 1000]
    assert len(heard) > 75, "the agent's audio did not reach the callee"
    assert abs(dominant_frequency(heard) - 700.0) < 20


def test_transfer_by_refer_completes_when_the_far_end_reports_the_answer(
    live: Store, sipp: Callable[..., Sipp], tmp_path: Path
) -> None:
    """A flow's transfer in ``refer`` mode sends the callee a REFER to the agent's number on
    the trunk; sipp accepts it and reports the transferee's call answered (NOTIFY with a
    ``SIP/2.0 200 OK`` sipfrag): the step's outcome is ``completed``, and the flow hangs up."""
    flow = f"""
flow: 1
start: desk
steps:
  desk:
    type: transfer
    to: "tel:{AGENT}"
    mode: refer
    timeout_s: 10
    branches: {{completed: moved, busy: sorry, noanswer: sorry, failed: sorry}}
  moved: {{type: result, fields: {{transfer: "referred"}}, next: done}}
  sorry: {{type: result, fields: {{transfer: "failed"}}, next: done}}
  done: {{type: hangup}}
"""
    hello = espeak_clip(tmp_path / "hello.ul", "Hello?")
    callee_audio = write_ulaw(tmp_path / "callee.ul", quiet(0.2), hello, quiet(10.0))
    peer = sipp("flow_refer.xml", audio=callee_audio, ring_ms=RING_MS)
    config = trunk_config(peer.port)
    account, call_id = _queue(live, config, flow)

    call = _dial(live, account, call_id, tmp_path)

    assert call.status is CallStatus.COMPLETED
    assert call.results == {"transfer": "referred"}
    trace = _trace(call)
    assert [entry["step"] for entry in trace] == ["desk", "moved", "done"], trace
    assert (trace[0]["type"], trace[0]["outcome"]) == ("transfer", "completed"), trace
    assert peer.wait() == 0, peer.output()
    assert f"Refer-To: <sip:{AGENT}@127.0.0.1:{peer.port}>" in peer.messages()


class _SlowFlowService(BaseHTTPRequestHandler):
    """A flow URL that does not answer in time: it holds each request until released."""

    release: threading.Event

    def do_POST(self) -> None:
        self.release.wait(10.0)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def slow_flow_url() -> Iterator[str]:
    release = threading.Event()
    handler = type("Handler", (_SlowFlowService,), {"release": release})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="slow-flow-url", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/flow"
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_flow_url_that_times_out_falls_back_to_the_stored_flow(
    live: Store, sipp: Callable[..., Sipp], slow_flow_url: str, tmp_path: Path
) -> None:
    flow = """
flow: 1
start: hi
steps:
  hi: {type: say, text: "Hello from the stored flow.", next: mark}
  mark: {type: result, fields: {flow: "stored"}, next: done}
  done: {type: hangup}
"""
    hello = espeak_clip(tmp_path / "hello.ul", "Hello?")
    callee = write_ulaw(tmp_path / "person.ul", quiet(0.2), hello, quiet(15.0))
    peer = sipp("flow_callee.xml", audio=callee, ring_ms=RING_MS)
    config = trunk_config(peer.port)
    account, call_id = _queue(live, config, flow, flow_url=slow_flow_url)

    call = _dial(live, account, call_id, tmp_path)

    assert call.status is CallStatus.COMPLETED
    assert call.results == {"flow": "stored"}
    assert _steps(call) == ["hi", "mark", "done"]
    failed = [event for event in call.events if event.event == "flow_failed"]
    assert len(failed) == 1, call.events
    assert failed[0].detail is not None and re.match(r"flow_url: ", failed[0].detail)
    assert peer.wait() == 0, peer.output()


def _played_at(sent: list[Rtp], prompt: bytes) -> float | None:
    """When the packet carrying the middle 20 ms of ``prompt`` (µ-law) went out, if one did:
    prompts go out in 20 ms packets from their first byte, so each such chunk is a payload."""
    middle = (len(prompt) // 2) // FRAME_BYTES * FRAME_BYTES
    chunk = prompt[middle : middle + FRAME_BYTES]
    return next((p.at for p in audio(sent) if p.payload == chunk), None)


def test_a_wrong_key_then_no_input_runs_the_retries_then_gives_up(
    live: Store, sipp: Callable[..., Sipp], capture: Callable[..., Capture], tmp_path: Path
) -> None:
    """The callee presses 9 (not a choice), then nothing: the menu plays its no-match prompt,
    then its no-input prompt (both seen in the capture, in that order), and after the third
    attempt goes to ``then``."""
    flow = """
flow: 1
start: ask
steps:
  ask:
    type: menu
    prompt: "Press 1."
    choices: {"1": done}
    timeout_s: 1
    attempts: 3
    no_match: ["That key is not an option."]
    no_input: ["Are you still there?"]
    then: gave_up
  gave_up: {type: result, fields: {menu: "gave up"}, next: done}
  done: {type: hangup}
"""
    hello = espeak_clip(tmp_path / "hello.ul", "Hello?")
    callee = write_ulaw(tmp_path / "person.ul", quiet(0.2), hello, quiet(15.0))
    peer = sipp(
        "flow_callee_key.xml", audio=callee, ring_ms=RING_MS, key_ms=1500, digit_pcap=DTMF_9
    )
    config = trunk_config(peer.port)
    wire = capture(config.rtp_ports)
    account, call_id = _queue(live, config, flow)

    call = _dial(live, account, call_id, tmp_path)
    packets = wire.stop()

    assert call.results == {"menu": "gave up"}
    trace = _trace(call)
    assert [entry["step"] for entry in trace] == ["ask", "gave_up", "done"], trace
    assert trace[0]["outcome"] == "no input after 3 attempts"
    assert peer.wait() == 0, peer.output()
    sent, _ = _ours(packets, config)
    # the prompts as the dialer synthesised them (sox dithers: each synthesis differs)
    tts = TtsCache(EspeakSynthesizer(), directory=_tts_cache(tmp_path))
    first, no_match, no_input = (
        _played_at(sent, tts.get(text))
        for text in ("Press 1.", "That key is not an option.", "Are you still there?")
    )
    assert first is not None and no_match is not None and no_input is not None
    assert first < no_match < no_input


def _spoken_at(received: list[Rtp], after: float) -> float:
    """When the callee's next speech after ``after`` (capture clock) reached us."""
    return next(p.at for p in speech(audio(received)) if p.at > after)


def test_a_spoken_yes_mid_question_confirms_the_appointment(
    live: Store, sipp: Callable[..., Sipp], capture: Callable[..., Capture], tmp_path: Path
) -> None:
    """sipp answers, says "hello?", and 7.5 s after the answer, while the reminder's question
    ("To confirm, press 1 or say yes. ...", about 6 s from 4.3 s) plays, says "yes" (espeak-ng,
    µ-law RTP): the question stops before its end (barge-in by voice), the flow takes key 1's
    branch, and the trace says it was spoken."""
    hello = espeak_clip(tmp_path / "hello.ul", "Hello?")
    yes = espeak_clip(tmp_path / "yes.ul", "yes")
    callee = write_ulaw(
        tmp_path / "person.ul",
        quiet(0.2),
        hello,
        quiet(7.5 - 0.2 - len(hello) / 8000),
        yes,
        quiet(15.0),
    )
    peer = sipp("flow_callee.xml", audio=callee, ring_ms=RING_MS)
    config = trunk_config(peer.port)
    wire = capture(config.rtp_ports)
    account, call_id = _queue(live, config, REMINDER, PARAMS)

    call = _dial(live, account, call_id, tmp_path)
    packets = wire.stop()

    assert (call.status, call.callee_type) == (CallStatus.COMPLETED, CalleeType.VOICE)
    assert call.results == {"confirmed": "yes"}
    trace = _trace(call)
    assert [entry["step"] for entry in trace] == [
        *("greet", "who", "ask", "confirmed", "thanks", "done")
    ], trace
    assert trace[2]["outcome"] == "said 'yes': key 1", trace
    assert peer.wait() == 0, peer.output()
    # On the wire: the question was playing when the "yes" came, it never reached its end,
    # and "thank you" followed the word
    sent, received = _ours(packets, config)
    said_at = _spoken_at(received, _spoken_at(received, 0.0) + 2.0)
    assert [p for p in speech(sent) if said_at - 0.5 <= p.at < said_at], "no prompt was playing"
    tts = default_cache(_tts_cache(tmp_path))  # the dialer's cache: the prompts it sent
    question = tts.get(
        "To confirm, press 1 or say yes. To speak to our front desk, press 2 or say front desk.",
        load_flow(REMINDER).voice,
    )
    assert _played_at(sent, question[: len(question) // 10]) is not None  # its start
    assert _played_at(sent, question[-len(question) // 10 :]) is None, "the question played out"
    assert [p for p in speech(sent) if p.at > said_at + 0.3], "no 'thank you' after the 'yes'"


def test_a_word_the_menu_does_not_know_gets_the_no_match_prompt_then_yes_counts(
    live: Store, sipp: Callable[..., Sipp], capture: Callable[..., Capture], tmp_path: Path
) -> None:
    """After the question, the callee says "Hello, who is this?" (not the menu's phrase): the
    menu plays its no-match prompt (seen in the capture after the words), then takes "yes".

    ("What did you say?" would be the harder case: in a call the recogniser takes it for "ok",
    a synonym of yes, with enough confidence. Out-of-grammar speech is still accepted about a
    quarter of the time: issue 12's open aim.)"""
    flow = """
flow: 1
start: ask
steps:
  ask:
    type: menu
    prompt: "Say yes, or press 1."
    choices: {"1": chosen}
    speech: {"yes": "1"}
    timeout_s: 5
    attempts: 2
    no_match: ["That is not an option."]
    then: missed
  chosen:
    type: result
    fields: {answer: "${ask$.value}", mode: "${ask$.inputmode}", heard: "${ask$.utterance}"}
    next: done
  missed: {type: result, fields: {answer: "none"}, next: done}
  done: {type: hangup}
"""
    other = espeak_clip(tmp_path / "other.ul", "Hello, who is this?")
    yes = espeak_clip(tmp_path / "yes.ul", "yes")
    callee = write_ulaw(
        tmp_path / "person.ul",
        quiet(3.0),
        other,
        quiet(7.0 - 3.0 - len(other) / 8000),
        yes,
        quiet(12.0),
    )
    peer = sipp("flow_callee.xml", audio=callee, ring_ms=RING_MS)
    config = trunk_config(peer.port)
    wire = capture(config.rtp_ports)
    account, call_id = _queue(live, config, flow)

    call = _dial(live, account, call_id, tmp_path)
    packets = wire.stop()

    assert call.results == {"answer": "1", "mode": "voice", "heard": "yes"}
    trace = _trace(call)
    assert [(entry["step"], entry["outcome"]) for entry in trace] == [
        ("ask", "said 'yes': key 1"),
        ("chosen", "fields answer, mode, heard"),
        ("done", "hangup"),
    ], trace
    assert peer.wait() == 0, peer.output()
    sent, received = _ours(packets, config)
    other_at = _spoken_at(received, 0.0)
    yes_at = _spoken_at(received, other_at + 2.0)
    tts = TtsCache(EspeakSynthesizer(), directory=_tts_cache(tmp_path))
    no_match = _played_at(sent, tts.get("That is not an option."))
    assert no_match is not None, "the no-match prompt was not played"
    assert other_at < no_match < yes_at
