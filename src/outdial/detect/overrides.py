"""A deployment's detection parameters: overrides of ``DetectionParams``, validated by name."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from typing import Any

from outdial.detect.params import DetectionParams
from outdial.errors import InvalidField

FIELD = "detection_params"


def params_from(overrides: Mapping[str, Any]) -> DetectionParams:
    """``DetectionParams`` with ``overrides`` applied; a bad name or value names itself."""
    if not isinstance(overrides, Mapping):
        raise InvalidField(FIELD, "must be a JSON object of parameter names and values")
    defaults = DetectionParams()
    known = {field.name for field in dataclasses.fields(DetectionParams)}
    checked: dict[str, Any] = {}
    for name, value in overrides.items():
        if name not in known:
            raise InvalidField(
                FIELD, f"{name!r} is not a detection parameter (see docs/detection.md)"
            )
        default = getattr(defaults, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidField(FIELD, f"{name} must be a number >= 0, not {value!r}")
        if isinstance(default, int) and not float(value).is_integer():
            raise InvalidField(FIELD, f"{name} must be a whole number, not {value!r}")
        checked[name] = type(default)(value)
    if "vad_mode" in checked and checked["vad_mode"] > 3:
        raise InvalidField(FIELD, f"vad_mode must be 0 to 3, not {checked['vad_mode']}")
    return dataclasses.replace(defaults, **checked)


def parse_overrides(text: str) -> dict[str, Any]:
    """Overrides given as JSON text (the CLI's ``--detection-params``), validated."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise InvalidField(FIELD, f"is not JSON: {error}") from None
    params_from(value)
    return dict(value)


@functools.lru_cache(maxsize=256)
def params_for(stored: str | None) -> DetectionParams:
    """The parameters of a deployment from its stored JSON (cached: one parse per text)."""
    return params_from(json.loads(stored)) if stored else DetectionParams()


__all__ = ["params_for", "params_from", "parse_overrides"]
