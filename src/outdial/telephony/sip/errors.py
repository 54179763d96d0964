"""Errors of the SIP stack."""

from __future__ import annotations


class SipParseError(ValueError):
    """The bytes are not a well-formed SIP message."""


class SipTimeout(Exception):
    """No final response came before the transaction timer ran out (RFC 3261 Timer B/F)."""


class SipTransportError(Exception):
    """The network refused to carry a SIP message."""
