"""Digest retry: the credentials a call's INVITE carries, learned from 401/407 challenges.

A 401 (``WWW-Authenticate``) or 407 (``Proxy-Authenticate``) to our INVITE is answered by
sending the INVITE again with ``Authorization`` or ``Proxy-Authorization`` (RFC 3261 §22.2,
§22.3). Each realm keeps its latest credentials, so behind an authenticating proxy the far end's
challenge adds a second header rather than replacing the first.
"""

from __future__ import annotations

import logging
import secrets

from outdial.telephony.sip.digest import Challenge, UnsupportedChallenge, authorization
from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.message import Response

log = logging.getLogger(__name__)

MAX_AUTH_ATTEMPTS = 2  # challenges answered per call (one for a proxy, one for the far end)


class Credentials:
    """One call's answers to digest challenges, as headers for its next INVITE."""

    def __init__(self, username: str | None, password: str | None, call_id: str) -> None:
        self._username = username
        self._password = password
        self._call_id = call_id  # for the log
        self._by_realm: dict[str, tuple[str, str]] = {}  # realm -> (header name, value)
        self._answered = 0

    @property
    def headers(self) -> list[tuple[str, str]]:
        """``Authorization`` / ``Proxy-Authorization`` lines for the next INVITE."""
        return list(self._by_realm.values())

    def answer(self, challenge: Response, uri: str) -> bool:
        """Learn credentials for the 401/407 ``challenge`` to an INVITE of ``uri``: True when
        the INVITE should go again; False when we cannot answer (no username or password, no
        digest we support) or already answered as many challenges as a call may."""
        if self._username is None or self._password is None:
            return False
        if self._answered >= MAX_AUTH_ATTEMPTS:
            return False
        proxy = challenge.status == 407
        header = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        for value in challenge.headers.get_all(header):
            try:
                parsed = Challenge.parse(value)
                credentials = authorization(
                    parsed,
                    method="INVITE",
                    uri=uri,
                    username=self._username,
                    password=self._password,
                    cnonce=secrets.token_hex(8),
                )
            except (SipParseError, UnsupportedChallenge) as error:
                log.info("call %s: cannot answer challenge: %s", self._call_id, error)
                continue
            name = "Proxy-Authorization" if proxy else "Authorization"
            self._by_realm[parsed.realm] = (name, credentials)
            self._answered += 1
            return True
        return False
