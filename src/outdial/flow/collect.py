"""Menu and digits: prompt, wait for keys, retry with the no-input / no-match prompts.

A key pressed while the prompt plays stops it (barge-in) and counts. Keys pressed before the
step (during an earlier prompt with barge-in, a pause, detection) are in ``ctx.keys`` and are
taken first: then the prompt is not played at all. After a wrong input the remaining
type-ahead is dropped, so the callee hears the no-match prompt. Retry *n* (the second attempt
is retry 1) plays ``no_input[n-1]`` or ``no_match[n-1]``, the last one again when the list is
shorter, or the main prompt when there is none. When the last attempt fails the flow goes to
``then``, or ends.

A menu with ``speech`` also listens (:class:`~outdial.flow.actions.Listen`) from its start to
its end, retries included. A spoken answer the recogniser matched counts like a key, also
while a prompt plays (it stops the prompt: barge-in). One it did not match is a wrong input
once the prompt has finished, and is ignored while the prompt plays, so a cough or a word to
someone else does not cut the question off. When the callee starts to speak the no-input
timer stops, so a slow answer is not taken for silence; ``UTTERANCE_GUARD_S`` is how long its
recognition may then take before it counts as no input after all.
"""

from __future__ import annotations

import re

from outdial.flow import actions as a
from outdial.flow import events as e
from outdial.flow import steps as s
from outdial.flow.context import Context, Done
from outdial.flow.runners import Prompting
from outdial.flow.steps import JsonValue

NO_INPUT = "no input"
NO_MATCH = "no match"
UTTERANCE_GUARD_S = 15.0  # seconds from an utterance's start to its recognition, at most


def _normalise(phrase: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", phrase.lower()).split())


class Collecting(Prompting):
    """What menu and digits share: the attempts, the prompt and the first-key timer."""

    wants_keys = True
    step: s.MenuStep | s.DigitsStep
    timer: str | None = None
    attempt = 1
    speaking = False  # the callee started an utterance whose recognition has not come yet

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
            wait = UTTERANCE_GUARD_S if self.speaking else self.step.timeout_s
            self.timer = ctx.start_timer(wait)
            return None
        if isinstance(handled, Done):
            return handled
        if isinstance(event, e.TimerFired) and event.timer_id == self.timer:
            self.timer = None
            return self.timed_out(ctx)
        if isinstance(event, e.SpeechStarted | e.Speech) and not self.hears(event):
            return None
        if isinstance(event, e.SpeechStarted):
            self.speaking = True
            if self.playing is None and self.timer is not None:  # waiting: the answer comes
                ctx.cancel_timer(self.timer)
                self.timer = ctx.start_timer(UTTERANCE_GUARD_S)
            return None
        if isinstance(event, e.Speech):
            self.speaking = False
        if isinstance(event, e.Speech) and self.playing is not None and not self.matches(event):
            return None  # not an answer: the prompt goes on
        if isinstance(event, e.Digit | e.Speech):
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

    def hears(self, event: e.Speech | e.SpeechStarted) -> bool:
        """Speech counts for this step (a menu with ``speech``, heard by its own listening)."""
        return False

    def matches(self, event: e.Speech) -> bool:
        """A spoken answer that stands for a key."""
        return False

    def speech(self, ctx: Context, event: e.Speech) -> Done | None:
        return None

    def timed_out(self, ctx: Context) -> Done | None:
        return self.retry(ctx, NO_INPUT)


class MenuRunner(Collecting):
    """One key (or a spoken phrase standing for one) chooses the next step."""

    step: s.MenuStep
    listening: str | None = None  # the Listen under way (a menu with speech)

    def begin(self, ctx: Context) -> Done | None:
        done = super().begin(ctx)
        if done is None and self.step.speech:
            self.listening = ctx.new_id("listen")
            ctx.emit(a.Listen(self.listening, dict(self.step.speech)))
        return done

    def feed(self, ctx: Context, event: e.Event) -> Done | None:
        done = super().feed(ctx, event)
        if done is not None:
            self.stop_listening(ctx)
        return done

    def cancel(self, ctx: Context) -> None:
        super().cancel(ctx)
        self.stop_listening(ctx)

    def stop_listening(self, ctx: Context) -> None:
        if self.listening is not None:
            ctx.emit(a.StopListen(self.listening))
            self.listening = None

    def hears(self, event: e.Speech | e.SpeechStarted) -> bool:
        if not self.step.speech:
            return False
        return not event.listen_id or event.listen_id == self.listening

    def matches(self, event: e.Speech) -> bool:
        return self.key_of(event) in self.step.choices

    def key_of(self, event: e.Speech) -> str | None:
        """The key an utterance stands for. What this menu's listening heard, the recogniser
        decided (None: no match, also when it heard a phrase but was not sure of it); speech
        from elsewhere (a rehearsal) may give just its text."""
        if event.key is not None or event.listen_id:
            return event.key
        heard = _normalise(event.text)
        return next((k for p, k in self.step.speech.items() if _normalise(p) == heard), None)

    def key(self, ctx: Context, key: str) -> Done | None:
        return self.choose(ctx, key, "dtmf", key, 1.0)

    def speech(self, ctx: Context, event: e.Speech) -> Done | None:
        key = self.key_of(event)
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
