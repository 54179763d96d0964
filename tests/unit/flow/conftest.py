"""Factories for the flow tests: a flow from YAML text, and a rehearsal of it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping

import pytest

from outdial.flow.context import Session
from outdial.flow.document import Flow, load_flow
from outdial.flow.rehearsal import Rehearsal

MakeFlow = Callable[[str], Flow]
Rehearse = Callable[..., Rehearsal]


def make_flow(text: str) -> Flow:
    """A flow from YAML; ``flow: 1`` is added when the text has no version line."""
    text = textwrap.dedent(text)
    if not text.lstrip().startswith("flow:"):
        text = "flow: 1\n" + text
    return load_flow(text)


@pytest.fixture
def rehearse() -> Rehearse:
    def make(
        text: str,
        params: Mapping[str, str] | None = None,
        *,
        session: Session | None = None,
        start: bool = True,
    ) -> Rehearsal:
        session = session or Session("call-1", 2, "+16175550123", "+18005550100")
        rehearsal = Rehearsal(make_flow(text), params or {}, session)
        if start:
            rehearsal.start()
        return rehearsal

    return make
