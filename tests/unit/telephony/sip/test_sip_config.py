from __future__ import annotations

import pytest

from outdial.calls import CalleeType
from outdial.errors import InvalidField
from outdial.telephony.sip.config import load_sip_config, parse_sip_config
from outdial.telephony.sip.outcome import callee_type_for


def test_config_round_trips_through_json() -> None:
    config = parse_sip_config(
        {"uri": "sip:trunk.example.com:5080", "username": "u", "password": "p",
         "rtp_ports": [30000, 30100], "local_port": 5062}
    )  # fmt: skip
    assert config.uri.host_port == ("trunk.example.com", 5080)
    assert load_sip_config(config.to_json()) == config


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "uri: is required (sip:HOST[:PORT])"),
        ({"uri": "tel:+1"}, "uri: not a sip: or sips: URI: 'tel:+1'"),
        ({"uri": "sips:a"}, "uri: sips: (TLS) is not supported; use sip:"),
        (
            {"uri": "sip:a", "transport": "tls"},
            "transport: 'tls' is not supported (supported: udp, tcp)",
        ),
        (
            {"uri": "sip:a", "username": "u"},
            "password: give both username and password, or neither",
        ),
        (
            {"uri": "sip:a", "rtp_ports": [1000, 1001]},
            "rtp_ports: [1000, 1001] holds no even port pair",
        ),
        ({"uri": "sip:a", "local_port": 70000}, "local_port: 70000 is not a port number (0-65535)"),
        (
            {"uri": "sip:a", "colour": "red"},
            "sip_config: unknown key 'colour' (allowed: uri, transport, "
            "username, password, from_domain, local_host, local_port, rtp_ports)",
        ),
        ([], "sip_config: must be a JSON object with 'uri'"),
    ],
)
def test_bad_configs(data: object, error: str) -> None:
    with pytest.raises(InvalidField) as info:
        parse_sip_config(data)
    assert str(info.value) == error


@pytest.mark.parametrize(
    ("status", "callee_type"),
    [
        (486, CalleeType.BUSY), (600, CalleeType.BUSY), (603, CalleeType.BUSY),
        (408, CalleeType.NOANSWER), (480, CalleeType.NOANSWER), (487, CalleeType.NOANSWER),
        (404, CalleeType.INFORMATIONTONE), (410, CalleeType.INFORMATIONTONE),
        (484, CalleeType.INFORMATIONTONE), (604, CalleeType.INFORMATIONTONE),
        (403, CalleeType.LINEFAILURE), (500, CalleeType.LINEFAILURE),
        (503, CalleeType.LINEFAILURE), (488, CalleeType.LINEFAILURE), (302, CalleeType.LINEFAILURE),
    ],
)  # fmt: skip
def test_sip_results_map_to_callee_types(status: int, callee_type: CalleeType) -> None:
    assert callee_type_for(status) is callee_type
