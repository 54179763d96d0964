"""Which URLs outdial may send requests to: only public addresses, unless allowed."""

from __future__ import annotations

import ipaddress

import pytest

from outdial.errors import InvalidField
from outdial.outbound.policy import UrlPolicy, host_address, parse_networks

STRICT = UrlPolicy()
INSIDE = [
    "http://127.0.0.1/hook",
    "http://127.1/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # shared address space (carrier-grade NAT)
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:7f00:1]/",
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "http://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
    "http://[::]/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://0/",
    "http://0.0.0.0:8000/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://printer.local/",
    "http://intranet/",
]


@pytest.mark.parametrize("url", INSIDE)
def test_urls_pointing_inside_are_refused_naming_the_field(url: str) -> None:
    with pytest.raises(InvalidField) as refused:
        STRICT.check(url, "result_url")
    assert refused.value.field == "result_url"
    assert refused.value.message.startswith("result_url: may not point inside: ")


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://2130706433/", "127.0.0.1"),
        ("http://0x7f000001/", "127.0.0.1"),
        ("http://0177.1/", "127.0.0.1"),
        ("http://0/", "0.0.0.0"),
        ("http://[::ffff:169.254.169.254]/", "169.254.169.254"),
    ],
)
def test_hosts_are_read_as_browsers_read_them(url: str, address: str) -> None:
    with pytest.raises(InvalidField, match=rf"{address} is an? "):
        STRICT.check(url, "url")


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/outdial", "http://8.8.8.8:8080/x", "https://[2606:4700::1111]/"],
)
def test_public_urls_pass(url: str) -> None:
    assert STRICT.check(url, "result_url").scheme in ("http", "https")


@pytest.mark.parametrize("url", ["http://user:pw@hooks.example.com/", "https://token@8.8.8.8/"])
def test_credentials_in_the_url_are_refused(url: str) -> None:
    with pytest.raises(InvalidField, match="must not hold a user name or password"):
        STRICT.check(url, "result_url")


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "http://1.2.3.4.5/"])
def test_other_schemes_and_broken_hosts_are_refused(url: str) -> None:
    with pytest.raises(InvalidField):
        STRICT.check(url, "url")


def test_allowed_networks_open_only_themselves() -> None:
    policy = UrlPolicy(parse_networks("127.0.0.0/8, 10.1.0.0/16"))
    assert policy.check("http://127.0.0.1:9/hook", "url").port == 9
    assert policy.check("http://10.1.2.3/", "url").address == ipaddress.ip_address("10.1.2.3")
    assert policy.check("http://localhost:8000/", "url").address is None  # resolved, then checked
    for url in ("http://10.2.0.1/", "http://169.254.169.254/", "http://[::1]/"):
        with pytest.raises(InvalidField):
            policy.check(url, "url")


def test_every_address_a_name_resolves_to_must_be_allowed() -> None:
    addresses = [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.7")]
    expected = r"'hooks\.example\.com' resolves to 10\.0\.0\.7, a private address$"
    with pytest.raises(InvalidField, match=expected):
        STRICT.check_addresses(addresses, "hooks.example.com", "result_url")
    STRICT.check_addresses(addresses[:1], "hooks.example.com", "result_url")


def test_networks_are_parsed_with_a_clear_error() -> None:
    assert parse_networks("127.0.0.0/8,::1") == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert parse_networks("") == ()
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33' is not a network"):
        parse_networks("10.0.0.0/33")


def test_a_name_is_no_address() -> None:
    assert host_address("hooks.example.com") is None
    assert host_address("1e100.net") is None
