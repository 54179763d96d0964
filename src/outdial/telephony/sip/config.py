"""A SIP trunk's settings, kept as JSON in the trunk's ``config`` column::

    {"uri": "sip:trunk.example.com:5060", "transport": "udp",
     "username": "acme", "password": "s3cret", "from_domain": "acme.example.com",
     "local_host": "10.0.0.5", "local_port": 5062, "rtp_ports": [20000, 30000]}

Only ``uri`` is required. The password is stored as given: digest authentication needs it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from outdial.errors import InvalidField
from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.uri import SipUri

DEFAULT_RTP_PORTS = (20000, 30000)  # [low, high) UDP ports for RTP
TRANSPORTS = ("udp", "tcp")
KEYS = ("uri", "transport", "username", "password", "from_domain", "local_host", "local_port")
ALL_KEYS = (*KEYS, "rtp_ports")


@dataclass(frozen=True, slots=True)
class SipTrunkConfig:
    uri: SipUri
    transport: str = "udp"
    username: str | None = None
    password: str | None = None
    from_domain: str | None = None
    local_host: str | None = None  # None: the address the OS would use to reach the trunk
    local_port: int = 0  # 0: any free port
    rtp_ports: tuple[int, int] = DEFAULT_RTP_PORTS

    def to_json(self) -> str:
        data: dict[str, Any] = {"uri": self.uri.serialize(), "transport": self.transport}
        for key in ("username", "password", "from_domain", "local_host"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.local_port:
            data["local_port"] = self.local_port
        if self.rtp_ports != DEFAULT_RTP_PORTS:
            data["rtp_ports"] = list(self.rtp_ports)
        return json.dumps(data)


def _port(name: str, value: Any, *, zero: bool = False) -> int:
    low = 0 if zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 65535:
        raise InvalidField(name, f"{value!r} is not a port number ({low}-65535)")
    return value


def parse_sip_config(data: Any) -> SipTrunkConfig:
    """Validate a SIP trunk's settings (parsed JSON); errors name the setting."""
    if not isinstance(data, dict):
        raise InvalidField("sip_config", "must be a JSON object with 'uri'")
    unknown = sorted(set(data) - set(ALL_KEYS))
    if unknown:
        raise InvalidField(
            "sip_config", f"unknown key {unknown[0]!r} (allowed: {', '.join(ALL_KEYS)})"
        )
    for key in ("uri", "transport", "username", "password", "from_domain", "local_host"):
        if key in data and not isinstance(data[key], str):
            raise InvalidField(key, "must be a string")
    if "uri" not in data:
        raise InvalidField("uri", "is required (sip:HOST[:PORT])")
    try:
        uri = SipUri.parse(data["uri"])
    except SipParseError as error:
        raise InvalidField("uri", str(error)) from None
    if uri.scheme != "sip":
        raise InvalidField("uri", "sips: (TLS) is not supported; use sip:")
    transport = data.get("transport", "udp").lower()
    if transport not in TRANSPORTS:
        raise InvalidField("transport", f"{transport!r} is not supported (supported: udp, tcp)")
    username, password = data.get("username"), data.get("password")
    if (username is None) != (password is None):
        raise InvalidField("password", "give both username and password, or neither")
    rtp = data.get("rtp_ports", list(DEFAULT_RTP_PORTS))
    if not isinstance(rtp, list) or len(rtp) != 2:
        raise InvalidField("rtp_ports", "must be [low, high]")
    low, high = _port("rtp_ports", rtp[0]), _port("rtp_ports", rtp[1])
    if high - low < 2:
        raise InvalidField("rtp_ports", f"[{low}, {high}] holds no even port pair")
    return SipTrunkConfig(
        uri=uri,
        transport=transport,
        username=username,
        password=password,
        from_domain=data.get("from_domain"),
        local_host=data.get("local_host"),
        local_port=_port("local_port", data.get("local_port", 0), zero=True),
        rtp_ports=(low, high),
    )


def load_sip_config(text: str) -> SipTrunkConfig:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise InvalidField("sip_config", f"is not valid JSON ({error})") from None
    return parse_sip_config(data)
