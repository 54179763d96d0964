"""JSON by default, XML on ``Accept: application/xml`` (Plum's two formats)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree as ET

from starlette.requests import Request
from starlette.responses import Response

XML_MEDIA_TYPES = ("application/xml", "text/xml")
# Characters XML 1.0 cannot carry (§2.2): control characters but tab, LF and CR; surrogates;
# U+FFFE and U+FFFF. They are shown as U+FFFD so the document stays well-formed.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def wants_xml(request: Request) -> bool:
    """True when the client asks for XML before (or instead of) JSON."""
    accept = request.headers.get("accept", "").lower()
    xml_at = min((accept.find(t) for t in XML_MEDIA_TYPES if t in accept), default=-1)
    if xml_at < 0:
        return False
    json_at = accept.find("application/json")
    return json_at < 0 or xml_at < json_at


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and len(name) > 1:
        return name[:-1]
    return "item"


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            child = ET.SubElement(element, _tag(str(key)))
            _fill(child, item)
    elif isinstance(value, list | tuple):
        for item in value:
            _fill(ET.SubElement(element, _singular(element.tag)), item)
    elif value is None:
        pass
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = _XML_INVALID.sub("\ufffd", str(value))


def _tag(name: str) -> str:
    """A valid XML element name for a JSON key (call parameter names are already safe)."""
    cleaned = "".join(c if c.isalnum() or c in "_-." else "_" for c in name)
    if not cleaned or not (cleaned[0].isalpha() or cleaned[0] == "_"):
        cleaned = "_" + cleaned
    return cleaned


def to_xml(content: Mapping[str, Any], root: str = "result") -> bytes:
    element = ET.Element(root)
    _fill(element, content)
    body: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return body


def render(
    request: Request,
    content: Mapping[str, Any],
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    if wants_xml(request):
        return Response(to_xml(content), status_code, headers, media_type="application/xml")
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code, headers, media_type="application/json")
