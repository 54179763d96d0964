"""Phone number parsing: ``tel:`` URIs, ``;ani=`` and ``;postd=`` suffixes, and E.164.

A destination is written the way Plum Fuse accepts it (SPEC §3)::

    6175551234
    16175551234
    +1 (617) 555-1234
    tel:+16175551234;ani=8009957586;postd=2

The number itself is validated with libphonenumber and normalised to E.164. The suffixes are
checked strictly, because they end up in SIP headers (``ani``) and RTP events (``postd``):
nothing but digits may pass.

Everything here is pure: no I/O and no cache, so the same input always gives the same answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from outdial.errors import InvalidField

__all__ = [
    "DEFAULT_REGION",
    "MAX_VALUE_LENGTH",
    "Destination",
    "normalize_number",
    "parse_destination",
]

DEFAULT_REGION = "US"
MAX_VALUE_LENGTH = 256  # characters; longer values are rejected before any parsing
MAX_POSTD_LENGTH = 32  # DTMF characters
SHOWN_VALUE_LENGTH = 64  # characters of a value quoted in an error message

ALLOWED_PARAMETERS = ("ani", "postd")
DTMF_CHARACTERS = frozenset("0123456789*#ABCD")
_POSTD_INPUT = DTMF_CHARACTERS | frozenset("abcd")  # lower-case A-D accepted, stored upper

_TEL_PREFIX = "tel:"  # URI schemes are case-insensitive (RFC 3986 §3.1)
_PLUS_SIGNS = "+\uff0b"  # '+' and the full-width plus libphonenumber also accepts
# The punctuation libphonenumber accepts between digits (its _VALID_PUNCTUATION), less 'x'
# and the tildes: it reads 'x' and '~' as extension markers, and a tilde in a dial string
# means "wait for dial tone". Letters are refused too: libphonenumber would read
# "call 6175551234 now" as the vanity number 6175551234669.
_SEPARATORS = (
    "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff0d\uff0e\uff0f"
    " \u00a0\u00ad\u200b\u2060\u3000()\uff08\uff09\uff3b\uff3d.[]/"
)
_SEPARATOR_CLASS = "".join(re.escape(c) for c in _SEPARATORS)
# Separators, at most one plus sign before the first digit, then digits and separators.
# \d is any Unicode decimal digit: libphonenumber turns them into ASCII digits.
_NUMBER = re.compile(f"[{_SEPARATOR_CLASS}]*[{_PLUS_SIGNS}]?[\\d{_SEPARATOR_CLASS}]*")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_ANI = re.compile(r"\+?[0-9]{2,15}", re.ASCII)
_NANP_NATIONAL = re.compile(r"[2-9][0-9]{9}", re.ASCII)  # a North American number, sans 1


@dataclass(frozen=True, slots=True)
class Destination:
    """A validated destination: the number in E.164 and its optional suffixes."""

    e164: str  # "+16175551234"
    ani: str | None  # caller ID digits as given (optional leading "+"), or None
    postd: str | None  # DTMF digits to send after connect (upper-case), or None


def parse_destination(
    value: str, *, region: str = DEFAULT_REGION, field: str = "phone_number"
) -> Destination:
    """Parse ``[tel:]number[;ani=digits][;postd=dtmf]``, suffixes in any order.

    Numbers without a country code are read in ``region``. Raises ``InvalidField(field, ...)``
    naming the value for anything that is not a valid destination, and ``ValueError`` if
    ``region`` is not a region libphonenumber knows (a configuration error, not bad data).
    """
    text = _prepare(value, field)
    number, semicolon, parameters = text.partition(";")
    if number[: len(_TEL_PREFIX)].lower() == _TEL_PREFIX:
        number = number[len(_TEL_PREFIX) :]
    number = number.strip()
    if not number:
        raise InvalidField(field, f"no phone number in {_show(text)}")
    e164 = _to_e164(number, region, field)
    if not semicolon:
        return Destination(e164, None, None)
    ani, postd = _parse_parameters(text, parameters.split(";"), field)
    return Destination(e164, ani, postd)


def normalize_number(
    value: str, *, region: str = DEFAULT_REGION, field: str = "phone_number"
) -> str:
    """Return the E.164 form of a bare number (no ``tel:``, no parameters).

    Same rules and messages as ``parse_destination``; ``tel:`` and ``;`` are refused here.
    """
    return _to_e164(_prepare(value, field), region, field)


def _prepare(value: str, field: str) -> str:
    """Length, emptiness and control-character checks shared by both entry points."""
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidField(field, f"{_show(value)} is longer than {MAX_VALUE_LENGTH} characters")
    text = value.strip()
    if not text:
        raise InvalidField(field, "is empty")
    control = _CONTROL.search(text)
    if control is not None:
        code = ord(control.group())
        raise InvalidField(field, f"{_show(text)} contains the control character U+{code:04X}")
    return text


def _to_e164(number: str, region: str, field: str) -> str:
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone number region {region!r}")
    if _NUMBER.fullmatch(number) is None:
        unexpected = _first_unexpected(number)
        raise InvalidField(
            field, f"{_show(number)} is not a valid phone number (unexpected {unexpected!r})"
        )
    try:
        parsed = _parse(number, region)
    except phonenumbers.NumberParseException:
        raise InvalidField(field, f"{_show(number)} is not a valid phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidField(field, f"{_show(number)} is not a valid phone number")
    # The same string as format_number(parsed, E164) (a unit test holds them equal), without
    # its formatting machinery: this runs once per row of 100,000-row uploads.
    return "+" + str(parsed.country_code) + phonenumbers.national_significant_number(parsed)


def _parse(number: str, region: str) -> phonenumbers.PhoneNumber:
    """``phonenumbers.parse``, with a shortcut for the plain North American spellings.

    For ``NXXNXXXXXX`` and ``1NXXNXXXXXX`` read in the US, and ``+1NXXNXXXXXX`` anywhere,
    parse's answer is ``PhoneNumber(country_code=1, national_number=...)``: nothing to strip,
    no extension, no leading zero. Building it directly skips two thirds of the per-number
    cost of a 100,000-row upload; the number is still validated by ``is_valid_number`` in
    full, and a property test holds the shortcut equal to ``parse`` on such strings.
    """
    size = len(number)
    if size == 12 and number[:2] == "+1" and _NANP_NATIONAL.fullmatch(number, 2):
        return phonenumbers.PhoneNumber(country_code=1, national_number=int(number[2:]))
    if region == "US":
        if size == 10 and _NANP_NATIONAL.fullmatch(number):
            return phonenumbers.PhoneNumber(country_code=1, national_number=int(number))
        if size == 11 and number[0] == "1" and _NANP_NATIONAL.fullmatch(number, 1):
            return phonenumbers.PhoneNumber(country_code=1, national_number=int(number[1:]))
    return phonenumbers.parse(number, region)


def _first_unexpected(number: str) -> str:
    """The first character that makes ``number`` fail ``_NUMBER`` (only called when it does)."""
    seen_digit = seen_plus = False
    for char in number:
        if char.isdecimal():
            seen_digit = True
        elif char in _PLUS_SIGNS and not seen_digit and not seen_plus:
            seen_plus = True
        elif char not in _SEPARATORS:
            return char
    return number[-1]  # unreachable while this function and _NUMBER agree


def _parse_parameters(text: str, parts: list[str], field: str) -> tuple[str | None, str | None]:
    values: dict[str, str] = {}
    for part in parts:
        raw_name, equals, raw_value = part.partition("=")
        name = raw_name.strip()
        key = name.lower()  # tel URI parameter names are case-insensitive (RFC 3966)
        if not part.strip():
            raise InvalidField(field, f"empty parameter in {_show(text)}")
        if not name:
            raise InvalidField(field, f"parameter without a name in {_show(text)}")
        if key not in ALLOWED_PARAMETERS:
            allowed = ", ".join(ALLOWED_PARAMETERS)
            raise InvalidField(
                field, f"unknown parameter {_show(name)} in {_show(text)} (allowed: {allowed})"
            )
        if not equals:
            raise InvalidField(field, f"parameter {key!r} has no '=' in {_show(text)}")
        if key in values:
            raise InvalidField(field, f"duplicate parameter {key!r} in {_show(text)}")
        parameter_value = raw_value.strip()
        if not parameter_value:
            raise InvalidField(field, f"parameter {key!r} has an empty value in {_show(text)}")
        values[key] = parameter_value
    ani = values.get("ani")
    postd = values.get("postd")
    if ani is not None:
        _check_ani(ani, field)
    if postd is not None:
        postd = _check_postd(postd, field)
    return ani, postd


def _check_ani(ani: str, field: str) -> None:
    # Only ASCII digits, so nothing can be smuggled into the From / P-Asserted-Identity headers.
    if _ANI.fullmatch(ani) is None:
        raise InvalidField(field, f"ani {_show(ani)} must be 2 to 15 digits, optionally after '+'")


def _check_postd(postd: str, field: str) -> str:
    for char in postd:
        if char not in _POSTD_INPUT:
            raise InvalidField(
                field,
                f"postd {_show(postd)} contains {char!r}, which is not a DTMF digit "
                "(0-9, *, #, A-D)",
            )
    if len(postd) > MAX_POSTD_LENGTH:
        raise InvalidField(
            field, f"postd {_show(postd)} is longer than {MAX_POSTD_LENGTH} characters"
        )
    return postd.upper()


def _show(value: str) -> str:
    """Quote a value for an error message: repr-style, escaped, cut to a readable length."""
    if len(value) > SHOWN_VALUE_LENGTH:
        return repr(value[:SHOWN_VALUE_LENGTH] + "...")
    return repr(value)
