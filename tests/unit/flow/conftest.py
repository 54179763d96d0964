"""Factories for the flow tests: a flow from YAML text, and a rehearsal of it.

Test modules do not import this file (several conftest.py share the module name): they take
the fixtures, typed ``Callable[..., Rehearsal]`` and ``Callable[[str], Flow]``."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping

import pytest

from outdial.flow.context import Session
from outdial.flow.document import Flow, load_flow
from outdial.flow.rehearsal import Rehearsal


def _make_flow(text: str) -> Flow:
    """A flow from YAML; ``flow: 1`` is added when the text has no version line."""
    text = textwrap.dedent(text)
    if not text.lstrip().startswith("flow:"):
        text = "flow: 1\n" + text
    return load_flow(text)


@pytest.fixture
def make_flow() -> Callable[[str], Flow]:
    """``make_flow(yaml_text)``: a validated flow (``flow: 1`` is added when missing)."""
    return _make_flow


@pytest.fixture
def rehearse() -> Callable[..., Rehearsal]:
    """``rehearse(yaml_text, params, session=..., start=True)``: a started rehearsal."""

    def make(
        text: str,
        params: Mapping[str, str] | None = None,
        *,
        session: Session | None = None,
        start: bool = True,
    ) -> Rehearsal:
        session = session or Session("call-1", 2, "+16175550123", "+18005550100")
        rehearsal = Rehearsal(_make_flow(text), params or {}, session)
        if start:
            rehearsal.start()
        return rehearsal

    return make
