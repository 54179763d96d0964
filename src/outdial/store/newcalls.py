"""New calls: the values bulk and single queuing insert, their IDs, and the insert itself."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection

from outdial.calls import CalleeType, CallStatus
from outdial.store.tables import calls

INSERT_CHUNK = 10_000  # rows per executemany; bounds the memory of one statement


class NewCall(NamedTuple):
    """A validated call ready to insert (a tuple: bulk uploads make 100,000 of them)."""

    call_id: str
    phone_number: str
    ani: str | None
    postd: str | None
    message_reference: str | None
    call_parameters_json: str
    batch_row: int | None


# A NewCall as a plain tuple, in NewCall's field order: what validation workers send back,
# because plain tuples cost a fifth as much to pickle as named ones.
CallRow = tuple[str, str, str | None, str | None, str | None, str, int | None]


class Reject(NamedTuple):
    row: int
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class BatchReport:
    batch_id: str
    source: str
    filename: str | None
    total_rows: int
    accepted: int
    rejected: int
    created_at: float
    call_ids: tuple[str, ...] = ()
    rejects: tuple[Reject, ...] = ()


@dataclass(frozen=True, slots=True)
class CallQuery:
    """Filters and paging for listing a deployment's calls."""

    group: str | None = None  # "pending" or "completed"
    statuses: tuple[CallStatus, ...] = ()
    callee_types: tuple[CalleeType, ...] = ()
    phone_number: str | None = None  # digits to search for
    message_reference: str | None = None
    since: float | None = None  # on queued_timestamp
    until: float | None = None
    page: int = 1
    per_page: int = 100
    newest_first: bool = False


class BatchSource(Protocol):
    """A bulk request's rows: valid calls chunk by chunk, then (once exhausted) the rejects."""

    rejects: list[Reject]
    total_rows: int

    def chunks(self) -> Iterator[Sequence[CallRow]]: ...


@dataclass(slots=True)
class ListSource:
    """A BatchSource over rows already in memory."""

    calls: Sequence[CallRow]
    rejects: list[Reject]
    total_rows: int

    def chunks(self) -> Iterator[Sequence[CallRow]]:
        if self.calls:
            yield self.calls


# NewCall's fields, as columns of the calls table
NEW_CALL_COLUMNS = tuple(f.removesuffix("_json") for f in NewCall._fields)


def insert_calls(conn: Connection, shared: dict[str, Any], new_calls: Sequence[CallRow]) -> None:
    """Insert calls with the driver's executemany on plain tuples.

    Building 100,000 parameter dictionaries through SQLAlchemy's insert() costs more than the
    insert itself; the statement is still written here, in the store, and only here.
    """
    names = NEW_CALL_COLUMNS + tuple(shared)
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {calls.name} ({', '.join(names)}) VALUES ({', '.join([marker] * len(names))})"
    )
    tail = tuple(shared.values())
    for start in range(0, len(new_calls), INSERT_CHUNK):
        chunk = new_calls[start : start + INSERT_CHUNK]
        conn.exec_driver_sql(sql, [(*call, *tail) for call in chunk])


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_call_ids(count: int) -> list[str]:
    """``count`` fresh call IDs: UUIDv7 strings (RFC 9562 §5.7), 74 random bits each.

    Time-ordered, so inserting them keeps the unique index's writes at its end; made from one
    ``os.urandom`` call per batch, which costs a quarter of ``str(uuid.uuid4())`` per ID.
    """
    prefix = f"{time.time_ns() // 1_000_000:012x}"
    head = f"{prefix[:8]}-{prefix[8:12]}-7"
    randomness = os.urandom(10 * count).hex()
    ids = []
    for start in range(0, 20 * count, 20):
        r = randomness[start : start + 20]
        ids.append(f"{head}{r[0:3]}-{_VARIANT[r[3]]}{r[4:7]}-{r[7:19]}")
    return ids


def new_call_id() -> str:
    return new_call_ids(1)[0]
