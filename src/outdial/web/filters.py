"""The completed-calls table's filters, read from a query string, errors kept per field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from outdial.calls import FINAL_STATUSES, CalleeType, CallStatus
from outdial.errors import InvalidField
from outdial.store.newcalls import CallQuery
from outdial.web import display

PER_PAGE = 25  # rows per page of the completed table
MAX_NUMBER_SEARCH = 32  # characters


@dataclass(slots=True)
class Filters:
    """The completed table's filters, read from the query string; errors kept per field."""

    status: str = ""
    callee_type: str = ""
    number: str = ""
    since: str = ""
    until: str = ""
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, params: Any) -> Filters:
        def text(name: str, limit: int = 64) -> str:
            value = params.get(name) or ""
            return str(value).strip()[:limit]

        found = cls(
            status=text("status"),
            callee_type=text("callee_type"),
            number=text("number", MAX_NUMBER_SEARCH),
            since=text("since"),
            until=text("until"),
        )
        try:
            found.page = max(1, min(int(text("page") or 1), 1_000_000))
        except ValueError:
            found.page = 1
        if found.status and found.status not in {s.value for s in FINAL_STATUSES}:
            found.errors["status"] = "Choose a status from the list."
        if found.callee_type and found.callee_type not in {t.value for t in CalleeType}:
            found.errors["callee_type"] = "Choose a callee type from the list."
        if found.number and not any(c.isdigit() for c in found.number):
            found.errors["number"] = "Type some of the digits of the number."
        return found

    def query(self, zone: str, *, page: int | None = None, per_page: int = PER_PAGE) -> CallQuery:
        since = until = None
        try:
            since = display.from_local_input("since", self.since, zone)
        except InvalidField as error:
            self.errors["since"] = error.reason
        try:
            until = display.from_local_input("until", self.until, zone)
        except InvalidField as error:
            self.errors["until"] = error.reason
        valid = not self.errors
        return CallQuery(
            group="completed",
            statuses=(CallStatus(self.status),) if valid and self.status else (),
            callee_types=(CalleeType(self.callee_type),) if valid and self.callee_type else (),
            phone_number="".join(c for c in self.number if c.isdigit()) or None,
            since=since,
            until=until,
            page=page or self.page,
            per_page=per_page,
            newest_first=True,
        )

    def params(self, **changes: Any) -> str:
        values = {
            "status": self.status,
            "callee_type": self.callee_type,
            "number": self.number,
            "since": self.since,
            "until": self.until,
            "page": self.page,
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})
