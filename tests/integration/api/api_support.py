"""What the API tests share: the tenant and clock types, and what every error must look like."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

import httpx

from outdial.accounts import Account

with warnings.catch_warnings():
    # Starlette warns that its test client wants httpx2; the venv has httpx, which works.
    warnings.filterwarnings("ignore", message=r".*httpx2", category=UserWarning)
    from fastapi.testclient import TestClient

__all__ = ["Clock", "Tenant", "TestClient", "assert_same_content", "error_of", "xml_of"]

# The single-call rate limit (SPEC §4) would get in the way of tests that queue a few dozen
# calls; tests of the limit itself build their app with the limit they need.
GENEROUS_RATE = 10_000.0  # requests per second
GENEROUS_BURST = 10_000  # requests at once


class Clock:
    """The store's clock: real time by default, moved by hand where a test needs it."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@dataclass(frozen=True)
class Tenant:
    """An account with one application and one deployment, as a Plum user would hold them."""

    email: str
    key: str
    app_id: int
    dep_id: int
    account: Account

    @property
    def auth(self) -> tuple[str, str]:
        return (self.email, self.key)

    @property
    def base(self) -> str:
        """The deployment's API prefix: /api/apps/{app}/{dep}."""
        return f"/api/apps/{self.app_id}/{self.dep_id}"


def error_of(response: httpx.Response, status: int, *mentions: str) -> str:
    """Assert ``response`` is ``status`` with exactly ``{"error": "..."}`` mentioning each word.

    Returns the message, for further checks.
    """
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    message = body["error"]
    assert isinstance(message, str) and message.strip(), body
    for word in mentions:
        assert word in message, (word, message)
    return message


def xml_of(response: httpx.Response) -> ET.Element:
    """The ``<result>`` root of an XML response."""
    assert response.headers["content-type"].startswith("application/xml"), response.headers
    root = ET.fromstring(response.content)
    assert root.tag == "result"
    return root


def assert_same_content(element: ET.Element, value: Any, path: str = "result") -> None:
    """Assert that ``element`` carries ``value`` (the JSON answer to the same request).

    Objects are child elements named after their keys, in order; lists are one child per
    item; null is an empty element; booleans are ``true``/``false``.
    """
    children = list(element)
    if isinstance(value, dict):
        assert [child.tag for child in children] == list(value), (path, value)
        for child, (key, item) in zip(children, value.items(), strict=True):
            assert_same_content(child, item, f"{path}.{key}")
    elif isinstance(value, list):
        assert len(children) == len(value), (path, len(children), len(value))
        assert len({child.tag for child in children}) <= 1, path
        for index, (child, item) in enumerate(zip(children, value, strict=True)):
            assert_same_content(child, item, f"{path}[{index}]")
    else:
        assert not children, path
        if value is None:
            expected = None
        elif isinstance(value, bool):
            expected = "true" if value else "false"
        else:
            expected = str(value) or None  # <a></a> parses as text None
        assert element.text == expected, (path, element.text, expected)
