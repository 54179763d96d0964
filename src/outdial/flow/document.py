"""A flow document: parsed, validated and turned into frozen dataclasses.

``load_flow(text)`` is the way in: JSON or YAML text to a :class:`Flow`, or
:class:`~outdial.flow.problems.FlowInvalid` with every problem found.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from outdial.flow import steps as s
from outdial.flow.problems import FlowInvalid, Problem
from outdial.flow.source import Source, parse
from outdial.flow.validate import check_data, errors_of

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Settings:
    max_call_s: float | None = None  # hang up when the flow has run this long


@dataclass(frozen=True, slots=True)
class Flow:
    """A valid flow. ``warnings`` holds what validation warned about (unreachable steps)."""

    start: str
    steps: Mapping[str, s.AnyStep]
    voice: str = s.DEFAULT_VOICE
    settings: Settings = Settings()
    on: Mapping[str, str] = field(default_factory=dict)
    version: int = FORMAT_VERSION
    warnings: tuple[Problem, ...] = field(default=(), compare=False)


def load_flow(text: str, *, known_params: Collection[str] | None = None) -> Flow:
    """Parse and validate flow text; raise :class:`FlowInvalid` listing every problem.

    ``known_params``: the call parameter names, when known; None accepts any bare ``${name}``.
    """
    return flow_of(parse(text), known_params=known_params)


def flow_of(source: Source, *, known_params: Collection[str] | None = None) -> Flow:
    """Like :func:`load_flow`, for text already parsed (whose ``format`` is then known)."""
    if source.data is None:
        raise FlowInvalid(source.problems or [Problem("(document)", "empty document")])
    problems = check_data(source.data, known_params=known_params, source=source)
    if errors_of(problems):
        raise FlowInvalid(problems)
    return build_flow(source.data, warnings=problems)


def flow_from_data(data: Any, *, known_params: Collection[str] | None = None) -> Flow:
    """Like :func:`load_flow` for data already parsed (a JSON request body)."""
    problems = check_data(data, known_params=known_params)
    if errors_of(problems):
        raise FlowInvalid(problems)
    return build_flow(data, warnings=problems)


def build_flow(data: Mapping[str, Any], *, warnings: Collection[Problem] = ()) -> Flow:
    """Dataclasses from data that passed validation (anything else may raise)."""
    settings = data.get("settings") or {}
    return Flow(
        start=data["start"],
        steps={k: build_step(k, v) for k, v in data["steps"].items()},
        voice=data.get("voice", s.DEFAULT_VOICE),
        settings=Settings(max_call_s=settings.get("max_call_s")),
        on=dict(data.get("on") or {}),
        version=data["flow"],
        warnings=tuple(warnings),
    )


def _prompt(value: Any, voice: str | None = None) -> s.Prompt:
    if isinstance(value, str):
        return s.Prompt(text=value, voice=voice)
    return s.Prompt(
        text=value.get("text"), audio=value.get("audio"), voice=value.get("voice", voice)
    )


def _common(step_id: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": step_id,
        "next": raw.get("next"),
        "private": raw.get("private", False),
        "on": dict(raw.get("on") or {}),
    }


def _input(raw: Mapping[str, Any]) -> dict[str, Any]:
    voice = raw.get("voice")
    prompt = raw.get("prompt")
    return {
        "prompt": _prompt(prompt, voice) if prompt is not None else None,
        "timeout_s": raw.get("timeout_s", s.INPUT_TIMEOUT_S),
        "attempts": raw.get("attempts", s.INPUT_ATTEMPTS),
        "no_input": tuple(_prompt(p, voice) for p in raw.get("no_input", ())),
        "no_match": tuple(_prompt(p, voice) for p in raw.get("no_match", ())),
        "then": raw.get("then"),
        "on_error": raw.get("on_error"),
    }


def _say(c: dict[str, Any], r: Mapping[str, Any]) -> s.AnyStep:
    prompt = s.Prompt(text=r.get("text"), audio=r.get("audio"), voice=r.get("voice"))
    return s.SayStep(**c, prompt=prompt, bargein=r.get("bargein", True), on_error=r.get("on_error"))


def _record(c: dict[str, Any], r: Mapping[str, Any]) -> s.AnyStep:
    prompt = r.get("prompt")
    return s.RecordStep(
        **c,
        prompt=_prompt(prompt, r.get("voice")) if prompt is not None else None,
        beep=r.get("beep", s.RECORD_BEEP),
        max_s=r.get("max_s", s.RECORD_MAX_S),
        final_silence_s=r.get("final_silence_s", s.RECORD_FINAL_SILENCE_S),
        finish_on_key=r.get("finish_on_key", s.RECORD_FINISH_ON_KEY),
        on_error=r.get("on_error"),
    )


def _case(raw: Mapping[str, Any]) -> s.Case:
    return s.Case(raw["var"], raw["op"], raw["value"], raw["next"], raw.get("as"))


_Builder = Callable[[dict[str, Any], Mapping[str, Any]], s.AnyStep]

_BUILDERS: dict[s.StepType, _Builder] = {
    s.StepType.SAY: _say,
    s.StepType.PAUSE: lambda c, r: s.PauseStep(**c, seconds=r["seconds"]),
    s.StepType.DETECT: lambda c, r: s.DetectStep(
        **c,
        timeout_s=r.get("timeout_s", s.DETECT_TIMEOUT_S),
        branches=dict(r.get("branches") or {}),
        default=r.get("default"),
    ),
    s.StepType.WAIT_BEEP: lambda c, r: s.WaitBeepStep(
        **c, timeout_s=r.get("timeout_s", s.WAIT_BEEP_TIMEOUT_S)
    ),
    s.StepType.MENU: lambda c, r: s.MenuStep(
        **c, **_input(r), choices=dict(r["choices"]), speech=dict(r.get("speech") or {})
    ),
    s.StepType.DIGITS: lambda c, r: s.DigitsStep(
        **c,
        **_input(r),
        min=r.get("min", s.DIGITS_MIN),
        max=r.get("max", s.DIGITS_MAX),
        finish_on=r.get("finish_on", s.DIGITS_FINISH_ON),
        interdigit_s=r.get("interdigit_s", s.INTERDIGIT_S),
        pattern=r.get("pattern"),
    ),
    s.StepType.RECORD: _record,
    s.StepType.BRANCH: lambda c, r: s.BranchStep(
        **c, cases=tuple(_case(x) for x in r["cases"]), default=r.get("default")
    ),
    s.StepType.SET: lambda c, r: s.SetStep(**c, vars=dict(r["vars"])),
    s.StepType.RESULT: lambda c, r: s.ResultStep(**c, fields=dict(r["fields"])),
    s.StepType.HTTP: lambda c, r: s.HttpStep(
        **c,
        url=r["url"],
        method=r.get("method"),
        headers=dict(r.get("headers") or {}),
        body=r.get("body"),
        encoding=r.get("encoding", "json"),
        timeout_s=r.get("timeout_s", s.HTTP_TIMEOUT_S),
        on_error=r.get("on_error"),
    ),
    s.StepType.TRANSFER: lambda c, r: s.TransferStep(
        **c,
        to=r["to"],
        caller_id=r.get("caller_id"),
        timeout_s=r.get("timeout_s", s.TRANSFER_TIMEOUT_S),
        mode=r.get("mode", "bridge"),
        branches=dict(r.get("branches") or {}),
    ),
    s.StepType.SEND_DTMF: lambda c, r: s.SendDtmfStep(**c, digits=r["digits"]),
    s.StepType.GOTO: lambda c, r: s.GotoStep(**c, url=r["url"], on_error=r.get("on_error")),
    s.StepType.HANGUP: lambda c, r: s.HangupStep(**c),
}


def build_step(step_id: str, raw: Mapping[str, Any]) -> s.AnyStep:
    return _BUILDERS[s.StepType(raw["type"])](_common(step_id, raw), raw)
