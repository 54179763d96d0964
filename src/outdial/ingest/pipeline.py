"""From an uploaded CSV or a JSON list to validated calls and per-row rejections.

Reading the CSV is cheap; checking every number against libphonenumber's rules
is not (about 20 µs a number). Large uploads are therefore cut into chunks that
a process pool validates on every core while the reader goes on. Every number
is still checked in full: speed comes from parallelism, never from checking less.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, BinaryIO

from outdial.errors import BadRequest, InvalidField, OutdialError, PayloadTooLarge
from outdial.ingest.csvreader import CsvRow, CsvRowError, read_csv
from outdial.numbers import parse_destination
from outdial.options import (
    CALL_FIELDS,
    check_known_fields,
    check_parameter_name,
    parse_call_parameters,
    parse_message_reference,
)
from outdial.store.store import NewCall, Reject

CHUNK_ROWS = 5_000  # rows per validation task
PARALLEL_THRESHOLD = 2_000  # below this many rows, validate in-process
MAX_PENDING_CHUNKS = 8  # chunks in flight per upload, bounding memory

# (row, destination, message_reference, call_parameters) as read, before validation
RawRow = tuple[int, str, str | None, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class IngestResult:
    calls: list[NewCall]
    rejects: list[Reject]
    total_rows: int


def validate_rows(rows: list[RawRow], region: str) -> tuple[list[NewCall], list[Reject]]:
    """Validate rows; runs in a worker process for large uploads, so it takes plain data."""
    good: list[NewCall] = []
    bad: list[Reject] = []
    for row, destination, message_reference, parameters in rows:
        try:
            parsed = parse_destination(destination, region=region, field="destination")
        except InvalidField as error:
            bad.append(Reject(row, destination[:200], error.reason))
            continue
        good.append(
            NewCall(
                str(uuid.uuid4()),
                parsed.e164,
                parsed.ani,
                parsed.postd,
                message_reference,
                json.dumps(parameters, separators=(",", ":")),
                row,
            )
        )
    return good, bad


def warm_up() -> None:
    """Load libphonenumber's metadata in a worker before the first upload needs it."""
    parse_destination("+16175550100")


class Ingestor:
    """Validates uploads, in ``executor`` (a process pool) when they are large."""

    def __init__(self, region: str, executor: Executor | None, max_rows: int) -> None:
        self.region = region
        self.executor = executor
        self.max_rows = max_rows

    def from_csv(self, stream: BinaryIO) -> IngestResult:
        rejects: list[Reject] = []

        def raw_rows() -> Iterator[RawRow]:
            for item in read_csv(stream):
                if isinstance(item, CsvRowError):
                    rejects.append(Reject(item.row, item.value, item.reason))
                    continue
                assert isinstance(item, CsvRow)
                try:
                    for key in item.call_parameters:
                        check_parameter_name(key, "csv header")
                except InvalidField as error:
                    raise BadRequest(f"csv: column {error.reason}") from None
                yield (item.row, item.destination, item.message_reference, item.call_parameters)

        return self._validate(raw_rows(), rejects, what="csv")

    def from_items(self, items: list[Any]) -> IngestResult:
        """A JSON list of call objects (phone_number, message_reference, call_parameters)."""
        rejects: list[Reject] = []

        def raw_rows() -> Iterator[RawRow]:
            for index, item in enumerate(items, start=1):
                try:
                    yield _raw_item(index, item)
                except OutdialError as error:
                    value = item.get("phone_number") if isinstance(item, Mapping) else item
                    shown = value if isinstance(value, str) else json.dumps(value)[:200]
                    rejects.append(Reject(index, shown[:200], error.message))

        return self._validate(raw_rows(), rejects, what="calls")

    def _validate(
        self, rows: Iterable[RawRow], read_rejects: list[Reject], what: str
    ) -> IngestResult:
        """Validate ``rows``; ``read_rejects`` fills up with the rows the reader refused."""
        good: list[NewCall] = []
        rejects: list[Reject] = []
        total = 0
        pending: list[Future[tuple[list[NewCall], list[Reject]]]] = []
        chunk: list[RawRow] = []
        inline: list[RawRow] = []  # rows held back until we know the upload is large

        def collect(result: tuple[list[NewCall], list[Reject]]) -> None:
            good.extend(result[0])
            rejects.extend(result[1])

        def submit(rows_: list[RawRow]) -> None:
            if self.executor is None:
                collect(validate_rows(rows_, self.region))
                return
            pending.append(self.executor.submit(validate_rows, rows_, self.region))
            while len(pending) >= MAX_PENDING_CHUNKS:
                collect(pending.pop(0).result())

        for raw in rows:
            total += 1
            if total + len(read_rejects) > self.max_rows:
                raise PayloadTooLarge(
                    f"{what}: more than {self.max_rows} rows in one request; split the file"
                )
            if total <= PARALLEL_THRESHOLD:
                inline.append(raw)
                continue
            if inline:
                chunk.extend(inline)
                inline = []
            chunk.append(raw)
            if len(chunk) >= CHUNK_ROWS:
                submit(chunk)
                chunk = []
        if inline:
            collect(validate_rows(inline, self.region))
        if chunk:
            submit(chunk)
        for future in pending:
            collect(future.result())

        total += len(read_rejects)  # rows the reader refused count too
        rejects.extend(read_rejects)
        good, duplicates = _drop_duplicates(good)
        rejects.extend(duplicates)
        if not good and not rejects:
            raise BadRequest(f"{what}: no rows")
        rejects.sort(key=lambda r: r.row)
        return IngestResult(good, rejects, total)


def _raw_item(index: int, item: Any) -> RawRow:
    if not isinstance(item, Mapping):
        raise BadRequest(f"calls[{index}]: must be an object with phone_number")
    check_known_fields(item, CALL_FIELDS)
    destination = item.get("phone_number")
    if not isinstance(destination, str) or not destination.strip():
        raise InvalidField("phone_number", "is required")
    return (
        index,
        destination,
        parse_message_reference(item.get("message_reference")),
        parse_call_parameters(item.get("call_parameters")),
    )


def _drop_duplicates(calls: list[NewCall]) -> tuple[list[NewCall], list[Reject]]:
    """Keep the first row of each number; report the others (calling twice is rarely wanted)."""
    calls.sort(key=lambda c: c.batch_row or 0)
    first_row: dict[str, int] = {}
    kept: list[NewCall] = []
    duplicates: list[Reject] = []
    for call in calls:
        row = call.batch_row or 0
        seen = first_row.setdefault(call.phone_number, row)
        if seen != row:
            duplicates.append(Reject(row, call.phone_number, f"duplicate of row {seen}"))
        else:
            kept.append(call)
    return kept, duplicates
