"""Completed calls as CSV for a spreadsheet, streamed a line at a time."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from outdial.calls import Call
from outdial.web import display

EXPORT_COLUMNS = (
    "call_id",
    "phone_number",
    "status",
    "callee_type",
    "attempts",
    "max_attempts",
    "queued_at",
    "last_attempt_at",
    "duration_s",
    "message_reference",
    "results",
    "call_parameters",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str | None) -> str:
    """Free text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_rows(calls: Iterator[Call], zone: str) -> Iterator[str]:
    """The CSV of ``calls``, a line at a time; times in ISO 8601 with the operator's offset."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(values: list[Any]) -> str:
        writer.writerow(values)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    def iso(seconds: float | None) -> str:
        if seconds is None:
            return ""
        return display.to_iso_in_zone(seconds, zone)

    yield line(list(EXPORT_COLUMNS))
    for call in calls:
        yield line(
            [
                call.call_id,
                call.phone_number,
                call.status.value,
                call.callee_type.value if call.callee_type else "",
                call.attempts,
                call.max_attempts,
                iso(call.queued_at),
                iso(call.last_attempt_at),
                "" if call.duration is None else round(call.duration),
                _cell(call.message_reference),
                json.dumps(call.results, ensure_ascii=False) if call.results else "",
                json.dumps(call.call_parameters, ensure_ascii=False)
                if call.call_parameters
                else "",
            ]
        )
