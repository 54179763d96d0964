"""Streaming reader for CSV uploads (SPEC §5).

Two layouts are read:

- **With a header** (the normal form): the first column is ``destination``; a column named
  ``message_reference`` (any case) fills that field; every other column becomes a call
  parameter named after its header.
- **Headerless legacy files**: every record is ``phone,message_reference,call_parameter``
  (1 to 3 fields), where ``call_parameter`` is either a JSON object of scalars, which becomes
  the call parameters, or any other text, which becomes ``{"call_parameter": text}``. A file is
  read this way when its first record does not start with ``destination`` but looks like a
  phone number.

``read_csv`` yields one ``CsvRow`` or ``CsvRowError`` per record, in file order, reading the
stream a line at a time. It checks only the shape of each record; destinations are validated
by the caller (``outdial.numbers``). Problems with the file as a whole raise ``BadRequest``,
possibly after rows were already yielded (a file that stops being UTF-8 half-way through).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass

from outdial.errors import BadRequest
from outdial.options import MAX_MESSAGE_REFERENCE

__all__ = [
    "MAX_FIELD_LENGTH",
    "MAX_LINE_LENGTH",
    "CsvRow",
    "CsvRowError",
    "read_csv",
]

MAX_FIELD_LENGTH = 4096  # characters in one field, after stripping
MAX_LINE_LENGTH = 1_048_576  # characters in one physical line: bounds the memory one line takes
MAX_SHOWN_VALUE_LENGTH = 200  # characters of CsvRowError.value

DESTINATION = "destination"
MESSAGE_REFERENCE = "message_reference"
LEGACY_CALL_PARAMETER = "call_parameter"
LEGACY_COLUMNS = "phone,message_reference,call_parameter"

# What a legacy first record's first field looks like: an optional tel:, a number of digits and
# separators, then ;ani= / ;postd= suffixes. Loose on purpose: outdial.numbers validates it.
_LOOKS_LIKE_PHONE = re.compile(
    r"(?:tel:)?[\s+]*[\d\s\-.()/]*\d[\d\s\-.()/]*(?:;\s*(?:ani|postd)\s*=[^;]*)*",
    re.IGNORECASE,
)
_FIELD_LIMIT_ERROR = "field larger than field limit"  # csv.Error's message for huge fields


@dataclass(frozen=True, slots=True)
class CsvRow:
    """A record of the right shape, not yet validated as a destination."""

    row: int  # 1-based line number where the record starts; the header is row 1
    destination: str  # raw first column, stripped
    message_reference: str | None
    call_parameters: dict[str, str]


@dataclass(frozen=True, slots=True)
class CsvRowError:
    """A record that cannot be queued, with what the user needs to find and fix it."""

    row: int
    value: str  # the destination, or the whole record if it has none; at most 200 characters
    reason: str


def read_csv(stream: typing.BinaryIO) -> Iterator[CsvRow | CsvRowError]:
    """Yield each record of a CSV upload as a ``CsvRow`` or a ``CsvRowError``.

    Lazy: nothing is read until the first ``next()``, and header problems raise ``BadRequest``
    there. Blank records (every field empty) are skipped but still count in row numbers.
    ``BadRequest("csv: the file has no rows")`` is raised at the end if not one record was seen.
    The stream is left open.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        yield from _read_records(_Lines(text))
    finally:
        # Without this, the wrapper would close the caller's stream when it is collected.
        with contextlib.suppress(ValueError):  # the caller closed the stream already
            text.detach()


class _Lines:
    """Physical lines of the text, checked for invalid UTF-8 and bounded in length.

    Decoding uses ``surrogateescape`` so that a bad byte surfaces on its own line, which the
    error can then name (a strict decoder fails on a whole 8 KiB chunk at once). ``last`` is
    the line most recently handed to the CSV parser, for error reports.
    """

    def __init__(self, text: io.TextIOWrapper) -> None:
        self._text = text
        self.count = 0
        self.last = ""

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self._text.readline(MAX_LINE_LENGTH + 1)
        if not line:
            raise StopIteration
        self.count += 1
        if len(line) > MAX_LINE_LENGTH:
            raise BadRequest(f"csv: line {self.count} is longer than {MAX_LINE_LENGTH} characters")
        if not line.isascii():
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: an undecodable byte
                raise BadRequest(f"csv: the file is not UTF-8 text (line {self.count})") from None
        self.last = line
        return line


