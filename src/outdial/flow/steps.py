"""The steps of a flow as frozen dataclasses, with the defaults FLOWS.md and Fuse give them.

One class per step type; every class has the common fields ``id``, ``next``, ``private`` and
``on``. ``StepType`` names the ``type`` strings; ``SETS`` says which ``${id$.field}`` names a
step of each type sets.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, TypeAlias

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None
Scalar: TypeAlias = str | int | float | bool | None

STEP_ID = r"[a-z][a-z0-9_]*"
DTMF_KEYS = "0123456789*#"

DEFAULT_VOICE = "en-us"  # espeak-ng's US English, when neither the flow nor the step names one
INPUT_ATTEMPTS = 3  # Fuse: three no-input / no-match attempts
INPUT_TIMEOUT_S = 5.0  # seconds after the prompt for the first key
INTERDIGIT_S = 3.0  # seconds allowed between keys of a digits step
DIGITS_FINISH_ON = "#"
DIGITS_MIN = 1
DIGITS_MAX = 20
DETECT_TIMEOUT_S = 10.0  # seconds; the detector itself decides by 12 s from answer
WAIT_BEEP_TIMEOUT_S = 30.0  # seconds; the detector stops looking for a beep 30 s after answer
RECORD_BEEP = True
RECORD_MAX_S = 300.0  # Fuse: 300 s
RECORD_FINAL_SILENCE_S = 3.0  # Fuse: 3 s
RECORD_FINISH_ON_KEY = DTMF_KEYS  # any key ends a recording
HTTP_TIMEOUT_S = 5.0
TRANSFER_TIMEOUT_S = 30.0


class StepType(enum.StrEnum):
    SAY = "say"
    PAUSE = "pause"
    DETECT = "detect"
    WAIT_BEEP = "wait_beep"
    MENU = "menu"
    DIGITS = "digits"
    RECORD = "record"
    BRANCH = "branch"
    SET = "set"
    RESULT = "result"
    HTTP = "http"
    TRANSFER = "transfer"
    SEND_DTMF = "send_dtmf"
    GOTO = "goto"
    HANGUP = "hangup"


ON_EVENTS = ("answeringmachine", "fax", "hangup")
DETECT_BRANCHES = ("voice", "answeringmachine", "fax", "unknown")
TRANSFER_OUTCOMES = ("completed", "busy", "noanswer", "failed")
TRANSFER_MODES = ("bridge", "refer")
BRANCH_OPS = ("eq", "ne", "gt", "lt", "ge", "le", "in", "matches")
COERCIONS = ("string", "number", "boolean")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
HTTP_ENCODINGS = ("json", "form")

# Fields each step type sets, read as ${id$.field}. A set step sets its own names; an http
# step's ``json`` may be followed by a path (${check$.json.balance}).
SETS: Mapping[StepType, frozenset[str]] = {
    StepType.DETECT: frozenset({"callee_type", "decided_ms"}),
    StepType.WAIT_BEEP: frozenset({"beep", "waited_ms"}),
    StepType.MENU: frozenset({"value", "inputmode", "utterance", "confidence"}),
    StepType.DIGITS: frozenset({"value"}),
    StepType.RECORD: frozenset({"termchar", "duration_s", "recording"}),
    StepType.HTTP: frozenset({"status", "json", "text"}),
    StepType.TRANSFER: frozenset({"outcome", "duration_s"}),
}

# Steps that still run after the callee hung up: they need no line.
LINE_FREE = frozenset({StepType.RESULT, StepType.SET, StepType.BRANCH, StepType.HTTP})


@dataclass(frozen=True, slots=True)
class Prompt:
    """What to play: text to speech (with ``${…}``) or an audio file of the application."""

    text: str | None = None
    audio: str | None = None
    voice: str | None = None  # None: the flow's voice


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """Fields every step has. ``on`` maps an interrupting event to a step for this step."""

    type: ClassVar[StepType]
    id: str
    next: str | None = None
    private: bool = False
    on: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class SayStep(Step):
    type: ClassVar[StepType] = StepType.SAY
    prompt: Prompt
    bargein: bool = True
    on_error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PauseStep(Step):
    type: ClassVar[StepType] = StepType.PAUSE
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectStep(Step):
    type: ClassVar[StepType] = StepType.DETECT
    timeout_s: float = DETECT_TIMEOUT_S
    branches: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitBeepStep(Step):
    type: ClassVar[StepType] = StepType.WAIT_BEEP
    timeout_s: float = WAIT_BEEP_TIMEOUT_S


@dataclass(frozen=True, slots=True, kw_only=True)
class InputStep(Step):
    """What menu and digits share: a prompt, retries and where to go when they run out."""

    prompt: Prompt | None = None
    timeout_s: float = INPUT_TIMEOUT_S
    attempts: int = INPUT_ATTEMPTS
    no_input: tuple[Prompt, ...] = ()
    no_match: tuple[Prompt, ...] = ()
    then: str | None = None
    on_error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MenuStep(InputStep):
    type: ClassVar[StepType] = StepType.MENU
    choices: Mapping[str, str]
    speech: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class DigitsStep(InputStep):
    type: ClassVar[StepType] = StepType.DIGITS
    min: int = DIGITS_MIN
    max: int = DIGITS_MAX
    finish_on: str = DIGITS_FINISH_ON
    interdigit_s: float = INTERDIGIT_S
    pattern: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordStep(Step):
    type: ClassVar[StepType] = StepType.RECORD
    prompt: Prompt | None = None
    beep: bool = RECORD_BEEP
    max_s: float = RECORD_MAX_S
    final_silence_s: float = RECORD_FINAL_SILENCE_S
    finish_on_key: str = RECORD_FINISH_ON_KEY
    on_error: str | None = None


@dataclass(frozen=True, slots=True)
class Case:
    """One test of a branch step: ``var op value`` after coercion ``as_`` (None: inferred)."""

    var: str
    op: str
    value: JsonValue
    next: str
    as_: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchStep(Step):
    type: ClassVar[StepType] = StepType.BRANCH
    cases: tuple[Case, ...] = ()
    default: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetStep(Step):
    type: ClassVar[StepType] = StepType.SET
    vars: Mapping[str, Scalar]


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultStep(Step):
    type: ClassVar[StepType] = StepType.RESULT
    fields: Mapping[str, Scalar]


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpStep(Step):
    type: ClassVar[StepType] = StepType.HTTP
    url: str
    method: str | None = None  # None: POST when there is a body, else GET
    headers: Mapping[str, str] = field(default_factory=dict)
    body: JsonValue = None
    encoding: str = "json"
    timeout_s: float = HTTP_TIMEOUT_S
    on_error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferStep(Step):
    type: ClassVar[StepType] = StepType.TRANSFER
    to: str
    caller_id: str | None = None
    timeout_s: float = TRANSFER_TIMEOUT_S
    mode: str = "bridge"
    branches: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class SendDtmfStep(Step):
    type: ClassVar[StepType] = StepType.SEND_DTMF
    digits: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GotoStep(Step):
    type: ClassVar[StepType] = StepType.GOTO
    url: str
    on_error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HangupStep(Step):
    type: ClassVar[StepType] = StepType.HANGUP


AnyStep: TypeAlias = (
    SayStep
    | PauseStep
    | DetectStep
    | WaitBeepStep
    | MenuStep
    | DigitsStep
    | RecordStep
    | BranchStep
    | SetStep
    | ResultStep
    | HttpStep
    | TransferStep
    | SendDtmfStep
    | GotoStep
    | HangupStep
)


def prompts_of(step: Step) -> list[tuple[str, Prompt]]:
    """``(field path, prompt)`` for every prompt a step may play."""
    found: list[tuple[str, Prompt]] = []
    if isinstance(step, SayStep):
        found.append(("text" if step.prompt.text is not None else "audio", step.prompt))
    if isinstance(step, InputStep | RecordStep) and step.prompt is not None:
        found.append(("prompt", step.prompt))
    if isinstance(step, InputStep):
        found += [(f"no_input.{i}", p) for i, p in enumerate(step.no_input)]
        found += [(f"no_match.{i}", p) for i, p in enumerate(step.no_match)]
    return found


def targets_of(step: Step) -> list[tuple[str, str]]:
    """``(field path under the step, target step id)`` for every step this one may lead to."""
    found = [("next", step.next)] if step.next else []
    if isinstance(step, DetectStep | TransferStep):
        found += [(f"branches.{k}", v) for k, v in step.branches.items()]
    if isinstance(step, MenuStep):
        found += [(f"choices.{k}", v) for k, v in step.choices.items()]
    if isinstance(step, BranchStep):
        found += [(f"cases.{i}.next", case.next) for i, case in enumerate(step.cases)]
    if isinstance(step, DetectStep | BranchStep) and step.default:
        found.append(("default", step.default))
    if isinstance(step, InputStep) and step.then:
        found.append(("then", step.then))
    on_error = getattr(step, "on_error", None)
    if isinstance(on_error, str):
        found.append(("on_error", on_error))
    found += [(f"on.{event}", target) for event, target in step.on.items()]
    return found
