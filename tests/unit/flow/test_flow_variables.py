"""${…} references, substitution, branch conditions, and prompts known at claim time."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from outdial.flow import actions as a
from outdial.flow.conditions import coerce, infer
from outdial.flow.conditions import holds as evaluate
from outdial.flow.context import Context, Session
from outdial.flow.document import Flow, load_flow
from outdial.flow.prompts import prompts_known_at_claim
from outdial.flow.rehearsal import Rehearsal
from outdial.flow.steps import Case, JsonValue
from outdial.flow.variables import (
    MISSING,
    Reference,
    RefKind,
    Variables,
    format_value,
    parse_reference,
    references,
    substitute,
)

MakeFlow = Callable[[str], Flow]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("first_name", Reference("first_name", RefKind.NAME, "first_name")),
        (" account-id ", Reference(" account-id ", RefKind.NAME, "account-id")),
        ("session.id", Reference("session.id", RefKind.SESSION, "session.id")),
        (
            "session.connection.callee_type",
            Reference(
                "session.connection.callee_type", RefKind.SESSION, "session.connection.callee_type"
            ),
        ),
        ("ask$.value", Reference("ask$.value", RefKind.STEP, "ask", "value")),
        ("h$.json.a.0", Reference("h$.json.a.0", RefKind.STEP, "h", "json", ("a", "0"))),
        ("session.nope", None),
        ("", None),
        ("Ask$.value", None),
        ("a b", None),
        ("ask$", None),
    ],
)
def test_parse_reference(raw: str, expected: Reference | None) -> None:
    assert parse_reference(raw) == expected


def test_references_skip_escapes() -> None:
    assert list(references("${a} $${b} ${c$.d}${ e }")) == ["a", "c$.d", " e "]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (3.0, "3"),
        (2.5, "2.5"),
        ({"a": [1, "x"]}, '{"a":[1,"x"]}'),
        ("x", "x"),
    ],
)
def test_format_value(value: object, text: str) -> None:
    assert format_value(value) == text


def variables() -> Variables:
    return Variables(
        params={"name": "Ann", "n": "+1 617"},
        session={"session.id": "c-9"},
        steps={"h": {"status": 200, "json": {"a": [{"b": "deep"}], "ok": True}, "text": "t"}},
        names={"name": "set wins"},
    )


def test_substitution_resolves_every_kind_of_name() -> None:
    text, warnings = variables().text(
        "${name}|${n}|${session.id}|${h$.status}|${h$.json.a.0.b}|${h$.json.ok}|$${name}"
    )
    assert text == "set wins|+1 617|c-9|200|deep|true|${name}"
    assert warnings == []


def test_unknown_names_become_empty_with_a_warning() -> None:
    text, warnings = variables().text("[${nobody}][${h$.json.a.5}][${x$.y}][${bad name}]")
    assert text == "[][][][]"
    assert warnings == [
        "unknown variable ${nobody}: empty",
        "unknown variable ${h$.json.a.5}: empty",
        "unknown variable ${x$.y}: empty",
        "unknown variable ${bad name}: empty",
    ]


def test_url_substitution_encodes_query_values_only() -> None:
    v = Variables(params={"base": "https://api.example.com/v1", "n": "+1 617&x"})
    assert v.url("${base}/calls?to=${n}") == (
        "https://api.example.com/v1/calls?to=%2B1%20617%26x",
        [],
    )


def test_substitute_with_a_resolver() -> None:
    def resolve(ref: Reference) -> object:
        return ref.name.upper() if ref.kind is RefKind.NAME else MISSING

    assert substitute("${a}-${session.id}", resolve) == (
        "A-",
        ["unknown variable ${session.id}: empty"],
    )


def test_json_values_are_substituted_throughout() -> None:
    body: JsonValue = {"a": ["${n}", 1, {"b": "${session.id}"}], "c": None}
    assert variables().value(body) == ({"a": ["+1 617", 1, {"b": "c-9"}], "c": None}, [])


# branch conditions -----------------------------------------------------------------------


def context(params: dict[str, str]) -> Context:
    flow = load_flow("flow: 1\nstart: h\nsteps:\n  h: {type: hangup}\n")
    return Context(flow, Variables(params=params))


@pytest.mark.parametrize(
    ("var", "op", "value", "as_", "holds"),
    [
        ("10", "gt", 9, None, True),  # a number literal compares as numbers
        ("10", "gt", "9", None, False),  # a string literal as strings
        ("10", "gt", "9", "number", True),
        ("2.50", "eq", 2.5, None, True),
        ("abc", "eq", "abc", None, True),
        ("abc", "ne", "abd", None, True),
        ("3", "le", 3, None, True),
        ("3", "lt", 3, None, False),
        ("4", "ge", 5, None, False),
        ("2", "in", ["1", "2"], None, True),
        ("2", "in", [1, 3], None, False),
        ("2.0", "in", [1, 2], None, True),
        ("yes", "eq", True, None, True),
        ("off", "eq", False, None, True),
        ("1", "eq", "true", "boolean", True),
        ("Hello World", "matches", "^hello", None, False),
        ("Hello World", "matches", "(?i)^hello", None, True),
        ("555-0100", "matches", r"\d{3}-\d{4}", None, True),
    ],
)
def test_branch_operations(
    var: str, op: str, value: JsonValue, as_: str | None, holds: bool
) -> None:
    ctx = context({"v": var})
    assert evaluate(Case("${v}", op, value, "x", as_), ctx) is holds
    assert ctx.out == []


def test_values_that_cannot_be_coerced_are_false_with_a_warning() -> None:
    ctx = context({"v": "abc"})
    assert evaluate(Case("${v}", "gt", 3, "x"), ctx, 2) is False
    assert ctx.out == [a.Warn("", "case 2: cannot compare ${v} gt 3 as number")]
    assert "abc" not in str(ctx.out)  # the value may be private


def test_coercion_and_inference() -> None:
    assert (infer(1), infer(1.5), infer(True), infer("1"), infer([2]), infer([])) == (
        "number",
        "number",
        "boolean",
        "string",
        "number",
        "string",
    )
    assert coerce(" 12 ", "number") == 12.0
    assert coerce(True, "string") == "true"
    assert coerce("", "boolean") is False
    with pytest.raises(ValueError):
        coerce("maybe", "boolean")


def test_branch_step_takes_the_first_true_case_else_default(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        start: b
        steps:
          b:
            type: branch
            cases:
              - {var: "${amount}", op: gt, value: 100, next: big}
              - {var: "${amount}", op: gt, value: 10, next: mid}
            default: small
          big: {type: result, fields: {size: big}}
          mid: {type: result, fields: {size: mid}}
          small: {type: result, fields: {size: small}}
        """
    )
    for amount, size, outcome in [
        ("500", "big", "case 0"),
        ("50", "mid", "case 1"),
        ("5", "small", "default"),
    ]:
        r = Rehearsal(flow, {"amount": amount})
        r.start()
        assert r.results == {"size": size}
        assert r.interpreter.trace[0].outcome == outcome


