"""JSON nested deeper than any request needs: cut, so the rest of the body still counts.

Python's parser fails on the whole document when one value is nested past its recursion
limit. No field of ours holds more than a few levels, so :func:`prune` empties every array or
object that starts deeper than ``MAX_DEPTH``: ``[[[…]]]`` at that depth becomes ``[]`` and
``{…}`` becomes ``{}``. The value keeps its kind, so the field's own check refuses it with its
own message (``call_parameters: value of 'a' must be a string…``), and in a bulk request only
that row is refused.
"""

from __future__ import annotations

import re

MAX_DEPTH = 16  # levels of arrays and objects kept; a bulk request needs four
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def prune(text: str, max_depth: int = MAX_DEPTH) -> str:
    """``text`` with every array or object opened deeper than ``max_depth`` emptied.

    Strings are skipped whole (brackets inside them are text). Text that is not JSON stays
    not JSON: the parser then reports it as it would have.
    """
    pieces: list[str] = []
    depth = 0
    kept_to = 0  # text before this offset is copied or cut already
    cut_at = -1  # depth at which the current cut started, or -1
    for token in _TOKEN.finditer(text):
        char = token.group()[0]
        if char == '"':
            continue
        if char in "[{":
            depth += 1
            if cut_at < 0 and depth > max_depth:
                cut_at = depth
                pieces.append(text[kept_to : token.end()])
        elif depth > 0:
            if cut_at == depth:
                cut_at = -1
                kept_to = token.start()
            depth -= 1
    if cut_at >= 0:  # unclosed: keep the cut, the parser reports the missing brackets
        return "".join(pieces)
    pieces.append(text[kept_to:])
    return "".join(pieces)


__all__ = ["MAX_DEPTH", "prune"]
