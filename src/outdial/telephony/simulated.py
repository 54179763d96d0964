"""The simulated carrier: calls with no network, for demos and load tests.

Outcomes follow rules matched against the E.164 number; the first rule that matches wins::

    {"seed": 1,
     "rules": [{"match": "^\\\\+1617555", "outcome": "busy", "ring_s": 2.0},
               {"match": ".*", "weights": {"voice": 6, "answeringmachine": 3, "noanswer": 1},
                "ring_s": 4.0, "talk_s": 20.0}]}

A rule gives either one ``outcome`` or ``weights`` over outcomes (drawn with a generator seeded
by ``seed``, the call ID and the attempt number, so a run is repeatable). Outcomes are callee
types (SPEC §2): answered ones (voice, answeringmachine, fax, unknown) ring for ``ring_s`` and
then talk for ``talk_s`` before the callee hangs up; busy, informationtone and linefailure end
with the SIP response a real carrier would send; noanswer rings until the ring timeout (the
leg's, ``Leg.events``) or ``ring_s``, then 480. Numbers no rule matches are answered by a person.

A rule can script the callee, so call flows run end to end with no network: a person (the
``voice`` outcome) presses keys and says words at set times, and any answered callee may hang
up at a set time instead of after ``talk_s`` (all in seconds from the answer)::

    {"match": ".*", "outcome": "voice",
     "callee": {"press": [{"at_s": 4.0, "digits": "1"}],
                 "say": [{"at_s": 9.0, "text": "yes"}], "hangup_s": 20}}

What a callee says is a recorded clip (``simaudio.said_words()``: yes, no, one, two, ...),
played in the callee's audio; a word without a clip is refused with the list of those there are.

``callee.sound`` replaces the outcome's usual audio with a scripted one from
``simaudio.SOUNDS``: ``{"outcome": "answeringmachine", "callee": {"sound":
"voicemail-late-beep"}}`` is a voicemail that sounds like a person at first and beeps late.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from outdial.audio.frames import FRAME_SAMPLES, SAMPLE_RATE
from outdial.calls import ANSWERED_CALLEE_TYPES, CalleeType
from outdial.errors import InvalidField
from outdial.telephony import simaudio
from outdial.telephony.carrier import (
    Answered,
    AudioFrame,
    Carrier,
    DialRequest,
    Ended,
    HangupCause,
    Leg,
    LegEvent,
    Ringing,
)

DEFAULT_RING = 2.0  # seconds a simulated phone rings before it is answered
DEFAULT_TALK = 10.0  # seconds a simulated callee stays on the line
DTMF_KEYS = re.compile(r"[0-9*#A-Da-d]+")
LINE_FAILURE_DELAY = 0.2  # seconds before a simulated network failure is reported
AUDIO_CHUNK = 10 * FRAME_SAMPLES  # samples handed over per wake-up (200 ms), not one 20 ms frame

# What a real carrier answers for each unanswered outcome (SPEC §6 maps them back).
SIP_RESULT: Mapping[CalleeType, tuple[int, str]] = {
    CalleeType.BUSY: (486, "486 Busy Here"),
    CalleeType.NOANSWER: (480, "480 Temporarily Unavailable"),
    CalleeType.INFORMATIONTONE: (404, "404 Not Found"),
    CalleeType.LINEFAILURE: (503, "503 Service Unavailable"),
}
OUTCOMES = frozenset(ANSWERED_CALLEE_TYPES | SIP_RESULT.keys())


@dataclass(frozen=True, slots=True)
class SimRule:
    pattern: re.Pattern[str]
    weights: tuple[tuple[CalleeType, float], ...]  # one entry when the outcome is fixed
    ring_s: float | None = None  # None: DEFAULT_RING, or ring until timeout for noanswer
    talk_s: float = DEFAULT_TALK
    presses: tuple[tuple[float, str], ...] = ()  # (seconds from answer, keys) a person presses
    says: tuple[tuple[float, str], ...] = ()  # (seconds from answer, words) a person says
    hangup_s: float | None = None  # seconds from answer the callee hangs up (None: talk_s)
    sound: str | None = None  # a scripted sound (simaudio.SOUNDS) instead of the outcome's

    @property
    def talk(self) -> float:
        """Seconds from the answer to the callee's hang-up."""
        return self.talk_s if self.hangup_s is None else self.hangup_s

    def outcome(self, rng: random.Random) -> CalleeType:
        if len(self.weights) == 1:
            return self.weights[0][0]
        types = [t for t, _ in self.weights]
        return rng.choices(types, weights=[w for _, w in self.weights])[0]


