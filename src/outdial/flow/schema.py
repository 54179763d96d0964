"""The JSON Schema (draft 2020-12) of a flow document, as outdial publishes it.

``outdial flow schema`` prints :func:`schema_json` and the API serves it, so that editors can
complete and check flows. Checks a schema cannot express (targets that exist, known variables)
are in :mod:`outdial.flow.validate`.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from outdial.flow import steps as s
from outdial.flow.voices import all_voices

SCHEMA_ID = "https://outdial.org/schemas/flow-1.json"

_VAR = "Text; ${name} is replaced by a call parameter, session.* or ${step$.field}."


_VOICE_REF = {"$ref": "#/$defs/voice", "description": "Voice of this step's prompts."}


def _num(description: str, default: float | None = None, *, minimum: float = 0) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "number",
        "exclusiveMinimum": minimum,
        "description": description,
    }
    if default is not None:
        out["default"] = default
    return out


def _int(description: str, default: int, *, minimum: int = 1) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "default": default, "description": description}


def _target(description: str) -> dict[str, Any]:
    return {"$ref": "#/$defs/target", "description": description}


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "description": f"{description} {_VAR}"}


def _branches(keys: tuple[str, ...], what: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"The step to go to for each {what}.",
        "properties": {k: _target(f"Where to go on {k}.") for k in keys},
        "additionalProperties": False,
    }


def _prompts(description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": "#/$defs/prompt"}, "description": description}


_COMMON: dict[str, Any] = {
    "next": _target("The step that follows; without one the flow ends (the call is hung up)."),
    "private": {
        "type": "boolean",
        "default": False,
        "description": "The step's values are neither logged nor stored in the trace.",
    },
    "on": {"$ref": "#/$defs/on", "description": "Interrupting events for this step only."},
}

_INPUT: dict[str, Any] = {
    "prompt": {"$ref": "#/$defs/prompt", "description": "Played first; a key stops it."},
    "timeout_s": _num("Seconds to wait for the first key after the prompt.", s.INPUT_TIMEOUT_S),
    "attempts": _int("Tries before giving up (no input or no match each use one).", 3),
    "no_input": _prompts("Prompt for each retry after no input (the last is reused)."),
    "no_match": _prompts("Prompt for each retry after a wrong input (the last is reused)."),
    "then": _target("Where to go once the attempts are used up; without it the flow ends."),
    "on_error": _target("Where to go when a prompt cannot be played."),
}

_VALUE: dict[str, Any] = {
    "type": ["string", "number", "boolean", "null"],
    "description": f"A value. {_VAR}",
}

_STEPS: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    s.StepType.SAY: (
        "Play text to speech or an audio file.",
        {
            "text": _text("What to say."),
            "audio": {"type": "string", "description": "An audio file of the application."},
            "voice": _VOICE_REF,
            "bargein": {
                "type": "boolean",
                "default": True,
                "description": "A key stops the prompt and counts as input for the next "
                "input step; when false, keys pressed during it are ignored.",
            },
            "on_error": _target("Where to go when the prompt cannot be played."),
        },
        [],
    ),
    s.StepType.PAUSE: ("Wait in silence.", {"seconds": _num("How long.")}, ["seconds"]),
    s.StepType.DETECT: (
        "Wait for the callee type (session.connection.callee_type). Sets callee_type, decided_ms.",
        {
            "timeout_s": _num("Seconds to wait for a decision.", s.DETECT_TIMEOUT_S),
            "branches": _branches(s.DETECT_BRANCHES, "callee type"),
            "default": _target("Where to go for another type, or at the timeout."),
        },
        [],
    ),
    s.StepType.WAIT_BEEP: (
        "Wait for the end of a voicemail greeting's beep (or its final silence). Sets beep, "
        "waited_ms.",
        {"timeout_s": _num("Seconds to wait at most.", s.WAIT_BEEP_TIMEOUT_S)},
        [],
    ),
    s.StepType.MENU: (
        "Ask for one key. Sets value, inputmode, utterance, confidence.",
        {
            **_INPUT,
            "voice": _VOICE_REF,
            "choices": {
                "type": "object",
                "description": "The step to go to for each key.",
                "propertyNames": {"pattern": "^[0-9*#]$"},
                "additionalProperties": {"$ref": "#/$defs/target"},
                "minProperties": 1,
            },
            "speech": {
                "type": "object",
                "description": "Spoken word or phrase -> the key it stands for.",
                "additionalProperties": {"type": "string", "pattern": "^[0-9*#]$"},
            },
        },
        ["choices"],
    ),
    s.StepType.DIGITS: (
        "Collect several keys. Sets value.",
        {
            **_INPUT,
            "voice": _VOICE_REF,
            "min": _int("Fewest keys accepted.", s.DIGITS_MIN),
            "max": _int("Most keys; input ends when reached.", s.DIGITS_MAX),
            "finish_on": {
                "type": "string",
                "pattern": "^[0-9*#]?$",
                "default": s.DIGITS_FINISH_ON,
                "description": "The key that ends input (not part of the value); '' for none.",
            },
            "interdigit_s": _num("Seconds allowed between keys.", s.INTERDIGIT_S),
            "pattern": {
                "type": "string",
                "description": "A regular expression the whole value must match.",
            },
        },
        [],
    ),
    s.StepType.RECORD: (
        "Record the callee. Sets termchar, duration_s, recording.",
        {
            "prompt": {"$ref": "#/$defs/prompt", "description": "Played before recording."},
            "voice": _VOICE_REF,
            "beep": {"type": "boolean", "default": True, "description": "Beep before recording."},
            "max_s": _num("Longest recording in seconds.", s.RECORD_MAX_S),
            "final_silence_s": _num("Seconds of silence that end it.", s.RECORD_FINAL_SILENCE_S),
            "finish_on_key": {
                "type": "string",
                "pattern": "^[0-9*#]*$",
                "default": s.RECORD_FINISH_ON_KEY,
                "description": "Keys that end the recording ('' for none).",
            },
            "on_error": _target("Where to go when the prompt cannot be played."),
        },
        [],
    ),
    s.StepType.BRANCH: (
        "Go to the first case that holds, else to default.",
        {
            "cases": {
                "type": "array",
                "items": {"$ref": "#/$defs/case"},
                "description": "Tested in order; the first that holds decides.",
            },
            "default": _target("Where to go when no case holds; without it the flow ends."),
        },
        ["cases"],
    ),
    s.StepType.SET: (
        "Set variables, read as ${name}.",
        {
            "vars": {
                "type": "object",
                "description": "Name -> value.",
                "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                "additionalProperties": _VALUE,
            }
        },
        ["vars"],
    ),
    s.StepType.RESULT: (
        "Store fields in call_details.results at once.",
        {
            "fields": {
                "type": "object",
                "description": "Name -> value.",
                "additionalProperties": _VALUE,
            }
        },
        ["fields"],
    ),
    s.StepType.HTTP: (
        "Call a web service. Sets status, json, text.",
        {
            "method": {
                "enum": list(s.HTTP_METHODS),
                "description": "Default: POST with a body, else GET.",
            },
            "url": {**_text("http:// or https:// URL."), "pattern": r"^(https?://|\$\{)"},
            "headers": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": f"Request headers. {_VAR}",
            },
            "body": {"description": "A JSON value, or a string sent as it is. " + _VAR},
            "encoding": {
                "enum": list(s.HTTP_ENCODINGS),
                "default": "json",
                "description": "How an object body is sent: JSON or a form.",
            },
            "timeout_s": _num("Seconds to wait for the reply.", s.HTTP_TIMEOUT_S),
            "on_error": _target(
                "Where to go on a timeout, network error or status >= 400; "
                "without it the flow ends."
            ),
        },
        ["url"],
    ),
    s.StepType.TRANSFER: (
        "Connect the callee to another number. Sets outcome, duration_s.",
        {
            "to": {**_text("tel: or sip: URI."), "pattern": r"^(tel:|sips?:|\$\{)"},
            "caller_id": _text("Caller ID shown to the target."),
            "timeout_s": _num("Seconds to let the target ring.", s.TRANSFER_TIMEOUT_S),
            "mode": {
                "enum": list(s.TRANSFER_MODES),
                "default": "bridge",
                "description": "bridge: dial and relay audio; refer: SIP REFER.",
            },
            "branches": _branches(s.TRANSFER_OUTCOMES, "outcome"),
        },
        ["to"],
    ),
    s.StepType.SEND_DTMF: (
        "Send keys to the callee.",
        {"digits": _text("Keys 0-9 * # (and , for a half-second pause).")},
        ["digits"],
    ),
    s.StepType.GOTO: (
        "Fetch a new flow from a web service and continue at its start.",
        {
            "url": {**_text("http:// or https:// URL."), "pattern": r"^(https?://|\$\{)"},
            "on_error": _target("Where to go when the flow cannot be fetched."),
        },
        ["url"],
    ),
    s.StepType.HANGUP: ("Hang up; the flow ends.", {}, []),
}


def _step_def(kind: str, description: str, props: dict[str, Any], required: list[str]) -> Any:
    properties = {"type": {"const": kind}, **props, **_COMMON}
    if kind == s.StepType.HANGUP:
        properties.pop("next")
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": ["type", *required],
        "additionalProperties": False,
    }


def _build() -> dict[str, Any]:
    defs: dict[str, Any] = {
        "target": {"type": "string", "description": "A step id."},
        "voice": {
            "type": "string",
            "description": (
                f"Text-to-speech voice: engine:voice ({', '.join(all_voices())}) or a bare "
                "espeak-ng voice (en-us, en-gb, fr, ...)."
            ),
            "examples": ["en-us", "flite:slt", "festival:us-slt-hts"],
        },
        "prompt": {
            "description": "Text to speak, or an object with text or audio and a voice.",
            "anyOf": [
                {"type": "string", "description": f"What to say. {_VAR}"},
                {
                    "type": "object",
                    "properties": {
                        "text": _text("What to say."),
                        "audio": {"type": "string", "description": "An audio file."},
                        "voice": _VOICE_REF,
                    },
                    "additionalProperties": False,
                    "oneOf": [{"required": ["text"]}, {"required": ["audio"]}],
                },
            ],
        },
        "on": {
            "type": "object",
            "description": "Event -> step, taken from wherever the flow is.",
            "properties": {
                "answeringmachine": _target("Detection says (or revises to) voicemail."),
                "fax": _target("Detection says fax."),
                "hangup": _target("The callee hung up; only result/set/branch/http may run."),
            },
            "additionalProperties": False,
        },
        "case": {
            "type": "object",
            "properties": {
                "var": _text('The value tested, e.g. "${ask$.value}".'),
                "op": {"enum": list(s.BRANCH_OPS), "description": "How it is compared."},
                "value": {"description": "Compared with; a list for 'in', a regex for 'matches'."},
                "as": {
                    "enum": list(s.COERCIONS),
                    "description": "Compare as; default: number or boolean when value is one.",
                },
                "next": _target("Where to go when the case holds."),
            },
            "required": ["var", "op", "value", "next"],
            "additionalProperties": False,
        },
    }
    all_of = []
    for kind, (description, props, required) in _STEPS.items():
        name = f"step_{kind}"
        defs[name] = _step_def(kind, description, props, required)
        all_of.append(
            {
                "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
                "then": {"$ref": f"#/$defs/{name}"},
            }
        )
    defs["step"] = {
        "type": "object",
        "properties": {"type": {"enum": [str(k) for k in _STEPS]}},
        "required": ["type"],
        "allOf": all_of,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "outdial call flow",
        "description": "What a deployment's application does once a call is answered.",
        "type": "object",
        "properties": {
            "flow": {"const": 1, "description": "Format version."},
            "start": _target("The first step."),
            "voice": {
                "$ref": "#/$defs/voice",
                "default": s.DEFAULT_VOICE,
                "description": "Default text-to-speech voice.",
            },
            "settings": {
                "type": "object",
                "properties": {
                    "max_call_s": _num("Hang up when the flow has run this long (seconds)."),
                },
                "additionalProperties": False,
            },
            "on": {"$ref": "#/$defs/on"},
            "steps": {
                "type": "object",
                "description": "Step id ([a-z][a-z0-9_]*) -> step.",
                "propertyNames": {"pattern": f"^{s.STEP_ID}$"},
                "additionalProperties": {"$ref": "#/$defs/step"},
                "minProperties": 1,
            },
        },
        "required": ["flow", "start", "steps"],
        "additionalProperties": False,
        "$defs": defs,
    }


def flow_schema() -> dict[str, Any]:
    """The schema as a new dict (callers may change their copy, nested parts included)."""
    return copy.deepcopy(_build())


def schema_json(indent: int | None = 2) -> str:
    """The schema as JSON text, for ``outdial flow schema`` and the API."""
    return json.dumps(_build(), indent=indent)
