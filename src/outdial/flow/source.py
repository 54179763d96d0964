"""Flow text (JSON or YAML) to plain data, with the line of each key for error messages.

YAML is read the YAML 1.2 way for booleans: only ``true``/``false`` are booleans, so the
flow's ``on:`` key and values like ``yes`` stay strings (PyYAML's YAML 1.1 reading turns
``on`` into ``True``). Mapping keys are always strings (``{1: confirmed}`` has key ``"1"``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from outdial.flow.problems import Problem

Path = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def format_path(path: Sequence[str | int]) -> str:
    """``("steps", "ask", "choices", "3")`` -> ``steps.ask.choices.3``; the root is ``flow``."""
    return ".".join(str(p) for p in path) if path else "(document)"


@dataclass
class Source:
    """Parsed text: ``data`` (None when it did not parse), ``lines`` by path, ``problems``."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    text: str = ""
    format: str = "yaml"  # "json" when the text was read as JSON

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)


_JSON_START = re.compile(r'\s*[{\[]\s*(?:"|\]|\}|$)')


MAX_DEPTH = 32  # levels of nesting a flow may have (a real one has about six)
TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"


def too_deep(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``data`` nests lists and objects more than ``limit`` levels (no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((value, depth + 1) for value in item.values())
        elif isinstance(item, list):
            stack.extend((value, depth + 1) for value in item)
    return False


def parse(text: str) -> Source:
    """Parse flow text: JSON when it starts like JSON (``{"``), otherwise YAML. Text that
    starts with a brace but not a quoted key is tried as JSON, then as YAML flow style.
    A document nested deeper than ``MAX_DEPTH`` is refused as a problem, not parsed on."""
    try:
        source = _parse(text)
    except RecursionError:
        return Source(None, problems=[Problem("(document)", TOO_DEEP)], text=text)
    if source.data is not None and too_deep(source.data):
        return Source(None, problems=[Problem("(document)", TOO_DEEP)], text=text)
    return source


def _parse(text: str) -> Source:
    if text.lstrip()[:1] in ("{", "["):
        try:
            return _parse_json(text)
        except json.JSONDecodeError as exc:
            if not _JSON_START.match(text):
                try:
                    return _parse_yaml(text)
                except yaml.YAMLError:
                    pass
            problem = Problem("(document)", f"not valid JSON: {exc.msg}", line=exc.lineno)
            return Source(None, problems=[problem], text=text)
    try:
        return _parse_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = Problem("(document)", f"not valid YAML: {exc.problem or exc}", line=line)
        return Source(None, problems=[problem], text=text)
    except yaml.YAMLError as exc:
        return Source(None, problems=[Problem("(document)", f"not valid YAML: {exc}")], text=text)


def _parse_yaml(text: str) -> Source:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        source = Source(None, text=text)
        if node is None:
            return source
        _index(node, (), source)
        source.data = _string_keys(loader.construct_document(node))
        return source
    finally:
        loader.dispose()


def _index(node: yaml.Node, path: Path, source: Source) -> None:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                source.problems.append(
                    Problem(format_path(child), "duplicate key", line=key_node.start_mark.line + 1)
                )
                continue
            seen.add(key)
            source.lines[child] = key_node.start_mark.line + 1
            _index(value_node, child, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, i), source)


def _string_keys(data: Any) -> Any:
    if isinstance(data, dict):
        return {str(k): _string_keys(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_string_keys(v) for v in data]
    return data


def _parse_json(text: str) -> Source:
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                duplicates.append(key)
            out[key] = value
        return out

    source = Source(json.loads(text, object_pairs_hook=pairs), text=text, format="json")
    _index_json(source.data, (), 0, source)
    for key in duplicates:
        found = [m.start() for m in re.finditer(_key_re(key), text)]
        line = _line_at(text, found[1]) if len(found) > 1 else None
        source.problems.append(Problem(key, "duplicate key", line=line))
    return source


def _key_re(key: str) -> str:
    return re.escape(json.dumps(key)) + r"\s*:"


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _index_json(data: Any, path: Path, pos: int, source: Source) -> None:
    """Find each key's line by searching for ``"key":`` after its parent's position: cheap,
    and right for the documents people write (a key's first occurrence after its parent)."""
    source.lines.setdefault(path, _line_at(source.text, pos))
    if isinstance(data, dict):
        for key, value in data.items():
            match = re.compile(_key_re(key)).search(source.text, pos)
            if match is None:
                continue
            source.lines[(*path, key)] = _line_at(source.text, match.start())
            _index_json(value, (*path, key), match.start(), source)
