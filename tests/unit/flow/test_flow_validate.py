"""Validation: every problem at once, each with its step, field and line."""

from __future__ import annotations

import json
import textwrap

import pytest

from outdial.errors import BadRequest, InvalidField
from outdial.flow import steps as s
from outdial.flow.document import flow_from_data, load_flow
from outdial.flow.problems import FlowInvalid, Problem, Severity
from outdial.flow.validate import check

GOOD = """\
flow: 1
start: ask
steps:
  ask:
    type: menu
    prompt: "Press 1"
    choices: {"1": yes, "2": no}
    then: no
  yes: {type: result, fields: {ok: "yes"}, next: done}
  no: {type: say, text: "bye", next: done}
  done: {type: hangup}
"""


def errors(text: str, known_params: list[str] | None = None) -> list[tuple[str, str, int | None]]:
    return [
        (p.path, p.message, p.line)
        for p in check(textwrap.dedent(text), known_params=known_params)
        if p.severity is Severity.ERROR
    ]


def test_a_good_flow_has_no_problems() -> None:
    assert check(GOOD) == []


def test_every_error_at_once_with_step_field_and_line() -> None:
    text = (
        GOOD.replace('"2": no}', '"2": no, "3": nowhere}')
        .replace("then: no", "then: nope\n    colour: red\n    timeout_s: 0")
        .replace("next: done}\n  no:", "next: don}\n  no:")
        .replace("type: hangup", "type: hang_up")
    )
    assert errors(text) == [
        ("steps.ask.choices.3", "target 'nowhere' is not a step", 7),
        ("steps.ask.then", "target 'nope' is not a step", 8),
        ("steps.ask.colour", "unknown field", 9),
        ("steps.ask.timeout_s", "must be > 0 (not 0)", 10),
        ("steps.yes.next", "target 'don' is not a step", 11),
        (
            "steps.done.type",
            "unknown step type 'hang_up': must be one of " + ", ".join(s.StepType),
            13,
        ),
    ]


def test_unknown_field_suggests_the_close_one() -> None:
    assert errors("flow: 1\nstart: a\nsteps:\n  a: {type: say, text: x, nxt: a}\n") == [
        ("steps.a.nxt", "unknown field (did you mean 'next'?)", 4)
    ]


