"""From an uploaded CSV or a JSON list to validated calls and per-row rejections.

Reading the CSV is cheap; checking every number against libphonenumber's rules
is not (about 25 µs a number). Large uploads are therefore cut into chunks that
a process pool validates on every core while the reader goes on; the store then
inserts them all in one short transaction. Every number is still checked in full:
speed comes from parallelism, never from checking less.
"""

from __future__ import annotations

import json
import json.encoder
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor, Future
from typing import Any, BinaryIO

from outdial.errors import BadRequest, InvalidField, OutdialError, PayloadTooLarge
from outdial.ingest.csvreader import CsvRowError, read_csv
from outdial.numbers import parse_destination
from outdial.options import (
    CALL_FIELDS,
    check_known_fields,
    check_parameter_name,
    parse_call_parameters,
    parse_message_reference,
)
from outdial.store.store import CallRow, Reject, new_call_ids

CHUNK_ROWS = 5_000  # rows per validation task (and per insert)
MAX_PENDING_CHUNKS = 6  # chunks in flight per upload, bounding memory

# (row, destination, message_reference, call_parameters) as read, before validation
RawRow = tuple[int, str, str | None, dict[str, Any]]
Validated = tuple[list[CallRow], list[Reject]]
_encode_string: Callable[[str], str] = json.encoder.encode_basestring_ascii


def validate_rows(rows: list[RawRow], region: str) -> Validated:
    """Validate rows; runs in a worker process for large uploads, so it takes plain data."""
    good: list[CallRow] = []
    bad: list[Reject] = []
    call_ids = new_call_ids(len(rows))
    for (row, destination, message_reference, parameters), call_id in zip(
        rows, call_ids, strict=True
    ):
        try:
            parsed = parse_destination(destination, region=region, field="destination")
        except InvalidField as error:
            bad.append(Reject(row, destination[:200], error.reason))
            continue
        good.append(
            (
                call_id,
                parsed.e164,
                parsed.ani,
                parsed.postd,
                message_reference,
                parameters_json(parameters),
                row,
            )
        )
    return good, bad


def parameters_json(parameters: dict[str, Any]) -> str:
    """``json.dumps(parameters, separators=(",", ":"))``, faster for all-string values (CSV)."""
    if all(type(value) is str for value in parameters.values()):
        items = [_encode_string(k) + ":" + _encode_string(v) for k, v in parameters.items()]
        return "{" + ",".join(items) + "}"
    return json.dumps(parameters, separators=(",", ":"))


def warm_up() -> None:
    """Load libphonenumber's metadata in a worker before the first upload needs it."""
    parse_destination("+16175550100")


class IngestStream:
    """An upload's valid calls, chunk by chunk in row order, then its rejected rows.

    Iterate ``chunks()`` to the end (the store does, before its transaction); after that
    ``rejects`` (sorted by row) and ``total_rows`` are complete. A number seen in an earlier
    row is rejected as a duplicate: calling someone twice in one upload is rarely wanted.
    """

    def __init__(
        self,
        rows: Iterable[RawRow],
        read_rejects: list[Reject],
        *,
        region: str,
        executor: Executor | None,
        max_rows: int,
        what: str,
    ) -> None:
        self._rows = rows
        self._read_rejects = read_rejects  # filled by the reader as ``rows`` is consumed
        self._region = region
        self._executor = executor
        self._max_rows = max_rows
        self._what = what
        self.rejects: list[Reject] = []
        self.total_rows = 0

    def chunks(self) -> Iterator[list[CallRow]]:
        first_row: dict[str, int] = {}
        for good, bad in self._validated():
            self.rejects.extend(bad)
            kept: list[CallRow] = []
            for call in good:
                phone_number, row = call[1], call[6] or 0
                seen = first_row.setdefault(phone_number, row)
                if seen == row:
                    kept.append(call)
                else:
                    self.rejects.append(Reject(row, phone_number, f"duplicate of row {seen}"))
            if kept:
                yield kept
        self.rejects.extend(self._read_rejects)
        self.total_rows += len(self._read_rejects)
        if self.total_rows == 0:
            raise BadRequest(f"{self._what}: no rows")
        self.rejects.sort(key=lambda r: r.row)

    def _validated(self) -> Iterator[Validated]:
        """Validation results in row order; chunks run in the pool when there is more than one."""
        pending: deque[Future[Validated]] = deque()
        chunk: list[RawRow] = []
        for raw in self._rows:
            self.total_rows += 1
            if self.total_rows + len(self._read_rejects) > self._max_rows:
                raise PayloadTooLarge(
                    f"{self._what}: more than {self._max_rows} rows in one request; split it"
                )
            chunk.append(raw)
            if len(chunk) < CHUNK_ROWS:
                continue
            if self._executor is None:
                yield validate_rows(chunk, self._region)
            else:
                pending.append(self._executor.submit(validate_rows, chunk, self._region))
                while len(pending) >= MAX_PENDING_CHUNKS or (pending and pending[0].done()):
                    yield pending.popleft().result()
            chunk = []
        while pending:
            yield pending.popleft().result()
        if chunk:  # the tail (or a small upload): not worth a trip to another process
            yield validate_rows(chunk, self._region)


class Ingestor:
    """Turns uploads into IngestStreams, validated in ``executor`` (a process pool) if given."""

    def __init__(self, region: str, executor: Executor | None, max_rows: int) -> None:
        self.region = region
        self.executor = executor
        self.max_rows = max_rows

    def _stream(self, rows: Iterable[RawRow], rejects: list[Reject], what: str) -> IngestStream:
        return IngestStream(
            rows,
            rejects,
            region=self.region,
            executor=self.executor,
            max_rows=self.max_rows,
            what=what,
        )

    def from_csv(self, stream: BinaryIO) -> IngestStream:
        rejects: list[Reject] = []

        def raw_rows() -> Iterator[RawRow]:
            header_checked = False
            for item in read_csv(stream):
                if isinstance(item, CsvRowError):
                    rejects.append(Reject(item.row, item.value, item.reason))
                    continue
                if not header_checked:  # every row has the header's columns
                    for key in item.call_parameters:
                        try:
                            check_parameter_name(key, "csv")
                        except InvalidField as error:
                            raise BadRequest(f"csv: header column {error.reason}") from None
                    header_checked = True
                yield (item.row, item.destination, item.message_reference, item.call_parameters)

        return self._stream(raw_rows(), rejects, "csv")

    def from_items(self, items: list[Any]) -> IngestStream:
        """A JSON list of call objects (phone_number, message_reference, call_parameters)."""
        rejects: list[Reject] = []

        def raw_rows() -> Iterator[RawRow]:
            for index, item in enumerate(items, start=1):
                try:
                    yield _raw_item(index, item)
                except OutdialError as error:
                    value = item.get("phone_number") if isinstance(item, Mapping) else item
                    shown = value if isinstance(value, str) else json.dumps(value)
                    rejects.append(Reject(index, shown[:200], error.message))

        return self._stream(raw_rows(), rejects, "calls")


def _raw_item(index: int, item: Any) -> RawRow:
    if not isinstance(item, Mapping):
        raise BadRequest("must be an object with phone_number")
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
