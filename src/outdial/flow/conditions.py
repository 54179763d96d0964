"""The cases of a branch step: ``var op value``, compared as strings, numbers or booleans.

``as`` says how to compare; when it is absent the literal ``value`` decides (a number
compares as numbers, a boolean as booleans, anything else as strings). ``matches`` searches
the text with a regular expression (anchor it with ``^…$`` to match the whole). A value
that cannot be coerced (``"abc"`` as a number) makes the case false, with a warning.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

from outdial.flow.context import Context
from outdial.flow.steps import Case, JsonValue

_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off", ""})
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "lt": operator.lt,
    "ge": operator.ge,
    "le": operator.le,
}


def infer(value: JsonValue) -> str:
    """How to compare when ``as`` is not given."""
    if isinstance(value, list):
        return infer(value[0]) if value else "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def coerce(value: object, kind: str) -> str | float | bool:
    """``value`` as ``kind``; ValueError when it is not one."""
    text = value if isinstance(value, str) else _literal(value)
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return float(text.strip())
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        word = text.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError(f"{text!r} is not a boolean")
    return text


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def holds(case: Case, ctx: Context, index: int = 0) -> bool:
    """Whether one case is true; substitution and coercion warnings go to ``ctx`` (naming the
    case, never the values: they may come from a private step)."""
    left = ctx.text(case.var)
    right: JsonValue = ctx.value(case.value)
    if case.op == "matches":
        try:
            return re.search(str(right), left) is not None
        except re.error as exc:  # validation refuses bad literals; a substituted one may fail
            ctx.warn([f"case {index}: bad regular expression: {exc}"])
            return False
    kind = case.as_ or infer(case.value)
    try:
        lhs = coerce(left, kind)
        if case.op == "in":
            items = right if isinstance(right, list) else [right]
            return any(lhs == coerce(item, kind) for item in items)
        rhs = coerce(right, kind)
        return _COMPARE[case.op](lhs, rhs)
    except (ValueError, TypeError):
        ctx.warn([f"case {index}: cannot compare {case.var} {case.op} {case.value!r} as {kind}"])
        return False


def choose(cases: Sequence[Case], ctx: Context) -> int | None:
    """The index of the first case that holds, or None."""
    for index, case in enumerate(cases):
        if holds(case, ctx, index):
            return index
    return None