@pytest.mark.parametrize(
    ("step", "path", "message"),
    [
        ("{type: say, text: x, next: z}", "steps.a.next", "target 'z' is not a step"),
        ("{type: say, text: x, on_error: z}", "steps.a.on_error", "target 'z' is not a step"),
        ("{type: say, text: x, on: {fax: z}}", "steps.a.on.fax", "target 'z' is not a step"),
        ("{type: detect, branches: {fax: z}}", "steps.a.branches.fax", "target 'z' is not a step"),
        ("{type: detect, default: z}", "steps.a.default", "target 'z' is not a step"),
        (
            "{type: branch, cases: [{var: x, op: eq, value: 1, next: z}]}",
            "steps.a.cases.0.next",
            "target 'z' is not a step",
        ),
        (
            "{type: transfer, to: 'tel:+1', branches: {busy: z}}",
            "steps.a.branches.busy",
            "target 'z' is not a step",
        ),
        ("{type: menu, choices: {'1': a}, then: z}", "steps.a.then", "target 'z' is not a step"),
        ("{type: detect, branches: {human: a}}", "steps.a.branches.human", "unknown field"),
        ("{type: say}", "steps.a", "a say step has either text or audio"),
        ("{type: say, text: x, audio: y.wav}", "steps.a", "a say step has either text or audio"),
        ("{type: pause}", "steps.a.seconds", "required"),
        ("{type: hangup, next: a}", "steps.a.next", "unknown field"),
        (
            "{type: menu, choices: {'12': a}}",
            "steps.a.choices.12",
            "not a key: use one of 0-9, * or #",
        ),
        (
            "{type: set, vars: {a-b: 1}}",
            "steps.a.vars.a-b",
            "not a variable name (letters, digits and _)",
        ),
        (
            "{type: menu, choices: {'1': a}, speech: {x: '*2'}}",
            "steps.a.speech.x",
            "not a key: use one of 0-9, * or #",
        ),
        (
            "{type: menu, choices: {'1': a}, speech: {yes: '2'}}",
            "steps.a.speech.yes",
            "key '2' is not one of the choices",
        ),
        (
            "{type: menu, choices: {'1': a}, speech: {'yes zorblax': '1'}}",
            "steps.a.speech.yes zorblax",
            "the speech recogniser does not know 'zorblax' (US English words only; spell "
            "numbers as words)",
        ),
        (
            "{type: menu, choices: {'1': a}, speech: {'?!': '1'}}",
            "steps.a.speech.?!",
            "has no word to recognise (letters a-z or digits)",
        ),
        ("{type: digits, min: 5, max: 3}", "steps.a.min", "min (5) is more than max (3)"),
        (
            "{type: digits, pattern: '[0-9'}",
            "steps.a.pattern",
            "not a valid regular expression: unterminated character set at position 0",
        ),
        (
            "{type: digits, finish_on: '##'}",
            "steps.a.finish_on",
            "must be one key (0-9, * or #), or empty for none",
        ),
        (
            "{type: record, finish_on_key: '1a'}",
            "steps.a.finish_on_key",
            "must be keys among 0-9, * and #",
        ),
        (
            "{type: branch, cases: [{var: x, op: matches, value: '(', next: a}]}",
            "steps.a.cases.0.value",
            "not a valid regular expression: missing ), unterminated subpattern at position 0",
        ),
        (
            "{type: branch, cases: [{var: x, op: in, value: 1, next: a}]}",
            "steps.a.cases.0.value",
            "'in' needs a list of values",
        ),
        (
            "{type: branch, cases: [{var: x, op: gt, value: ten, as: number, next: a}]}",
            "steps.a.cases.0.value",
            "'ten' is not a number",
        ),
        (
            "{type: branch, cases: [{var: x, op: like, value: 1, next: a}]}",
            "steps.a.cases.0.op",
            "unknown value 'like': must be one of " + ", ".join(s.BRANCH_OPS),
        ),
        ("{type: send_dtmf, digits: '12x'}", "steps.a.digits", "cannot send 'x' as DTMF"),
        ("{type: transfer, to: '+1617'}", "steps.a.to", "must be a tel:, sip: or sips: URI"),
        ("{type: http, url: 'ftp://x'}", "steps.a.url", "must be an http:// or https:// URL"),
        (
            "{type: transfer, to: 'tel:1', mode: blind}",
            "steps.a.mode",
            "unknown value 'blind': must be one of bridge, refer",
        ),
        ("{type: record, max_s: -1}", "steps.a.max_s", "must be > 0 (not -1)"),
        (
            "{type: menu, choices: {'1': a}, attempts: 0}",
            "steps.a.attempts",
            "must be >= 1 (not 0)",
        ),
        ("{type: say, text: 3}", "steps.a.text", "must be of type string (not int)"),
        (
            "{type: menu, choices: {'1': a}, prompt: {voice: x}}",
            "steps.a.prompt",
            "a prompt is text, or an object with either text or audio (and a voice)",
        ),
    ],
)
def test_step_errors(step: str, path: str, message: str) -> None:
    assert (path, message) in [
        (p, m) for p, m, _ in errors(f"flow: 1\nstart: a\nsteps:\n  a: {step}\n")
    ]


def test_document_level_errors() -> None:
    text = (
        "flow: 2\nstart: b\non: {fax: c, voice: a}\n"
        "steps:\n  a: {type: hangup}\n  Bad: {type: hangup}\n"
    )
    assert errors(text) == [
        ("flow", "must be 1", 1),
        ("start", "'b' is not a step", 2),
        ("on.fax", "target 'c' is not a step", 3),
        ("on.voice", "unknown field", 3),
        ("steps.Bad", "step id 'Bad' must match [a-z][a-z0-9_]*", 6),
    ]
    assert errors("start: a\n") == [("flow", "required", 1), ("steps", "required", 1)]
    assert errors("- a\n- b\n") == [("(document)", "must be of type object (not list)", 1)]


