"""How the UI shows what a call flow did: results in a line, a step trace as a timeline, and
a recording as a WAV file a browser plays."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RESULTS_SHOWN = 120  # characters of results the completed-calls table shows in its cell
TIMELINE_WIDTH = 1000  # units of a trace bar's viewBox (drawn at the width CSS gives it)
MIN_BAR = 6  # units: a step that took no time still shows as a mark
SAMPLE_RATE = 8000  # Hz: recordings are G.711 µ-law at 8 kHz, one channel


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def results_text(results: Mapping[str, Any] | None, limit: int | None = None) -> str:
    """``confirmed: yes · callback: 617``: a call's results in one readable line."""
    if not results:
        return ""
    line = " · ".join(f"{name}: {_text(value)}" for name, value in results.items())
    if limit is not None and len(line) > limit:
        return line[: limit - 1].rstrip() + "…"
    return line


def value_text(value: Any) -> str:
    """A result or parameter value: text as it is, anything else as compact JSON."""
    return _text(value)


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One step of an attempt's flow as the call page lists it."""

    step: str
    type: str
    start_s: float | None  # seconds from answer
    end_s: float | None  # None: the step had not finished when the call ended
    outcome: str
    bar_x: int  # where its bar starts, of TIMELINE_WIDTH
    bar_width: int

    @property
    def took_s(self) -> float | None:
        if self.start_s is None or self.end_s is None:
            return None
        return self.end_s - self.start_s


def _ms(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def trace_rows(trace: Sequence[Mapping[str, Any]] | None) -> list[TraceRow]:
    """An attempt's trace (``{step, type, start_ms, end_ms, outcome}``), with each step's bar
    placed on a common time axis from answer to the end of the last step."""
    if not trace:
        return []
    ends = [_ms(e.get("end_ms")) or _ms(e.get("start_ms")) or 0 for e in trace]
    span = max(max(ends), 1)
    rows = []
    for entry in trace:
        start, end = _ms(entry.get("start_ms")), _ms(entry.get("end_ms"))
        first = start or 0
        last = span if end is None else end
        x = round(first / span * TIMELINE_WIDTH)
        width = max(round((last - first) / span * TIMELINE_WIDTH), MIN_BAR)
        rows.append(
            TraceRow(
                step=str(entry.get("step", "")),
                type=str(entry.get("type", "")),
                start_s=None if start is None else start / 1000,
                end_s=None if end is None else end / 1000,
                outcome=str(entry.get("outcome") or ""),
                bar_x=min(x, TIMELINE_WIDTH - MIN_BAR),
                bar_width=min(width, TIMELINE_WIDTH - min(x, TIMELINE_WIDTH - MIN_BAR)),
            )
        )
    return rows


def span_s(rows: Sequence[TraceRow]) -> float:
    """Seconds from answer to the end of the last step (the timeline's length)."""
    return max((r.end_s or r.start_s or 0.0 for r in rows), default=0.0)
