"""``${…}`` references: their syntax, and substitution into text.

A reference names one of:

- a call parameter or a variable set by a ``set`` step: ``${first_name}``;
- the session: ``${session.id}``, ``${session.attempt}``, ``${session.connection.callee_type}``,
  ``${session.connection.remote}``, ``${session.connection.local}``;
- what a step set: ``${ask$.value}``; an http step's ``json`` may be followed by a path into
  the reply (``${account$.json.balance}``, ``${account$.json.items.0.name}``).

``$${`` writes a literal ``${``. A name that cannot be resolved becomes the empty string and a
warning (validation catches those that can be known in advance).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from outdial.flow.steps import STEP_ID, JsonValue

_TEMPLATE = re.compile(r"\$(\$?)\{([^}]*)\}")
_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_STEP = re.compile(rf"({STEP_ID})\$\.([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_-]+)*)")

SESSION_NAMES = frozenset(
    {
        "session.id",
        "session.attempt",
        "session.connection.callee_type",
        "session.connection.remote",
        "session.connection.local",
    }
)
PROCESSING = "processing"  # session.connection.callee_type until detection decides


class RefKind(enum.StrEnum):
    NAME = "name"  # a call parameter or set variable
    SESSION = "session"
    STEP = "step"


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed ``${…}``: ``name`` is the bare name, the session name or the step id."""

    raw: str
    kind: RefKind
    name: str
    field: str | None = None  # a step's field
    path: tuple[str, ...] = ()  # after a step's field (http json)


class Missing(enum.Enum):
    MISSING = "missing"


MISSING = Missing.MISSING


def parse_reference(raw: str) -> Reference | None:
    """Parse what is between ``${`` and ``}``; None when it is not a valid reference."""
    inner = raw.strip()
    if inner.startswith("session."):
        return Reference(raw, RefKind.SESSION, inner) if inner in SESSION_NAMES else None
    if match := _STEP.fullmatch(inner):
        path = tuple(match.group(3).split(".")[1:])
        return Reference(raw, RefKind.STEP, match.group(1), match.group(2), path)
    if _BARE.fullmatch(inner):
        return Reference(raw, RefKind.NAME, inner)
    return None


def references(template: str) -> Iterator[str]:
    """The raw text of every ``${…}`` in ``template`` (``$${`` escapes excluded)."""
    for match in _TEMPLATE.finditer(template):
        if not match.group(1):
            yield match.group(2)


def format_value(value: object) -> str:
    """How a value reads in text: booleans as true/false, whole floats without ``.0``,
    objects and lists as compact JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def substitute(
    template: str,
    resolve: Callable[[Reference], object],
    *,
    encode: Callable[[str], str] | None = None,
) -> tuple[str, list[str]]:
    """Replace every reference with ``format_value(resolve(ref))``; ``resolve`` returns
    ``MISSING`` for an unknown name (replaced by ``""``, with a warning). ``encode`` is applied
    to each substituted value (URL-quoting). Returns the text and the warnings."""
    warnings: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return "${" + match.group(2) + "}"
        ref = parse_reference(match.group(2))
        value = resolve(ref) if ref is not None else MISSING
        if value is MISSING:
            warnings.append(f"unknown variable ${{{match.group(2)}}}: empty")
            return ""
        text = format_value(value)
        return encode(text) if encode is not None else text

    return _TEMPLATE.sub(replace, template), warnings


def substitute_url(template: str, resolve: Callable[[Reference], object]) -> tuple[str, list[str]]:
    """Substitute into a URL: values after the ``?`` are percent-encoded (a ``+`` in a phone
    number must survive), values before it are inserted as they are (a base URL)."""
    head, sep, query = template.partition("?")
    url, warnings = substitute(head, resolve)
    if sep:
        tail, more = substitute(query, resolve, encode=lambda v: quote(v, safe=""))
        url, warnings = f"{url}?{tail}", warnings + more
    return url, warnings


@dataclass
class Variables:
    """Everything ``${…}`` can name during a call. The interpreter owns and updates it."""

    params: Mapping[str, str] = field(default_factory=dict)
    session: dict[str, str] = field(default_factory=dict)  # full names: "session.id"
    steps: dict[str, dict[str, JsonValue]] = field(default_factory=dict)
    names: dict[str, JsonValue] = field(default_factory=dict)  # set by set steps

    def resolve(self, ref: Reference) -> object:
        if ref.kind is RefKind.SESSION:
            return self.session.get(ref.name, MISSING)
        if ref.kind is RefKind.NAME:
            if ref.name in self.names:
                return self.names[ref.name]
            return self.params.get(ref.name, MISSING)
        values = self.steps.get(ref.name)
        if values is None or ref.field not in values:
            return MISSING
        value: object = values[ref.field]
        for part in ref.path:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return MISSING
        return value

    def text(self, template: str) -> tuple[str, list[str]]:
        return substitute(template, self.resolve)

    def url(self, template: str) -> tuple[str, list[str]]:
        return substitute_url(template, self.resolve)

    def value(self, value: JsonValue) -> tuple[JsonValue, list[str]]:
        """Substitute into every string of a JSON value (an http body)."""
        if isinstance(value, str):
            return self.text(value)
        warnings: list[str] = []
        if isinstance(value, list):
            items = []
            for item in value:
                new, more = self.value(item)
                items.append(new)
                warnings += more
            return items, warnings
        if isinstance(value, dict):
            out: dict[str, JsonValue] = {}
            for key, item in value.items():
                out[key], more = self.value(item)
                warnings += more
            return out, warnings
        return value, warnings