def test_variables_known_in_advance() -> None:
    text = """\
    flow: 1
    start: a
    steps:
      a: {type: say, next: b,
          text: "${name} ${city} ${session.id} ${session.connection.callee_type}"}
      b: {type: set, vars: {city: "${b$.city}"}, next: c}
      c: {type: menu, prompt: "${a$.value}", choices: {"1": d}}
      d: {type: say, text: "${c$.value} ${c$.utterance} ${c$.digits} ${nope$.value}", next: e}
      e: {type: http, url: "https://x.example/${c$.value}", next: f}
      f: {type: result, fields: {x: "${e$.json.a.0}", y: "${e$.status.code}", z: "${session.zone}",
                                 w: "${}"}}
    """
    assert errors(text, known_params=None) == [
        ("steps.c.prompt", "${a$.value}: step 'a' (say) sets nothing, not 'value'", 7),
        (
            "steps.d.text",
            "${c$.digits}: step 'c' (menu) sets confidence, inputmode, utterance, value, "
            "not 'digits'",
            8,
        ),
        ("steps.d.text", "${nope$.value}: 'nope' is not a step", 8),
        (
            "steps.f.fields.y",
            "${e$.status.code}: only an http step's json can be followed by a path",
            10,
        ),
        ("steps.f.fields.z", "${session.zone} is not a valid variable reference", 10),
        ("steps.f.fields.w", "${} is not a valid variable reference", 11),
    ]
    unknown = "unknown variable ${name}: not a call parameter nor set by a set step"
    assert ("steps.a.text", unknown, 5) in errors(text, known_params=["other"])
    assert not any(m == unknown for _, m, _ in errors(text, known_params=["name"]))
    assert not any("city" in m for _, m, _ in errors(text, known_params=[]))  # set by b


def test_escaped_reference_and_non_template_fields_are_not_checked() -> None:
    text = """\
    flow: 1
    start: a
    steps:
      a: {type: say, text: "costs $${price}", next: b}
      b: {type: http, url: "https://x.example/", body: {raw: "$${not_checked}"}, next: c}
      c: {type: menu, choices: {"1": a}, speech: {"${odd}": "1"}}
    """
    assert errors(text, known_params=[]) == []


def test_unreachable_steps_are_warnings() -> None:
    text = GOOD + "  lost: {type: say, text: x, next: lost2}\n  lost2: {type: hangup}\n"
    problems = check(text)
    assert problems == [
        Problem("steps.lost", "unreachable: no step leads here", Severity.WARNING, 12),
        Problem("steps.lost2", "unreachable: no step leads here", Severity.WARNING, 13),
    ]
    flow = load_flow(text)  # warnings do not refuse a flow
    assert flow.warnings == tuple(problems)
    on_target = (
        "flow: 1\nstart: a\non: {hangup: b}\nsteps:\n  a: {type: hangup}\n  b: {type: hangup}\n"
    )
    assert check(on_target) == []


def test_json_flows_get_lines_too() -> None:
    data = load_flow(GOOD)  # round trip through the YAML, then as JSON
    assert data.start == "ask"
    raw = {
        "flow": 1,
        "start": "ask",
        "steps": {
            "ask": {"type": "menu", "prompt": "p", "choices": {"1": "yes", "2": "nowhere"}},
            "yes": {"type": "hangup"},
        },
    }
    text = json.dumps(raw, indent=2)
    assert errors(text) == [("steps.ask.choices.2", "target 'nowhere' is not a step", 10)]
    assert errors(json.dumps(raw)) == [("steps.ask.choices.2", "target 'nowhere' is not a step", 1)]


def test_unparseable_text() -> None:
    assert errors("flow: 1\nstart: [a\n") == [
        ("(document)", "not valid YAML: expected ',' or ']', but got '<stream end>'", 3)
    ]
    assert errors('{"flow": 1,\n "start": }') == [
        ("(document)", "not valid JSON: Expecting value", 2)
    ]


def test_duplicate_keys_are_errors() -> None:
    text = GOOD + "  done: {type: say, text: again}\n"
    assert ("steps.done", "duplicate key", 12) in errors(text)
    assert ("a", "duplicate key", 3) in errors('{"flow": 1, "a": 1,\n\n "a": 2}')


def test_yaml_is_read_with_yaml_1_2_booleans_and_string_keys() -> None:
    flow = load_flow(
        "flow: 1\nstart: a\non: {answeringmachine: a}\nsteps:\n"
        "  a: {type: menu, choices: {1: b, '#': b}, next: b}\n"
        "  b: {type: result, fields: {ok: yes, off: no, flag: true}}\n"
    )
    assert flow.on == {"answeringmachine": "a"}
    step = flow.steps["a"]
    assert isinstance(step, s.MenuStep) and step.choices == {"1": "b", "#": "b"}
    result = flow.steps["b"]
    assert isinstance(result, s.ResultStep)
    assert result.fields == {"ok": "yes", "off": "no", "flag": True}


