"""Queuing calls: the one path from request fields to stored calls, for API and UI alike."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from outdial.accounts import Deployment
from outdial.errors import BadRequest, InvalidField
from outdial.ingest.pipeline import Ingestor
from outdial.numbers import parse_destination
from outdial.options import (
    IGNORED_FIELDS,
    QUEUE_FIELDS,
    SCHEDULE_FIELDS,
    Schedule,
    check_known_fields,
    parse_call_parameters,
    parse_message_reference,
    parse_schedule,
)
from outdial.outbound.client import check_resolved
from outdial.outbound.policy import UrlPolicy
from outdial.store.store import BatchReport, CallRow, NewCall, Reject, Store, new_call_id

BULK_FORM_FIELDS = SCHEDULE_FIELDS | IGNORED_FIELDS  # shared options of a bulk request
PREVIEW_ROWS = 20  # accepted rows a preview shows (all rejected rows are shown)


@dataclass(frozen=True, slots=True)
class CsvPreview:
    """What queuing an upload would do: the shared options, counts, sample rows, every reject."""

    schedule: Schedule
    total_rows: int
    accepted: int
    rows: tuple[CallRow, ...]  # the first PREVIEW_ROWS accepted rows
    rejects: tuple[Reject, ...]


class QueueService:
    def __init__(
        self,
        store: Store,
        ingestor: Ingestor,
        region: str,
        on_queued: Callable[[], None] = lambda: None,
        url_policy: UrlPolicy | None = None,
    ) -> None:
        self.store = store
        self.ingestor = ingestor
        self.region = region
        self.on_queued = on_queued  # wakes the dialer
        self.url_policy = url_policy or UrlPolicy()

    def queue_one(self, deployment: Deployment, fields: Mapping[str, Any]) -> str:
        """Validate one call's fields (SPEC §3) and queue it; returns its call_id."""
        check_known_fields(fields, QUEUE_FIELDS)
        phone_number = fields.get("phone_number")
        if phone_number is None or (isinstance(phone_number, str) and not phone_number.strip()):
            raise InvalidField("phone_number", "is required")
        if not isinstance(phone_number, str):
            raise InvalidField("phone_number", f"{json.dumps(phone_number)} is not a string")
        destination = parse_destination(phone_number, region=self.region)
        parameters = parse_call_parameters(fields.get("call_parameters"))
        message_reference = parse_message_reference(fields.get("message_reference"))
        schedule = self._checked(parse_schedule(fields, self.store.clock()))
        call = NewCall(
            new_call_id(),
            destination.e164,
            destination.ani,
            destination.postd,
            message_reference,
            json.dumps(parameters, separators=(",", ":")),
            None,
        )
        self.store.queue_calls(deployment, schedule, [call])
        self.on_queued()
        return call.call_id

    def queue_csv(
        self,
        deployment: Deployment,
        options: Mapping[str, Any],
        csv_file: BinaryIO,
        filename: str | None,
    ) -> BatchReport:
        """Queue the good rows of a CSV upload and record the bad ones, in one transaction."""
        schedule = self._schedule(options)
        stream = self.ingestor.from_csv(csv_file)
        report = self.store.queue_batch(
            deployment, schedule, stream, source="csv", filename=filename
        )
        self.on_queued()
        return report

    def preview_csv(self, options: Mapping[str, Any], csv_file: BinaryIO) -> CsvPreview:
        """Validate an upload exactly as ``queue_csv`` would, storing nothing."""
        schedule = self._schedule(options)
        stream = self.ingestor.from_csv(csv_file)
        shown: list[CallRow] = []
        accepted = 0
        for chunk in stream.chunks():
            accepted += len(chunk)
            shown.extend(chunk[: PREVIEW_ROWS - len(shown)])
        return CsvPreview(
            schedule, stream.total_rows, accepted, tuple(shown), tuple(stream.rejects)
        )

    def queue_items(self, deployment: Deployment, body: Any) -> BatchReport:
        """A JSON list of calls, or ``{"calls": [...], <shared options>}``."""
        if isinstance(body, list):
            items, options = body, {}
        elif isinstance(body, Mapping):
            if "calls" not in body:
                raise InvalidField("calls", "is required: a list of call objects")
            options = {k: v for k, v in body.items() if k != "calls"}
            items = body["calls"]
            if not isinstance(items, list):
                raise InvalidField("calls", "must be a list of call objects")
        else:
            raise BadRequest("body: must be a JSON list of calls or an object with 'calls'")
        schedule = self._schedule(options)
        report = self.store.queue_batch(
            deployment, schedule, self.ingestor.from_items(items), source="json"
        )
        self.on_queued()
        return report

    def _schedule(self, options: Mapping[str, Any]) -> Schedule:
        check_known_fields(options, BULK_FORM_FIELDS)
        return self._checked(parse_schedule(options, self.store.clock()))

    def _checked(self, schedule: Schedule) -> Schedule:
        """A result URL may not point inside, by its host or by what that resolves to now
        (checked again at every send, on the address connected to)."""
        if schedule.result_url is not None:
            check_resolved(self.url_policy, schedule.result_url, "result_url")
        return schedule
