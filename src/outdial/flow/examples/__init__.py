"""The example flows that ship with outdial (also at ``examples/flows/`` in the repository)."""

from __future__ import annotations

from importlib import resources


def example(name: str) -> str:
    """The text of the example flow ``name`` (``appointment_reminder``, ``survey``, ...)."""
    return (resources.files(__package__) / f"{name}.yaml").read_text(encoding="utf-8")