# prompts known at claim -------------------------------------------------------------------


def test_prompts_known_at_claim(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        start: a
        voice: en-gb
        steps:
          a: {type: say, text: "Hi ${name}, calling ${session.connection.remote}", next: b}
          b: {type: say, text: "You are ${session.connection.callee_type}", next: c}
          c:
            type: menu
            voice: en-us
            prompt: "Press 1, ${name}"
            no_input: ["Hi ${name}, calling ${session.connection.remote}", {audio: x.wav}]
            no_match: ["You pressed ${c$.value}"]
            choices: {"1": d}
          d: {type: set, vars: {total: "${c$.value}"}, next: e}
          e: {type: say, text: "Total ${total} ${missing}", next: f}
          f: {type: say, text: "Bye ${missing} ${session.id} ${session.attempt}"}
        """
    )
    session = Session("c-1", 3, "+16175550123", "+18005550100")
    assert prompts_known_at_claim(flow, {"name": "Ann"}, session) == [
        ("en-gb", "Hi Ann, calling +16175550123"),
        ("en-us", "Press 1, Ann"),
        ("en-us", "Hi Ann, calling +16175550123"),
        ("en-gb", "Bye  c-1 3"),
    ]


def test_prompts_known_at_claim_are_what_the_interpreter_plays(make_flow: MakeFlow) -> None:
    flow = make_flow(
        """
        start: a
        steps:
          a: {type: say, text: "Hello ${name} on ${session.connection.local}"}
        """
    )
    session = Session("c-1", 1, "+1617", "+1800")
    known = prompts_known_at_claim(flow, {"name": "Bo"}, session)
    r = Rehearsal(flow, {"name": "Bo"}, session)
    r.start()
    assert known == [(r.plays[0].voice, r.plays[0].text)]