def _read_records(lines: _Lines) -> Iterator[CsvRow | CsvRowError]:
    records = _records(lines)
    seen_rows = False
    for start, fields in records:
        if isinstance(fields, CsvRowError):
            raise BadRequest(f"csv: line {start}: {fields.reason}")
        if _is_blank(fields):
            continue
        first = fields[0].strip()
        if first.lower() == DESTINATION:
            columns = _header_columns(fields)
            for row in _header_rows(records, columns):
                seen_rows = True
                yield row
        elif _LOOKS_LIKE_PHONE.fullmatch(first):
            seen_rows = True
            yield _legacy_row(start, fields)
            for next_start, next_fields in records:
                if not _is_blank(next_fields):
                    yield _legacy_row(next_start, next_fields)
        else:
            raise BadRequest(
                f"csv: the first column of the header must be {DESTINATION!r}, found "
                f"{_truncate(first, 64)!r} (or leave the header out and write "
                f"{LEGACY_COLUMNS} on every line)"
            )
        break
    if not seen_rows:
        raise BadRequest("csv: the file has no rows")


def _records(lines: _Lines) -> Iterator[tuple[int, list[str] | CsvRowError]]:
    """Each record with the line it starts on; a record the parser rejects as a CsvRowError."""
    # skipinitialspace: `1617..., "Smith, J"` keeps its quoted comma; values are stripped anyway.
    # strict: an unclosed quote is an error, not a field that swallows the rest of the file.
    reader = csv.reader(lines, skipinitialspace=True, strict=True)
    end = 0
    while True:
        start = end + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if lines.count != start:
                # The record had already crossed a line break, so the parser was inside a
                # quoted field; resuming at the next line would read the rest of that field
                # as records.
                raise BadRequest(
                    f"csv: line {lines.count}: {_describe(error)} (is a quote not closed?)"
                ) from None
            end = lines.count
            value = _truncate(lines.last.rstrip("\r\n"), MAX_SHOWN_VALUE_LENGTH)
            yield start, CsvRowError(start, _printable(value), _describe(error))
            continue
        end = reader.line_num
        yield start, fields


def _describe(error: csv.Error) -> str:
    message = str(error)
    if message.startswith(_FIELD_LIMIT_ERROR):
        return f"a field is longer than {MAX_FIELD_LENGTH} characters"
    if message == "unexpected end of data":
        return "a quoted field is never closed"
    if message.startswith("',' expected after '\"'"):
        return 'text after a closing quote (write a quote inside a quoted field as "")'
    return f"unreadable CSV: {message}"


def _is_blank(fields: list[str] | CsvRowError) -> bool:
    return not isinstance(fields, CsvRowError) and all(not f.strip() for f in fields)


def _header_columns(fields: list[str]) -> list[str]:
    names = [name.strip() for name in fields]
    seen: dict[str, int] = {}
    for number, name in enumerate(names, start=1):
        if not name:
            raise BadRequest(f"csv: column {number} of the header has no name")
        if "\x00" in name:
            raise BadRequest(f"csv: column {number} of the header contains a NUL character")
        if len(name) > MAX_FIELD_LENGTH:
            raise BadRequest(
                f"csv: column {number} of the header is longer than {MAX_FIELD_LENGTH} characters"
            )
        # destination and message_reference are matched in any case, so they clash in any case.
        key = name.lower() if name.lower() in (DESTINATION, MESSAGE_REFERENCE) else name
        if key in seen:
            raise BadRequest(
                f"csv: duplicate column name {_truncate(name, 64)!r} "
                f"(columns {seen[key]} and {number})"
            )
        seen[key] = number
    return names


