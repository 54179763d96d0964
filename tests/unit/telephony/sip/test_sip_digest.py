from __future__ import annotations

import pytest

from outdial.telephony.sip.digest import Challenge, UnsupportedChallenge, authorization
from outdial.telephony.sip.errors import SipParseError


def _response(header: str) -> str:
    return header.split('response="')[1].split('"')[0]


def test_rfc2617_md5_example() -> None:
    # RFC 2617 §3.5
    challenge = Challenge.parse(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    header = authorization(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        cnonce="0a4f113b",
    )
    assert _response(header) == "6629fae49393a05397450978507c4ef1"
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header
    assert "qop=auth, nc=00000001" in header


def test_rfc7616_sha256_example() -> None:
    # RFC 7616 §3.9.1
    challenge = Challenge.parse(
        'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )
    header = authorization(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle of Life",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert _response(header) == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    assert "algorithm=SHA-256" in header


def test_no_qop_challenge() -> None:
    challenge = Challenge.parse('Digest realm="r", nonce="n"')
    header = authorization(
        challenge, method="INVITE", uri="sip:a@b", username="u", password="p", cnonce="c"
    )
    assert "qop" not in header and "nc=" not in header


def test_unsupported_challenges() -> None:
    with pytest.raises(UnsupportedChallenge):
        authorization(
            Challenge.parse('Digest realm="r", nonce="n", algorithm=SHA-512-256'),
            method="INVITE",
            uri="sip:a@b",
            username="u",
            password="p",
            cnonce="c",
        )
    with pytest.raises(UnsupportedChallenge):
        authorization(
            Challenge.parse('Digest realm="r", nonce="n", qop="auth-int"'),
            method="INVITE",
            uri="sip:a@b",
            username="u",
            password="p",
            cnonce="c",
        )
    with pytest.raises(SipParseError) as info:
        Challenge.parse('Basic realm="r"')
    assert str(info.value) == "not a Digest challenge: 'Basic realm=\"r\"'"
