"""Cutting JSON nested past what any field needs, so the rest of a body still counts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outdial.api.nesting import MAX_DEPTH, prune


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:'),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=30,
)


@given(json_values)
def test_what_is_shallow_enough_is_kept_as_it_was(value: Any) -> None:
    text = json.dumps(value)
    assert json.loads(prune(text, max_depth=50)) == value


@given(json_values, st.integers(min_value=1, max_value=4))
def test_what_is_cut_parses_and_is_no_deeper_than_the_limit(value: Any, limit: int) -> None:
    pruned = json.loads(prune(json.dumps(value), max_depth=limit))
    assert depth(pruned) <= limit + 1  # what opens past the limit is kept, empty
    # a cut array stays an array and a cut object an object
    assert type(pruned) is type(value)


def test_a_deep_value_is_emptied_where_it_passes_the_limit_and_its_neighbours_stay() -> None:
    text = '{"ok": [1, "]]", {"x": 2}], "deep": ' + "[" * 50_000 + "]" * 50_000 + ', "after": 3}'

    pruned = json.loads(prune(text))

    assert pruned["ok"] == [1, "]]", {"x": 2}] and pruned["after"] == 3
    # the body's object is level 1; the array opened at level MAX_DEPTH + 1 is kept, empty
    assert depth(pruned) == MAX_DEPTH + 1


@pytest.mark.parametrize("text", ["[[[[", '{"a": [[[', "]]]", '"[[[['])
def test_text_that_is_not_json_stays_not_json(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(prune(text, max_depth=2))
