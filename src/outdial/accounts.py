"""Tenants and what they own: accounts, applications, deployments (SPEC §1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from outdial.calls import CalleeType

DEFAULT_MAX_LINES = 10  # calls a deployment holds at once
DEFAULT_CPS = 5.0  # calls a deployment starts per second
RING_TIMEOUT = 30.0  # seconds a call may ring before it counts as noanswer (SPEC §6)
MIN_RING_TIMEOUT = 15.0  # seconds; shorter ring timeouts hang up on people reaching the phone


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    email: str
    webhook_secret: str


@dataclass(frozen=True, slots=True)
class Application:
    id: int
    account_id: int
    name: str
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Deployment:
    id: int
    application_id: int
    account_id: int
    name: str
    max_lines: int
    cps: float
    caller_id: str | None
    retry_on: frozenset[CalleeType]
    application_name: str = ""
    trunk_id: int | None = None  # None: not bound to a trunk, so its calls are not dialed
    ring_timeout: float = RING_TIMEOUT  # seconds
    calling_hours: str | None = None  # "08:00-21:00" in the callee's local time
    detection: bool = True  # callee-type detection on answered calls (SPEC §7)
    # Detection thresholds that differ from the defaults (names of DetectionParams fields).
    detection_params: Mapping[str, Any] = field(default_factory=dict)
    flow_url: str | None = None  # the user's web service that returns the flow for each call