def _header_rows(
    records: Iterator[tuple[int, list[str] | CsvRowError]], columns: list[str]
) -> Iterator[CsvRow | CsvRowError]:
    width = len(columns)
    reference_index = next(
        (i for i, name in enumerate(columns) if name.lower() == MESSAGE_REFERENCE), None
    )
    parameter_columns = [
        (i, name) for i, name in enumerate(columns) if i != 0 and i != reference_index
    ]
    for start, fields in records:
        if isinstance(fields, CsvRowError):
            yield fields
            continue
        values = [field.strip() for field in fields]
        if not any(values):  # blank record
            continue
        problem = _field_problem(values, columns)
        if problem is None and len(values) != width:
            problem = f"expected {_count(width, 'field')} as in the header, found {len(values)}"
        if problem is not None:
            yield _error(start, fields, problem)
            continue
        reference = values[reference_index] if reference_index is not None else ""
        yield _row(
            start,
            values[0],
            reference,
            {name: values[i] for i, name in parameter_columns},
            fields,
        )


def _legacy_row(start: int, fields: list[str] | CsvRowError) -> CsvRow | CsvRowError:
    if isinstance(fields, CsvRowError):
        return fields
    values = [field.strip() for field in fields]
    problem = _field_problem(values, None)
    if problem is None and len(values) > 3:
        problem = (
            f"expected 1 to 3 fields ({LEGACY_COLUMNS}), found {len(values)}; "
            "quote the call_parameter if it contains commas"
        )
    if problem is not None:
        return _error(start, fields, problem)
    values += [""] * (3 - len(values))
    return _row(start, values[0], values[1], _legacy_parameters(values[2]), fields)


def _legacy_parameters(value: str) -> dict[str, str]:
    """A JSON object of scalars becomes the parameters; other text is one parameter."""
    if not value:
        return {}
    if value.startswith("{"):
        parsed = _json_scalars(value)
        if parsed is not None:
            return parsed
    return {LEGACY_CALL_PARAMETER: value}


def _json_scalars(value: str) -> dict[str, str] | None:
    try:
        # Numbers keep their spelling ("1.50" stays "1.50"); NaN and Infinity are refused.
        parsed = json.loads(value, parse_int=str, parse_float=str, parse_constant=_refuse)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict):
        return None
    result: dict[str, str] = {}
    for key, item in parsed.items():
        if isinstance(item, bool):
            result[key] = "true" if item else "false"
        elif isinstance(item, str):
            result[key] = item
        else:  # null, list or object
            return None
    return result


def _refuse(constant: str) -> typing.NoReturn:
    raise ValueError(constant)


def _field_problem(values: list[str], columns: list[str] | None) -> str | None:
    """The first per-field problem of a record, or None; columns name fields in messages."""
    for index, value in enumerate(values):
        if "\x00" in value:
            return f"{_field_name(index, columns)} contains a NUL character"
        if len(value) > MAX_FIELD_LENGTH:
            return f"{_field_name(index, columns)} is longer than {MAX_FIELD_LENGTH} characters"
    return None


def _field_name(index: int, columns: list[str] | None) -> str:
    if columns and index < len(columns):
        return f"column {columns[index]!r}"
    return f"field {index + 1}"


def _row(
    start: int, destination: str, reference: str, parameters: dict[str, str], fields: list[str]
) -> CsvRow | CsvRowError:
    if not destination:
        return _error(start, fields, "destination is empty")
    if len(reference) > MAX_MESSAGE_REFERENCE:
        return _error(
            start,
            fields,
            f"message_reference is longer than {MAX_MESSAGE_REFERENCE} characters",
        )
    return CsvRow(start, destination, reference or None, parameters)


def _error(start: int, fields: list[str], reason: str) -> CsvRowError:
    destination = fields[0].strip() if fields else ""
    value = destination or ",".join(fields)
    return CsvRowError(start, _printable(_truncate(value, MAX_SHOWN_VALUE_LENGTH)), reason)


def _printable(value: str) -> str:
    # Reports may be stored in PostgreSQL, whose text type cannot hold NUL.
    return value.replace("\x00", "\ufffd")


def _truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[:limit]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
