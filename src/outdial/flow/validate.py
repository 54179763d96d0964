"""Validation of a flow document: the JSON Schema, then what a schema cannot say.

Every problem is reported at once, each naming the step and the field
(``steps.ask.choices.3: target 'nowhere' is not a step``) with its line in the source. The
checks beyond the schema work on the raw data and skip whatever the schema already refused,
so one mistake is reported once.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any

import jsonschema

from outdial.flow.problems import Problem, Severity
from outdial.flow.schema import flow_schema
from outdial.flow.source import TOO_DEEP, Path, Source, format_path, parse, too_deep
from outdial.flow.steps import SETS, STEP_ID, StepType
from outdial.flow.variables import RefKind, parse_reference, references
from outdial.flow.voices import voice_problem
from outdial.speech.lexicon import unknown_words
from outdial.speech.recognizer import normalise

# Fields that hold step ids, ids of other things, or literal syntax: never ${…} templates.
_NOT_TEMPLATES = frozenset(
    {
        "type", "next", "then", "default", "on_error", "branches", "choices", "on", "speech",
        "pattern", "finish_on", "finish_on_key", "method", "encoding", "mode", "audio",
        "voice", "op", "as", "private",
    }
)  # fmt: skip
_DTMF_SENDABLE = set("0123456789*#ABCDabcd,")


_PATTERNS = {  # what a pattern of the schema means, said plainly
    "^[0-9*#]$": "not a key: use one of 0-9, * or #",
    "^[0-9*#]?$": "must be one key (0-9, * or #), or empty for none",
    "^[0-9*#]*$": "must be keys among 0-9, * and #",
    r"^(tel:|sips?:|\$\{)": "must be a tel:, sip: or sips: URI",
    r"^(https?://|\$\{)": "must be an http:// or https:// URL",
    "^[A-Za-z_][A-Za-z0-9_]*$": "not a variable name (letters, digits and _)",
}


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(flow_schema())


def check(text: str, *, known_params: Collection[str] | None = None) -> list[Problem]:
    """Every error and warning in flow text (JSON or YAML).

    ``known_params``: the call parameter names the flow may use; None when they cannot be
    known in advance, and then any bare ``${name}`` is accepted.
    """
    source = parse(text)
    if source.data is None and source.problems:
        return source.problems
    return check_data(source.data, known_params=known_params, source=source)


def check_data(
    data: Any, *, known_params: Collection[str] | None = None, source: Source | None = None
) -> list[Problem]:
    """Like :func:`check`, for already parsed data; ``source`` gives line numbers."""
    src = source if source is not None else Source(data)
    if too_deep(data):
        return [Problem("(document)", TOO_DEEP)]
    found: list[tuple[Path, str, Severity]] = []
    found += _schema_errors(data)
    if isinstance(data, dict):
        found += _Checker(data, known_params).run()
    problems = list(src.problems)
    for path, message, severity in found:
        problem = Problem(format_path(path), message, severity, src.line(path))
        if problem not in problems:  # jsonschema repeats some errors (one per missing field)
            problems.append(problem)
    return sorted(problems, key=lambda p: (p.line or 0, p.severity is Severity.WARNING, p.path))


def errors_of(problems: Collection[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is Severity.ERROR]


# --- the schema ---------------------------------------------------------------------------


def _schema_errors(data: Any) -> Iterator[tuple[Path, str, Severity]]:
    for error in _validator().iter_errors(data):
        path: Path = tuple(error.absolute_path)
        for where, message in _describe(error, path):
            yield where, message, Severity.ERROR


def _describe(error: jsonschema.ValidationError, path: Path) -> Iterator[tuple[Path, str]]:
    kind, instance = error.validator, error.instance
    value: Any = error.validator_value
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    if "propertyNames" in error.relative_schema_path:
        if path == ("steps",):
            return  # the semantic checks say it better, with the step's line
        name_rule = _PATTERNS.get(str(schema.get("pattern")), error.message)
        yield (*path, str(instance)), name_rule
    elif kind == "required" and isinstance(instance, dict):
        for name in value:
            if name not in instance:
                yield (*path, name), "required"
    elif kind == "additionalProperties" and isinstance(instance, dict):
        known = list(schema.get("properties", {}))
        for name in instance:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                yield (*path, name), f"unknown field{hint}"
    elif kind == "enum":
        options = ", ".join(str(o) for o in value)
        what = "step type" if path[-1:] == ("type",) else "value"
        yield path, f"unknown {what} {instance!r}: must be one of {options}"
    elif kind == "const":
        yield path, f"must be {value!r}"
    elif kind in ("anyOf", "oneOf") and "text" in str(schema):
        yield path, "a prompt is text, or an object with either text or audio (and a voice)"
    elif kind == "type":
        yield path, f"must be of type {value} (not {type(instance).__name__})"
    elif kind in ("exclusiveMinimum", "minimum"):
        sign = ">" if kind == "exclusiveMinimum" else ">="
        yield path, f"must be {sign} {value} (not {instance!r})"
    elif kind == "pattern":
        yield path, _PATTERNS.get(str(value), f"{instance!r} does not match {value}")
    elif kind == "minProperties":
        yield path, "must not be empty"
    else:
        yield path, error.message


# --- beyond the schema --------------------------------------------------------------------


def voice_fields(data: Mapping[str, Any]) -> Iterator[tuple[Path, str]]:
    """``(path, value)`` of every ``voice`` a raw flow names: the flow's, each step's and
    each prompt object's (``prompt``, ``no_input``, ``no_match``); strings only, as the schema
    refuses anything else."""
    found: list[tuple[Path, Any]] = [(("voice",), data.get("voice"))]
    for step_id, step in _dict(data.get("steps")).items():
        if not isinstance(step, dict):
            continue
        base: Path = ("steps", step_id)
        found.append(((*base, "voice"), step.get("voice")))
        prompt = step.get("prompt")
        if isinstance(prompt, dict):
            found.append(((*base, "prompt", "voice"), prompt.get("voice")))
        for key in ("no_input", "no_match"):
            for i, item in enumerate(_list(step.get(key))):
                if isinstance(item, dict):
                    found.append(((*base, key, i, "voice"), item.get("voice")))
    for path, value in found:
        if isinstance(value, str):
            yield path, value


def _raw_targets(step: Mapping[str, Any]) -> Iterator[tuple[Path, Any]]:
    """``(path under the step, target)`` for every step id a raw step names."""
    for key in ("next", "then", "default", "on_error"):
        if key in step:
            yield (key,), step[key]
    for key in ("branches", "choices", "on"):
        if isinstance(step.get(key), dict):
            for name, target in step[key].items():
                yield (key, name), target
    if isinstance(step.get("cases"), list):
        for i, case in enumerate(step["cases"]):
            if isinstance(case, dict) and "next" in case:
                yield ("cases", i, "next"), case["next"]


class _Checker:
    def __init__(self, data: dict[str, Any], known_params: Collection[str] | None) -> None:
        self.data = data
        self.known_params = None if known_params is None else set(known_params)
        raw = data.get("steps")
        self.steps: dict[str, dict[str, Any]] = {
            k: v for k, v in (raw.items() if isinstance(raw, dict) else ()) if isinstance(v, dict)
        }
        self.types = {k: _step_type(v) for k, v in self.steps.items()}
        self.set_names = {
            name
            for k, v in self.steps.items()
            if self.types[k] is StepType.SET and isinstance(v.get("vars"), dict)
            for name in v["vars"]
        }
        self.found: list[tuple[Path, str, Severity]] = []

    def error(self, path: Path, message: str) -> None:
        self.found.append((path, message, Severity.ERROR))

    def run(self) -> list[tuple[Path, str, Severity]]:
        for step_id in _dict(self.data.get("steps")):
            if not re.fullmatch(STEP_ID, step_id):
                self.error(("steps", step_id), f"step id {step_id!r} must match {STEP_ID}")
        start = self.data.get("start")
        has_steps = isinstance(self.data.get("steps"), dict)
        if isinstance(start, str) and has_steps and start not in self.steps:
            self.error(("start",), f"{start!r} is not a step")
        self._targets((), _dict(self.data.get("on")))
        for path, voice in voice_fields(self.data):
            message = voice_problem(voice)
            if message:
                self.error(path, message)
        for step_id, step in self.steps.items():
            base: Path = ("steps", step_id)
            for rel, target in _raw_targets(step):
                if isinstance(target, str) and target not in self.steps:
                    self.error((*base, *rel), f"target {target!r} is not a step")
            kind = self.types[step_id]
            if kind is StepType.MENU:
                self._menu(base, step)
            elif kind is StepType.DIGITS:
                self._digits(base, step)
            elif kind is StepType.BRANCH:
                self._branch(base, step)
            elif kind is StepType.SEND_DTMF:
                self._send_dtmf(base, step)
            elif kind is StepType.SAY and ("text" in step) == ("audio" in step):
                self.error(base, "a say step has either text or audio")
            self._templates(base, step)
        self._reachability()
        return self.found

    def _targets(self, base: Path, on: Mapping[str, Any]) -> None:
        for event, target in on.items():
            if isinstance(target, str) and target not in self.steps:
                self.error((*base, "on", event), f"target {target!r} is not a step")

    def _menu(self, base: Path, step: dict[str, Any]) -> None:
        choices = _dict(step.get("choices"))
        speech = _dict(step.get("speech"))
        for phrase, key in speech.items():
            where = (*base, "speech", phrase)
            if isinstance(key, str) and key not in choices:
                self.error(where, f"key {key!r} is not one of the choices")
            if not normalise(phrase):
                self.error(where, "has no word to recognise (letters a-z or digits)")
            unknown = unknown_words(normalise(phrase).split())
            if unknown:
                self.error(
                    where,
                    "the speech recogniser does not know "
                    + ", ".join(repr(w) for w in unknown)
                    + " (US English words only; spell numbers as words)",
                )

    def _digits(self, base: Path, step: dict[str, Any]) -> None:
        pattern = step.get("pattern")
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error as exc:
                self.error((*base, "pattern"), f"not a valid regular expression: {exc}")
        low, high = step.get("min", 1), step.get("max")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            self.error((*base, "min"), f"min ({low}) is more than max ({high})")

    def _branch(self, base: Path, step: dict[str, Any]) -> None:
        cases = _list(step.get("cases"))
        for i, case in enumerate(cases):
            if not isinstance(case, dict):
                continue
            op, value, where = case.get("op"), case.get("value"), (*base, "cases", i, "value")
            if op == "matches":
                if not isinstance(value, str):
                    self.error(where, "'matches' needs a regular expression (a string)")
                    continue
                try:
                    re.compile(value)
                except re.error as exc:
                    self.error(where, f"not a valid regular expression: {exc}")
            elif op == "in" and not isinstance(value, list):
                self.error(where, "'in' needs a list of values")
            elif case.get("as") == "number" and isinstance(value, str) and "${" not in value:
                try:
                    float(value)
                except ValueError:
                    self.error(where, f"{value!r} is not a number")

    def _send_dtmf(self, base: Path, step: dict[str, Any]) -> None:
        digits = step.get("digits")
        if isinstance(digits, str):
            literal = re.sub(r"\$\{[^}]*\}", "", digits)
            bad = sorted(set(literal) - _DTMF_SENDABLE)
            if bad:
                self.error((*base, "digits"), f"cannot send {''.join(bad)!r} as DTMF")

    def _templates(self, base: Path, step: dict[str, Any]) -> None:
        for path, text in _strings(step, ()):
            for raw in references(text):
                message = self._reference(raw)
                if message:
                    self.error((*base, *path), message)

    def _reference(self, raw: str) -> str | None:
        ref = parse_reference(raw)
        if ref is None:
            return f"${{{raw}}} is not a valid variable reference"
        if ref.kind is RefKind.SESSION:
            return None
        if ref.kind is RefKind.NAME:
            if ref.name in self.set_names or self.known_params is None:
                return None
            if ref.name in self.known_params:
                return None
            return f"unknown variable ${{{raw}}}: not a call parameter nor set by a set step"
        kind = self.types.get(ref.name)
        if ref.name not in self.steps or kind is None:
            return f"${{{raw}}}: {ref.name!r} is not a step"
        if kind is StepType.SET:
            sets = set(self.steps[ref.name].get("vars") or {})
        else:
            sets = set(SETS.get(kind, ()))
        if ref.field not in sets:
            names = ", ".join(sorted(sets)) or "nothing"
            return f"${{{raw}}}: step {ref.name!r} ({kind}) sets {names}, not {ref.field!r}"
        if ref.path and not (kind is StepType.HTTP and ref.field == "json"):
            return f"${{{raw}}}: only an http step's json can be followed by a path"
        return None

    def _reachability(self) -> None:
        start = self.data.get("start")
        if not isinstance(start, str) or start not in self.steps:
            return
        on = _dict(self.data.get("on"))
        todo = [start, *(t for t in on.values() if isinstance(t, str))]
        seen: set[str] = set()
        while todo:
            step_id = todo.pop()
            if step_id in seen or step_id not in self.steps:
                continue
            seen.add(step_id)
            todo += [t for _, t in _raw_targets(self.steps[step_id]) if isinstance(t, str)]
        for step_id in self.steps:
            if step_id not in seen:
                self.found.append(
                    (("steps", step_id), "unreachable: no step leads here", Severity.WARNING)
                )


def _step_type(step: Mapping[str, Any]) -> StepType | None:
    try:
        return StepType(str(step.get("type")))
    except ValueError:
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """Every string that may hold ``${…}``, with its path, skipping non-template fields."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if not (key in _NOT_TEMPLATES and _is_field(path)):
                yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))


def _is_field(path: Path) -> bool:
    """True where keys are field names: the step itself, a case, a prompt object; not inside
    user data such as an http body, a set step's vars or a result's fields."""
    return not path or path[0] in ("cases", "prompt", "no_input", "no_match")