@dataclass(frozen=True, slots=True)
class SimConfig:
    seed: int = 0
    rules: tuple[SimRule, ...] = field(default_factory=tuple)

    def rule_for(self, phone_number: str) -> SimRule:
        for rule in self.rules:
            if rule.pattern.search(phone_number):
                return rule
        return SimRule(re.compile(""), ((CalleeType.VOICE, 1.0),))


def _number(where: str, value: Any, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= minimum:
        raise InvalidField("sim_config", f"{where} must be a number >= {minimum:g}")
    return float(value)


def _outcome(where: str, value: Any) -> CalleeType:
    try:
        outcome = CalleeType(value)
    except ValueError:
        outcome = None
    if outcome not in OUTCOMES:
        allowed = ", ".join(sorted(t.value for t in OUTCOMES))
        raise InvalidField("sim_config", f"{where}: {value!r} is not an outcome ({allowed})")
    assert outcome is not None
    return outcome


def parse_sim_config(data: Any) -> SimConfig:
    """Validate a simulated trunk's configuration (parsed JSON); errors name the rule."""
    if not isinstance(data, dict):
        raise InvalidField("sim_config", "must be a JSON object with 'rules'")
    unknown = set(data) - {"seed", "rules"}
    if unknown:
        raise InvalidField(
            "sim_config", f"unknown key {sorted(unknown)[0]!r} (allowed: rules, seed)"
        )
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidField("sim_config", "seed must be an integer")
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise InvalidField("sim_config", "rules must be a list")
    rules = []
    for index, raw in enumerate(raw_rules, start=1):
        where = f"rule {index}"
        if not isinstance(raw, dict):
            raise InvalidField("sim_config", f"{where} must be an object")
        unknown = set(raw) - {"match", "outcome", "weights", "ring_s", "talk_s", "callee"}
        if unknown:
            raise InvalidField("sim_config", f"{where}: unknown key {sorted(unknown)[0]!r}")
        try:
            pattern = re.compile(str(raw.get("match", "")))
        except re.error as error:
            raise InvalidField("sim_config", f"{where}: bad match pattern ({error})") from None
        if ("outcome" in raw) == ("weights" in raw):
            raise InvalidField("sim_config", f"{where}: give either 'outcome' or 'weights'")
        if "outcome" in raw:
            weights: tuple[tuple[CalleeType, float], ...] = (
                (_outcome(where, raw["outcome"]), 1.0),
            )
        else:
            table = raw["weights"]
            if not isinstance(table, dict) or not table:
                raise InvalidField("sim_config", f"{where}: weights must be a non-empty object")
            weights = tuple(
                (_outcome(where, name), _number(f"{where}: weight of {name}", w))
                for name, w in table.items()
            )
            if not sum(w for _, w in weights) > 0:
                raise InvalidField("sim_config", f"{where}: weights must not all be 0")
        ring = raw.get("ring_s")
        callee = _callee(where, raw.get("callee", {}))
        rules.append(
            SimRule(
                pattern,
                weights,
                None if ring is None else _number(f"{where}: ring_s", ring),
                _number(f"{where}: talk_s", raw.get("talk_s", DEFAULT_TALK)),
                callee.presses,
                callee.says,
                callee.hangup_s,
                callee.sound,
            )
        )
    return SimConfig(seed, tuple(rules))


@dataclass(frozen=True, slots=True)
class _Callee:
    presses: tuple[tuple[float, str], ...]
    says: tuple[tuple[float, str], ...]
    hangup_s: float | None
    sound: str | None


def _callee(where: str, raw: Any) -> _Callee:
    """A rule's scripted callee: keys pressed and words said at set times, when it hangs up,
    and what it sounds like (a scripted sound instead of the outcome's)."""
    if not isinstance(raw, dict):
        raise InvalidField("sim_config", f"{where}: callee must be an object")
    unknown = set(raw) - {"press", "say", "hangup_s", "sound"}
    if unknown:
        raise InvalidField(
            "sim_config",
            f"{where}: callee: unknown key {sorted(unknown)[0]!r} "
            "(allowed: hangup_s, press, say, sound)",
        )
    presses = []
    for at, press in _timed(where, raw, "press", "digits"):
        keys = press["digits"]
        if not isinstance(keys, str) or not keys or not DTMF_KEYS.fullmatch(keys):
            raise InvalidField("sim_config", f"{at}: digits must be keys 0-9 * # A-D")
        presses.append((_number(f"{at}: at_s", press["at_s"]), keys.upper()))
    says = []
    for at, say in _timed(where, raw, "say", "text"):
        text = say["text"]
        words = " ".join(text.lower().split()) if isinstance(text, str) else None
        if words not in simaudio.said_words():
            known = ", ".join(repr(w) for w in simaudio.said_words())
            raise InvalidField(
                "sim_config", f"{at}: no recording of {text!r} to say (there are: {known})"
            )
        says.append((_number(f"{at}: at_s", say["at_s"]), words))
    hangup = raw.get("hangup_s")
    hangup_s = None if hangup is None else _number(f"{where}: callee.hangup_s", hangup)
    sound = raw.get("sound")
    if sound is not None and sound not in simaudio.SOUNDS:
        known = ", ".join(simaudio.SOUNDS)
        raise InvalidField("sim_config", f"{where}: callee.sound: {sound!r} is not one of {known}")
    return _Callee(tuple(sorted(presses)), tuple(sorted(says)), hangup_s, sound)


def _timed(where: str, raw: dict[str, Any], name: str, field: str) -> list[tuple[str, Any]]:
    """The entries of ``callee.<name>``, a list of ``{"at_s": s, <field>: …}``, each with
    where it is for error messages."""
    entries = raw.get(name, [])
    if not isinstance(entries, list):
        raise InvalidField("sim_config", f"{where}: callee.{name} must be a list")
    out = []
    for number, entry in enumerate(entries, start=1):
        at = f"{where}: callee.{name} {number}"
        if not isinstance(entry, dict) or set(entry) != {"at_s", field}:
            raise InvalidField("sim_config", f'{at} must be {{"at_s": s, "{field}": …}}')
        out.append((at, entry))
    return out


def load_sim_config(text: str) -> SimConfig:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise InvalidField("sim_config", f"is not valid JSON ({error})") from None
    return parse_sim_config(data)


class SimulatedLeg(Leg):
    """One simulated call. Its timeline runs from the dial, in the carrier's time: however
    long the dialer takes to record the ringing or the answer, the callee hangs up ``ring_s +
    talk_s`` seconds after the dial, as a real one would."""

    def __init__(
        self, request: DialRequest, outcome: CalleeType, rule: SimRule, seed: int = 0
    ) -> None:
        super().__init__(request)
        self.outcome = outcome
        self.rule = rule
        self._seed = seed
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._hung_up = False
        self._waiters: set[asyncio.Future[None]] = set()
        self._cause: HangupCause | None = None  # why we hung up, once we did
        self.dtmf_sent: list[str] = []

    @property
    def _ring(self) -> float | None:
        """Seconds from the dial to the answer or final response (None: until hung up)."""
        if self.rule.ring_s is not None:
            return self.rule.ring_s
        return None if self.outcome is CalleeType.NOANSWER else DEFAULT_RING

    async def _wait(self, offset: float | None) -> bool:
        """Wait until ``offset`` seconds after the dial (None: until hung up); True if we were
        hung up meanwhile. A timer and a future, no task: thousands of calls wait at once."""
        if self._hung_up:
            return True
        delay = None if offset is None else self._started + offset - self._loop.time()
        if delay is not None and delay <= 0:
            await asyncio.sleep(0)  # let others run, as a real wait would
            return self._hung_up
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiters.add(waiter)
        timer = None if delay is None else self._loop.call_later(delay, _wake, waiter)
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            self._waiters.discard(waiter)
        return self._hung_up

    async def _progress(self) -> AsyncGenerator[LegEvent, None]:
        outcome = self.outcome
        if outcome is CalleeType.LINEFAILURE:
            if await self._wait(LINE_FAILURE_DELAY):
                yield self._hung_up_end()
                return
            code, reason = SIP_RESULT[outcome]
            yield Ended(outcome, reason, code)
            return
        yield Ringing(early_media=outcome is CalleeType.INFORMATIONTONE)
        ring = self._ring
        if await self._wait(ring):
            yield self._hung_up_end()
            return
        if outcome in SIP_RESULT:
            code, reason = SIP_RESULT[outcome]
            yield Ended(outcome, reason, code)
            return
        yield Answered(outcome)
        assert ring is not None  # only noanswer rings without end, and it never answers
        if await self._wait(ring + self.rule.talk):
            yield self._hung_up_end()
            return
        yield Ended(None, "callee hung up")

    def _hung_up_end(self) -> Ended:
        assert self._cause is not None
        return Ended.hung_up(self._cause)

    async def audio(self) -> AsyncIterator[AudioFrame]:
        """The callee's side: a SIT while a dead number rings, or from the answer the sound of
        whoever answered, paced on the call's timeline, until the call ends."""
        ring = self._ring
        if ring is None:
            return
        early = simaudio.early_media(self.outcome, ring)
        if early is not None:
            sound, start = early, 0.0
        elif self.outcome in ANSWERED_CALLEE_TYPES:
            rng = random.Random(f"{self._seed}:{self.request.call_id}:{self.request.attempt}:a")
            sound = simaudio.answered_audio(
                self.outcome, rng, self.rule.talk, self.rule.says, self.rule.sound
            )
            start = ring
        else:
            return
        # A reader that starts late (a recording) hears the call from now, not from its start.
        now = self._loop.time() - self._started - start
        sent = min(len(sound), max(0, int(now * SAMPLE_RATE))) // FRAME_SAMPLES * FRAME_SAMPLES
        while sent + FRAME_SAMPLES <= len(sound):
            elapsed = self._loop.time() - self._started - start
            due = min(len(sound), int(elapsed * SAMPLE_RATE)) // FRAME_SAMPLES * FRAME_SAMPLES
            for at in range(sent, due, FRAME_SAMPLES):
                yield AudioFrame(sound[at : at + FRAME_SAMPLES].tobytes(), early is not None)
            sent = max(sent, due)
            if self._hung_up:
                return
            if sent + FRAME_SAMPLES <= len(sound):
                next_offset = start + (sent + AUDIO_CHUNK) / SAMPLE_RATE
                if await self._wait(next_offset):
                    return

    async def hangup(self, cause: HangupCause) -> None:
        if not self._hung_up:
            self._cause = cause
            self._hung_up = True
            for waiter in list(self._waiters):
                _wake(waiter)

    async def send_dtmf(self, digits: str) -> None:
        self.dtmf_sent.append(digits)

    async def digits(self) -> AsyncIterator[str]:
        """The keys the rule's scripted person presses, each at its time from the answer."""
        ring = self._ring
        if ring is None or self.outcome is not CalleeType.VOICE:
            return
        for at_s, keys in self.rule.presses:
            if at_s >= self.rule.talk or await self._wait(ring + at_s):
                return
            for key in keys:
                yield key


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class SimulatedCarrier(Carrier):
    def __init__(self, config: SimConfig) -> None:
        self.config = config

    def dial(self, request: DialRequest) -> SimulatedLeg:
        rule = self.config.rule_for(request.phone_number)
        if len(rule.weights) == 1:
            return SimulatedLeg(request, rule.weights[0][0], rule, self.config.seed)
        rng = random.Random(f"{self.config.seed}:{request.call_id}:{request.attempt}")
        return SimulatedLeg(request, rule.outcome(rng), rule, self.config.seed)
