"""Request and response shapes, for the OpenAPI document.

Handlers parse bodies themselves (the same endpoint takes JSON, urlencoded and
multipart, with Plum's field aliases), so these models describe; the checks
live in ``outdial.options`` and ``outdial.numbers``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from outdial.options import MAX_MESSAGE_REFERENCE

TIMESTAMP_DOC = "Unix seconds, or ISO 8601 with an offset (e.g. 2026-12-01T09:00:00-05:00)"


class ScheduleFields(BaseModel):
    start_timestamp: int | str | None = Field(
        None, description=f"When attempts may start. {TIMESTAMP_DOC}. Absent: now."
    )
    end_timestamp: int | str | None = Field(
        None, description=f"When attempts must stop. {TIMESTAMP_DOC}. Absent: never."
    )
    max_attempts: int | None = Field(
        None, ge=1, le=10, description="Total attempts, 1-10 (default 1)."
    )
    reattempt_wait: int | None = Field(
        None,
        ge=60,
        le=86400,
        description="Seconds between attempts; required when max_attempts > 1.",
    )
    result_url: str | None = Field(
        None,
        max_length=2048,
        description="http(s) URL that receives call_details by POST once the call is final.",
    )
    max_retries: int | None = Field(
        None, ge=0, le=10, description="Older alias: attempts = max_retries + 1."
    )
    retry_interval: int | None = Field(
        None, ge=60, le=172800, description="Older alias of reattempt_wait."
    )
    scheduled_timestamp: int | str | None = Field(
        None, description="Older alias of start_timestamp; 0 = now."
    )
    expiration_timestamp: int | str | None = Field(
        None, description="Older alias of end_timestamp; 0 = never."
    )


class CallFields(BaseModel):
    phone_number: str = Field(
        ...,
        max_length=256,
        description=(
            "6175551234, 16175551234, +16175551234 or tel:+16175551234, "
            "with optional ;ani=CALLERID and ;postd=DTMF in any order."
        ),
        examples=["tel:+16175551234;ani=8009957586;postd=2"],
    )
    call_parameters: dict[str, str | int | float | bool | None] | str | None = Field(
        None, description="JSON object (or its text in a form); each key becomes a flow variable."
    )
    message_reference: str | None = Field(
        None, max_length=MAX_MESSAGE_REFERENCE, description="Your own correlation key, echoed back."
    )


class QueueRequest(CallFields, ScheduleFields):
    """One call to queue."""


class BulkJsonRequest(ScheduleFields):
    calls: list[CallFields] = Field(..., description="The calls to queue.")


class BulkCsvRequest(ScheduleFields):
    csv: bytes = Field(
        ...,
        description=(
            "CSV file: a header row starting with 'destination'; "
            "other columns become call_parameters."
        ),
    )


class QueueResponse(BaseModel):
    call_id: str


class RowError(BaseModel):
    row: int
    value: str
    reason: str


class BulkResponse(BaseModel):
    batch_id: str
    total_rows: int
    accepted: int
    rejected: int
    call_ids: list[str]
    errors: list[RowError]


class Event(BaseModel):
    event: str
    timestamp: int


class DetectedVerdict(BaseModel):
    """One verdict of detection: the first, or a revision (another callee type)."""

    callee_type: str
    cause: str
    decided_ms: int
    timestamp: int | None


class Detection(BaseModel):
    cause: str
    decided_ms: int | None
    beep_end_ms: int | None
    first: DetectedVerdict | None
    revisions: list[DetectedVerdict]


class AttemptDetails(BaseModel):
    attempt: int
    start_timestamp: int
    answer_timestamp: int | None
    end_timestamp: int | None
    sip_code: int | None
    cause: str | None
    callee_type: str | None
    duration: int | None
    detection: Detection | None


class CallDetails(BaseModel):
    call_id: str
    phone_number: str
    status: str
    callee_type: str | None
    attempts: int
    max_attempts: int
    queued_timestamp: int
    start_timestamp: int
    end_timestamp: int | None
    reattempt_wait: int | None
    last_attempt_timestamp: int | None
    duration: int | None
    message_reference: str | None
    call_parameters: dict[str, Any]
    results: dict[str, Any]
    events: list[Event] | None = None
    attempt_details: list[AttemptDetails] | None = None


class CallStatusResponse(BaseModel):
    call_details: CallDetails


class CallList(BaseModel):
    calls: list[CallDetails]
    page: int
    per_page: int
    total: int


class ErrorResponse(BaseModel):
    error: str


def body_schema(model: type[BaseModel], media_types: tuple[str, ...]) -> dict[str, Any]:
    """An ``openapi_extra`` request body for ``model`` in several media types."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    schema = inline(schema)
    return {
        "requestBody": {
            "required": True,
            "content": {media: {"schema": schema} for media in media_types},
        }
    }


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        400: "bad or missing data; the message names the field or row",
        401: "bad credentials",
        404: "no such application, deployment, call or batch in this account (another "
        "account's objects are not found either)",
        409: "deleted, or in a state that does not allow this",
        413: "upload too large",
        415: "wrong media type",
        429: "too many requests; see Retry-After",
    }.items()
}