def test_defaults_as_fuse_has_them() -> None:
    flow = load_flow(
        """\
flow: 1
start: m
steps:
  m: {type: menu, choices: {"1": d}}
  d: {type: digits, next: r}
  r: {type: record, next: h}
  h: {type: http, url: "https://x.example", next: t}
  t: {type: transfer, to: "sip:agent@example.com", next: y}
  y: {type: say, text: hi, next: w}
  w: {type: wait_beep, next: x}
  x: {type: detect}
"""
    )
    m, d, r, h, t, y, w, x = (flow.steps[k] for k in "mdrhtywx")
    assert isinstance(m, s.MenuStep) and (m.attempts, m.timeout_s, m.prompt) == (3, 5, None)
    assert isinstance(d, s.DigitsStep)
    assert (d.attempts, d.timeout_s, d.finish_on, d.interdigit_s, d.min, d.max) == (
        3,
        5,
        "#",
        3,
        1,
        20,
    )
    assert isinstance(r, s.RecordStep)
    assert (r.beep, r.final_silence_s, r.max_s, r.finish_on_key) == (True, 3, 300, "0123456789*#")
    assert isinstance(h, s.HttpStep) and (h.timeout_s, h.method, h.encoding) == (5, None, "json")
    assert isinstance(t, s.TransferStep) and (t.mode, t.timeout_s) == ("bridge", 30)
    assert isinstance(y, s.SayStep) and y.bargein is True
    assert isinstance(w, s.WaitBeepStep) and w.timeout_s == 30
    assert isinstance(x, s.DetectStep) and x.timeout_s == 10
    assert flow.voice == "en-us" and flow.settings.max_call_s is None


def test_prompts_as_text_or_objects() -> None:
    flow = load_flow(
        "flow: 1\nstart: m\nsteps:\n  m:\n    type: menu\n    voice: en-gb\n"
        "    prompt: {audio: menu.wav}\n    no_input: [again, {text: 'x', voice: 'fr'}]\n"
        "    choices: {'1': m}\n"
    )
    m = flow.steps["m"]
    assert isinstance(m, s.MenuStep)
    assert m.prompt == s.Prompt(audio="menu.wav", voice="en-gb")
    assert m.no_input == (s.Prompt(text="again", voice="en-gb"), s.Prompt(text="x", voice="fr"))


def test_flow_invalid_is_a_400_with_every_problem() -> None:
    with pytest.raises(FlowInvalid) as caught:
        load_flow(
            "flow: 1\nstart: a\nsteps:\n  a: {type: say, text: '${b$.value}', next: x}\n"
            "  lost: {type: hangup}\n"
        )
    exc = caught.value
    assert isinstance(exc, InvalidField) and isinstance(exc, BadRequest) and exc.status == 400
    assert exc.message == "flow: 2 error(s): steps.a.next: target 'x' is not a step (and 1 more)"
    assert json.loads(json.dumps(exc.as_list())) == [  # by line, errors before warnings
        {
            "path": "steps.a.next",
            "message": "target 'x' is not a step",
            "severity": "error",
            "line": 4,
        },
        {
            "path": "steps.a.text",
            "message": "${b$.value}: 'b' is not a step",
            "severity": "error",
            "line": 4,
        },
        {
            "path": "steps.lost",
            "message": "unreachable: no step leads here",
            "severity": "warning",
            "line": 5,
        },
    ]


def test_empty_document_and_data_form() -> None:
    with pytest.raises(FlowInvalid):
        load_flow("")
    with pytest.raises(FlowInvalid) as caught:
        flow_from_data({"flow": 1, "start": "a", "steps": {}})
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("start", "'a' is not a step"),
        ("steps", "must not be empty"),
    ]
    flow = flow_from_data({"flow": 1, "start": "a", "steps": {"a": {"type": "hangup"}}})
    assert isinstance(flow.steps["a"], s.HangupStep)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,  # deeper than Python's recursion limit
        "flow: 1\nsteps: " + "[" * 40 + "]" * 40,  # shallow enough to parse, too deep to keep
        "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 1500)),
    ],
)
def test_a_document_nested_too_deeply_is_one_clear_problem(text: str) -> None:
    assert [p.as_dict() for p in check(text)] == [
        {
            "path": "(document)",
            "message": "nested more than 32 levels deep",
            "severity": "error",
            "line": None,
        }
    ]
