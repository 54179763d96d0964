"""The published JSON Schema: valid, complete for FLOWS.md, and agreeing with the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from outdial.flow import steps as s
from outdial.flow.document import build_step
from outdial.flow.schema import flow_schema, schema_json

# Every parameter of every step type in FLOWS.md's table (plus the fields all steps have).
FLOWS_MD_PARAMS = {
    "say": {"text", "audio", "voice", "bargein"},
    "pause": {"seconds"},
    "detect": {"timeout_s", "branches", "default"},
    "wait_beep": {"timeout_s"},
    "menu": {
        "prompt", "choices", "speech", "timeout_s", "attempts", "no_input", "no_match", "then",
    },
    "digits": {
        "prompt", "min", "max", "finish_on", "timeout_s", "interdigit_s", "pattern", "attempts",
        "no_input", "no_match", "then",
    },
    "record": {"prompt", "beep", "max_s", "final_silence_s", "finish_on_key"},
    "branch": {"cases", "default"},
    "set": {"vars"},
    "result": {"fields"},
    "http": {"method", "url", "headers", "body", "timeout_s", "on_error"},
    "transfer": {"to", "caller_id", "timeout_s", "mode", "branches"},
    "send_dtmf": {"digits"},
    "goto": {"url"},
    "hangup": set(),
}  # fmt: skip
REQUIRED: dict[str, dict[str, Any]] = {
    "pause": {"seconds": 1},
    "menu": {"choices": {"1": "x"}},
    "branch": {"cases": []},
    "set": {"vars": {}},
    "result": {"fields": {}},
    "http": {"url": "https://x.example"},
    "transfer": {"to": "tel:+1"},
    "send_dtmf": {"digits": "1"},
    "goto": {"url": "https://x.example"},
    "say": {"text": "x"},
}
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "flows"


def step_def(kind: str) -> dict[str, Any]:
    definition: dict[str, Any] = flow_schema()["$defs"][f"step_{kind}"]
    return definition


def test_schema_is_valid_draft_2020_12() -> None:
    schema = flow_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_json_is_the_schema() -> None:
    assert json.loads(schema_json()) == flow_schema()
    assert "\n" not in schema_json(indent=None)
    copy = flow_schema()
    copy["title"] = "changed"
    copy["$defs"]["step_menu"]["properties"]["voice"]["description"] = "changed"
    copy["$defs"]["step_say"]["properties"]["next"]["description"] = "changed"
    fresh = flow_schema()
    assert fresh["title"] == "outdial call flow"
    assert fresh["$defs"]["step_digits"]["properties"]["voice"]["description"] != "changed"
    assert fresh["$defs"]["step_say"]["properties"]["next"]["description"] != "changed"


def test_every_step_type_has_a_definition() -> None:
    schema = flow_schema()
    assert schema["$defs"]["step"]["properties"]["type"]["enum"] == [str(t) for t in s.StepType]
    assert set(FLOWS_MD_PARAMS) == {str(t) for t in s.StepType}


@pytest.mark.parametrize("kind", sorted(FLOWS_MD_PARAMS))
def test_step_definition_is_complete_and_closed(kind: str) -> None:
    definition = step_def(kind)
    properties = definition["properties"]
    assert FLOWS_MD_PARAMS[kind] | {"type", "private", "on"} <= set(properties)
    assert definition["additionalProperties"] is False
    assert definition["description"]
    for name, prop in properties.items():
        if name != "type":
            assert prop.get("description"), f"{kind}.{name} has no description"


@pytest.mark.parametrize("kind", sorted(FLOWS_MD_PARAMS))
def test_schema_defaults_are_the_models(kind: str) -> None:
    step = build_step("x", {"type": kind, **REQUIRED.get(kind, {})})
    defaults = {k: v["default"] for k, v in step_def(kind)["properties"].items() if "default" in v}
    for name, default in defaults.items():
        assert getattr(step, name) == default, f"{kind}.{name}"


def test_documented_defaults() -> None:
    menu, digits, record = step_def("menu"), step_def("digits"), step_def("record")
    assert menu["properties"]["attempts"]["default"] == 3
    assert menu["properties"]["timeout_s"]["default"] == 5
    assert digits["properties"]["finish_on"]["default"] == "#"
    assert digits["properties"]["interdigit_s"]["default"] == 3
    assert record["properties"]["beep"]["default"] is True
    assert record["properties"]["final_silence_s"]["default"] == 3
    assert record["properties"]["max_s"]["default"] == 300
    assert step_def("http")["properties"]["timeout_s"]["default"] == 5
    assert step_def("say")["properties"]["bargein"]["default"] is True
    assert step_def("transfer")["properties"]["mode"]["default"] == "bridge"
    assert step_def("transfer")["properties"]["timeout_s"]["default"] == 30


def test_document_level_is_closed() -> None:
    schema = flow_schema()
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["flow", "start", "steps"]
    assert set(schema["properties"]) == {"flow", "start", "voice", "settings", "on", "steps"}
    assert set(schema["$defs"]["on"]["properties"]) == set(s.ON_EVENTS)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_examples_validate_against_the_bare_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text().replace("\non:", '\n"on":')), flow_schema())


def test_schema_rejects_what_it_should() -> None:
    validator = jsonschema.Draft202012Validator(flow_schema())
    bad = {
        "flow": 1,
        "start": "a",
        "steps": {"a": {"type": "menu", "choices": {"1": "a"}, "colour": "red"}},
    }
    assert [e.message for e in validator.iter_errors(bad)] == [
        "Additional properties are not allowed ('colour' was unexpected)"
    ]
