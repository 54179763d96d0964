"""Saving a flow document as an application's newest version: validated first, whole."""

from __future__ import annotations

from typing import Protocol, TypeVar

from outdial.errors import InvalidField
from outdial.flow.document import flow_of
from outdial.flow.problems import Problem
from outdial.flow.source import parse

MAX_FLOW_TEXT = 256 * 1024  # characters of one flow document

V = TypeVar("V", covariant=True)


class FlowSaver(Protocol[V]):
    def save_flow(self, application_id: int, source: str, fmt: str, author: str) -> V: ...


def save_flow(
    store: FlowSaver[V], application_id: int, text: str, author: str
) -> tuple[V, tuple[Problem, ...]]:
    """Validate ``text`` (raising ``FlowInvalid`` with every problem) and store it as the
    application's newest version, in the format the parser read it as; the version and the
    validator's warnings."""
    if len(text) > MAX_FLOW_TEXT:
        raise InvalidField("flow", f"is longer than {MAX_FLOW_TEXT} characters")
    source = parse(text)
    flow = flow_of(source)
    return store.save_flow(application_id, text, source.format, author), flow.warnings
