"""Run a flow without a call: an interpreter driven on a virtual clock.

A :class:`Rehearsal` does what a driver does with the actions — keeps the timers, the prompt
playing, the pending HTTP request, recording, transfer — but nothing happens for real and time
moves only when told to. The tests use it; so can a dry run in the studio or a user's own test
of a flow. ``advance(ms)`` fires the timers that fall due, in order, each at its own time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from outdial.calls import CalleeType
from outdial.flow import actions as a
from outdial.flow import events as e
from outdial.flow.context import Session
from outdial.flow.document import Flow
from outdial.flow.interpreter import Interpreter
from outdial.flow.steps import JsonValue, Scalar

_A = TypeVar("_A", bound=a.Action)


class Rehearsal:
    def __init__(
        self,
        flow: Flow,
        params: Mapping[str, str] | None = None,
        session: Session | None = None,
    ) -> None:
        self.interpreter = Interpreter(flow, params or {}, session or Session("rehearsal"))
        self.now = 0  # ms from answer
        self.timers: dict[str, int] = {}  # timer id -> when it fires (ms)
        self.playing: dict[str, a.Play] = {}
        self.http: dict[str, a.HttpRequest] = {}
        self.fetches: dict[str, a.FetchFlow] = {}
        self.recording: a.Record | None = None
        self.transfer: a.Transfer | None = None
        self.listening: dict[str, a.Listen] = {}  # menus listening for speech
        self.actions: list[a.Action] = []  # everything asked for, in order

    # what happened

    @property
    def ended(self) -> a.Ended | None:
        return self.interpreter.ended

    @property
    def results(self) -> dict[str, Scalar]:
        return dict(self.interpreter.results)

    @property
    def plays(self) -> list[a.Play]:
        return [x for x in self.actions if isinstance(x, a.Play)]

    @property
    def spoken(self) -> list[str | None]:
        """The text (or audio file) of every prompt started, in order."""
        return [p.text if p.text is not None else p.audio for p in self.plays]

    @property
    def steps(self) -> list[str]:
        return [t.step for t in self.interpreter.trace]

    def of(self, kind: type[_A]) -> list[_A]:
        """The actions of one kind asked for so far."""
        return [x for x in self.actions if isinstance(x, kind)]

    # driving

    def start(self) -> list[a.Action]:
        return self._apply(self.interpreter.start(self.now))

    def feed(self, event: e.Event) -> list[a.Action]:
        self._settle(event)
        return self._apply(self.interpreter.feed(event))

    def advance(self, ms: int) -> list[a.Action]:
        """Let ``ms`` pass, firing the timers that fall due."""
        until = self.now + ms
        out: list[a.Action] = []
        while self.timers and self.ended is None:
            timer_id, due = min(self.timers.items(), key=lambda item: (item[1], item[0]))
            if due > until:
                break
            del self.timers[timer_id]
            self.now = due
            out += self.feed(e.TimerFired(timer_id, at_ms=due))
        self.now = until
        return out

    def finish_prompt(self, after_ms: int = 0) -> list[a.Action]:
        """The prompt playing finishes ``after_ms`` from now."""
        out = self.advance(after_ms)
        play_id = self._one(self.playing, "prompt playing")
        return out + self.feed(e.PromptFinished(play_id, at_ms=self.now))

    def fail_prompt(self, error: str = "tts failed") -> list[a.Action]:
        play_id = self._one(self.playing, "prompt playing")
        return self.feed(e.PlayFailed(play_id, error, at_ms=self.now))

    def press(self, keys: str, gap_ms: int = 0) -> list[a.Action]:
        out: list[a.Action] = []
        for i, key in enumerate(keys):
            if i:
                out += self.advance(gap_ms)
            out += self.feed(e.Digit(key, at_ms=self.now))
        return out

    def say(
        self,
        text: str,
        key: str | None = None,
        confidence: float = 0.9,
        *,
        listen_id: str = "",
    ) -> list[a.Action]:
        """The callee's utterance, recognised (``key``: what the recogniser matched)."""
        return self.feed(e.Speech(text, key, confidence, listen_id, at_ms=self.now))

    def start_speaking(self, *, listen_id: str = "") -> list[a.Action]:
        """The callee starts an utterance (its :meth:`say` follows)."""
        return self.feed(e.SpeechStarted(listen_id, at_ms=self.now))

    def verdict(self, callee_type: str, *, revised: bool = False) -> list[a.Action]:
        return self.feed(e.Verdict(CalleeType(callee_type), revised, at_ms=self.now))

    def beep_end(self, beep: bool = True) -> list[a.Action]:
        return self.feed(e.BeepEnd(beep, at_ms=self.now))

    def reply_http(
        self,
        status: int | None = 200,
        json: JsonValue = None,
        text: str = "",
        error: str | None = None,
    ) -> list[a.Action]:
        request_id = self._one(self.http, "http request")
        return self.feed(e.HttpReply(request_id, status, json, text, error, at_ms=self.now))

    def end_recording(
        self, termchar: str = "", duration_s: float = 1.0, recording: str = "rec.wav"
    ) -> list[a.Action]:
        assert self.recording is not None, "nothing is recording"
        record_id = self.recording.record_id
        event = e.RecordingEnded(record_id, termchar, duration_s, recording, at_ms=self.now)
        return self.feed(event)

    def end_transfer(self, outcome: e.TransferOutcome, duration_s: float = 0.0) -> list[a.Action]:
        return self.feed(e.TransferEnded(outcome, duration_s, at_ms=self.now))

    def fetched(self, flow: Flow | None, error: str | None = None) -> list[a.Action]:
        request_id = self._one(self.fetches, "flow fetch")
        return self.feed(e.FlowFetched(request_id, flow, error, at_ms=self.now))

    def hang_up(self) -> list[a.Action]:
        return self.feed(e.HangUp(at_ms=self.now))

    # bookkeeping of the actions, as a driver would

    @staticmethod
    def _one(pending: Mapping[str, object], what: str) -> str:
        assert len(pending) == 1, f"expected one {what}, have {list(pending)}"
        return next(iter(pending))

    def _apply(self, actions: list[a.Action]) -> list[a.Action]:
        self.actions += actions
        for x in actions:
            if isinstance(x, a.StartTimer):
                self.timers[x.timer_id] = self.now + round(x.seconds * 1000)
            elif isinstance(x, a.CancelTimer):
                self.timers.pop(x.timer_id, None)
            elif isinstance(x, a.Play):
                self.playing[x.play_id] = x
            elif isinstance(x, a.StopPlay):
                self.playing.pop(x.play_id, None)
            elif isinstance(x, a.HttpRequest):
                self.http[x.request_id] = x
            elif isinstance(x, a.FetchFlow):
                self.fetches[x.request_id] = x
            elif isinstance(x, a.Record):
                self.recording = x
            elif isinstance(x, a.Transfer):
                self.transfer = x
            elif isinstance(x, a.Listen):
                self.listening[x.listen_id] = x
            elif isinstance(x, a.StopListen):
                self.listening.pop(x.listen_id, None)
        return actions

    def _settle(self, event: e.Event) -> None:
        if isinstance(event, e.PromptFinished | e.PlayFailed):
            self.playing.pop(event.play_id, None)
        elif isinstance(event, e.HttpReply):
            self.http.pop(event.request_id, None)
        elif isinstance(event, e.FlowFetched):
            self.fetches.pop(event.request_id, None)
        elif isinstance(event, e.RecordingEnded):
            self.recording = None
        elif isinstance(event, e.TransferEnded):
            self.transfer = None
        elif isinstance(event, e.TimerFired):
            self.timers.pop(event.timer_id, None)
