"""What validation found wrong with a flow document, and the exception that carries it."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from outdial.errors import InvalidField


class Severity(enum.StrEnum):
    ERROR = "error"  # the flow is refused
    WARNING = "warning"  # the flow runs, but probably not as meant (an unreachable step)


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: ``path`` names the step and field (``steps.ask.choices.3``), ``line`` is
    1-based in the source text when it could be found."""

    path: str
    message: str
    severity: Severity = Severity.ERROR
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form the CLI prints and the API returns."""
        return {
            "path": self.path,
            "message": self.message,
            "severity": str(self.severity),
            "line": self.line,
        }

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.path}: {self.message}"


class FlowInvalid(InvalidField):
    """The flow does not validate; ``problems`` lists every error (and warning) found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.severity is Severity.ERROR]
        first = f"{errors[0].path}: {errors[0].message}" if errors else "no errors"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__("flow", f"{len(errors)} error(s): {first}{more}")

    def details(self) -> dict[str, object]:
        return {"problems": self.as_list()}

    def as_list(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.problems]
