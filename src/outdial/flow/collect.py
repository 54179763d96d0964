"""Menu and digits: prompt, wait for keys, retry with the no-input / no-match prompts.

A key pressed while the prompt plays stops it (barge-in) and counts. Keys pressed before the
step (during an earlier prompt with barge-in, a pause, detection) are in ``ctx.keys`` and are
taken first: then the prompt is not played at all. After a wrong input the remaining
type-ahead is dropped, so the callee hears the no-match prompt. Retry *n* (the second attempt
is retry 1) plays ``no_input[n-1]`` or ``no_match[n-1]``, the last one again when the list is
shorter, or the main prompt when there is none. When the last attempt fails the flow goes to
``then``, or ends.
"""

from __future__ import annotations

import re

from outdial.flow import events as e
from outdial.flow import steps as s
from outdial.flow.context import Context, Done
from outdial.flow.runners import Prompting
from outdial.flow.steps import JsonValue

NO_INPUT = "no input"
NO_MATCH = "no match"


def _normalise(phrase: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", phrase.lower()).split())


class Collecting(Prompting):
    """What menu and digits share: the attempts, the prompt and the first-key timer."""

    wants_keys = True
    hears_speech = False  # Speech events count (menus); otherwise they are ignored
    step: s.MenuStep | s.DigitsStep
    timer: str | None = None
    attempt = 1

    def begin(self, ctx: Context) -> Done | None:
        return self.ask(ctx, self.step.prompt)

    def ask(self, ctx: Context, prompt: s.Prompt | None) -> Done | None:
        self.reset()
        attempt = self.attempt
        while ctx.keys:
            done = self.key(ctx, ctx.keys.popleft())
            if done is not None or self.attempt != attempt:  # finished, or a retry took over
                return done
        if self.collecting():
            self.timer = ctx.start_timer(self.pause_s())
        elif prompt is not None:
            self.playing = ctx.play(prompt, bargein=True)
        else:
            self.timer = ctx.start_timer(self.step.timeout_s)
        return None

    def feed(self, ctx: Context, event: e.Event) -> Done | None:
        handled = self.prompt_event(ctx, event)
        if handled is True:
            self.timer = ctx.start_timer(self.step.timeout_s)
            return None
        if isinstance(handled, Done):
            return handled
        if isinstance(event, e.TimerFired) and event.timer_id == self.timer:
            self.timer = None
            return self.timed_out(ctx)
        if isinstance(event, e.Digit) or (isinstance(event, e.Speech) and self.hears_speech):
            if self.playing is not None:
                ctx.stop(self.playing)
                self.playing = None
            ctx.cancel_timer(self.timer)
            self.timer = None
            attempt = self.attempt
            if isinstance(event, e.Digit):
                done = self.key(ctx, event.key)
            else:
                done = self.speech(ctx, event)
            if done is None and self.attempt == attempt:  # more keys may come: wait for them
                self.timer = ctx.start_timer(self.pause_s())
            return done
        return None

    def retry(self, ctx: Context, kind: str) -> Done | None:
        st = self.step
        if self.attempt >= st.attempts:
            outcome = f"{kind} after {st.attempts} attempts"
            values: dict[str, JsonValue] = {"value": ""}
            if st.then is not None:
                return Done(st.then, outcome, values)
            return Done(None, outcome, values, end=f"step '{st.id}': {outcome}")
        self.attempt += 1
        if kind == NO_MATCH:
            ctx.keys.clear()
        prompts = st.no_input if kind == NO_INPUT else st.no_match
        prompt = prompts[min(self.attempt - 2, len(prompts) - 1)] if prompts else st.prompt
        return self.ask(ctx, prompt)

    def cancel(self, ctx: Context) -> None:
        super().cancel(ctx)
        ctx.cancel_timer(self.timer)
        self.timer = None

    # what menu and digits do differently

    def reset(self) -> None:
        """A new attempt starts."""

    def collecting(self) -> bool:
        """Some keys are in and more may follow."""
        return False

    def pause_s(self) -> float:
        return self.step.timeout_s

    def key(self, ctx: Context, key: str) -> Done | None:
        raise NotImplementedError

    def speech(self, ctx: Context, event: e.Speech) -> Done | None:
        return None

    def timed_out(self, ctx: Context) -> Done | None:
        return self.retry(ctx, NO_INPUT)


class MenuRunner(Collecting):
    """One key (or a spoken phrase standing for one) chooses the next step."""

    step: s.MenuStep
    hears_speech = True

    def key(self, ctx: Context, key: str) -> Done | None:
        return self.choose(ctx, key, "dtmf", key, 1.0)

    def speech(self, ctx: Context, event: e.Speech) -> Done | None:
        key = event.key
        if key is None:
            heard = _normalise(event.text)
            key = next((k for p, k in self.step.speech.items() if _normalise(p) == heard), None)
        if key is None:
            return self.retry(ctx, NO_MATCH)
        return self.choose(ctx, key, "voice", event.text, event.confidence)

    def choose(
        self, ctx: Context, key: str, mode: str, utterance: str, confidence: float
    ) -> Done | None:
        target = self.step.choices.get(key)
        if target is None:
            return self.retry(ctx, NO_MATCH)
        values: dict[str, JsonValue] = {
            "value": key,
            "inputmode": mode,
            "utterance": utterance,
            "confidence": confidence,
        }
        outcome = f"key {key}" if mode == "dtmf" else f"said {utterance!r}: key {key}"
        return Done(target, outcome, values, redacted=f"{'key' if mode == 'dtmf' else 'speech'}")


class DigitsRunner(Collecting):
    """Keys until ``finish_on``, ``max`` keys, or ``interdigit_s`` of quiet; then ``min`` and
    ``pattern`` decide whether it is a match. Only the finish key alone is no input."""

    step: s.DigitsStep
    value = ""

    def reset(self) -> None:
        self.value = ""

    def collecting(self) -> bool:
        return bool(self.value)

    def pause_s(self) -> float:
        return self.step.interdigit_s if self.value else self.step.timeout_s

    def key(self, ctx: Context, key: str) -> Done | None:
        if self.step.finish_on and key == self.step.finish_on:
            return self.complete(ctx)
        if key not in s.DTMF_KEYS:
            return None
        self.value += key
        if len(self.value) >= self.step.max:
            return self.complete(ctx)
        return None

    def timed_out(self, ctx: Context) -> Done | None:
        return self.complete(ctx) if self.value else self.retry(ctx, NO_INPUT)

    def complete(self, ctx: Context) -> Done | None:
        st, value = self.step, self.value
        if not value:
            return self.retry(ctx, NO_INPUT)
        if len(value) < st.min or (st.pattern is not None and not re.fullmatch(st.pattern, value)):
            return self.retry(ctx, NO_MATCH)
        return Done(st.next, f"value {value}", {"value": value}, redacted="input")
