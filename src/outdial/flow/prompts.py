"""Prompts that can be synthesised while the phone rings.

A prompt's text is known at claim time when every ``${…}`` in it is a call parameter or one of
the session's fixed names (id, attempt, remote, local): not what a step sets, not a ``set``
variable, not the callee type. Names that are none of these resolve to the empty string at run
time too, so they do not stop a prompt from being known.
"""

from __future__ import annotations

from collections.abc import Mapping

from outdial.flow.context import Session
from outdial.flow.document import Flow
from outdial.flow.steps import SetStep, prompts_of
from outdial.flow.variables import MISSING, Reference, RefKind, parse_reference, references
from outdial.flow.variables import substitute as _substitute

_FIXED_SESSION = frozenset(
    {"session.id", "session.attempt", "session.connection.remote", "session.connection.local"}
)


def prompts_known_at_claim(
    flow: Flow, params: Mapping[str, str], session: Session
) -> list[tuple[str, str]]:
    """``(voice, text)`` of every text prompt of ``flow`` fully known before answer, in step
    order, without duplicates. Audio prompts are files and are not listed."""
    set_names = {
        name for step in flow.steps.values() if isinstance(step, SetStep) for name in step.vars
    }
    session_values = {
        "session.id": session.id,
        "session.attempt": str(session.attempt),
        "session.connection.remote": session.remote,
        "session.connection.local": session.local,
    }

    def known(raw: str) -> bool:
        ref = parse_reference(raw)
        if ref is None:
            return True  # validation refuses these; at run time they read as ""
        if ref.kind is RefKind.SESSION:
            return ref.name in _FIXED_SESSION
        return ref.kind is RefKind.NAME and ref.name not in set_names

    def resolve(ref: Reference) -> object:
        if ref.kind is RefKind.SESSION:
            return session_values.get(ref.name, MISSING)
        return params.get(ref.name, MISSING)

    found: list[tuple[str, str]] = []
    for step in flow.steps.values():
        for _, prompt in prompts_of(step):
            if prompt.text is None or not all(known(r) for r in references(prompt.text)):
                continue
            text, _ = _substitute(prompt.text, resolve)
            item = (prompt.voice or flow.voice, text)
            if item not in found:
                found.append(item)
    return found
