from __future__ import annotations

import dataclasses

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from outdial import numbers
from outdial.errors import InvalidField
from outdial.numbers import Destination, normalize_number, parse_destination

E164 = "+16175551234"

NUMBER_TYPES = [
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER,
    PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
]
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


def error_of(value: str, **kwargs: str) -> str:
    with pytest.raises(InvalidField) as caught:
        parse_destination(value, **kwargs)
    return caught.value.message


# --- accepted forms ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "6175551234",
        "16175551234",
        "+16175551234",
        "tel:+16175551234",
        "TEL:+16175551234",
        "Tel:6175551234",
        "617-555-1234",
        "(617) 555 1234",
        "617.555.1234",
        "1 (617) 555-1234",
        "+1 617 555 1234",
        "tel:+1-617-555-1234",
        "(+1) 617 555 1234",
        "  6175551234\t\n",
        "tel: +1 617 555 1234 ",
        "\u0666\u0661\u0667\u0665\u0665\u0665\u0661\u0662\u0663\u0664",  # Arabic-Indic digits
        "\uff16\uff11\uff17\uff15\uff15\uff15\uff11\uff12\uff13\uff14",  # full-width digits
        "\uff0b1 617 555 1234",  # full-width plus
        "617\u2013555\u20131234",  # en dashes
        "617\u00a0555\u00a01234",  # no-break spaces
    ],
)
def test_accepted_spellings_of_one_number(value: str) -> None:
    assert parse_destination(value) == Destination(E164, None, None)


# Every separator libphonenumber accepts between digits, except 'x' and the tildes.
SEPARATORS = (
    "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff0d\uff0e\uff0f"
    " \u00a0\u00ad\u200b\u2060\u3000()\uff08\uff09\uff3b\uff3d.[]/"
)


@pytest.mark.parametrize("separator", SEPARATORS)
def test_every_separator(separator: str) -> None:
    value = f"617{separator}555{separator}{separator}1234"
    assert parse_destination(value) == Destination(E164, None, None)


@pytest.mark.parametrize(
    ("value", "ani", "postd"),
    [
        ("tel:+16175551234;ani=8009957586", "8009957586", None),
        ("tel:+16175551234;postd=2", None, "2"),
        ("tel:+16175551234;ani=8009957586;postd=2", "8009957586", "2"),
        ("tel:+16175551234;postd=2;ani=8009957586", "8009957586", "2"),
        ("6175551234;postd=12#;ani=+18009957586", "+18009957586", "12#"),
        ("6175551234;ani=+18009957586", "+18009957586", None),
        ("617-555-1234;postd=*1#ABCD0", None, "*1#ABCD0"),
        ("6175551234;postd=abcd", None, "ABCD"),
        ("6175551234;ANI=12;PostD=9", "12", "9"),
        ("6175551234 ; ani = 8009957586 ; postd = 2 ", "8009957586", "2"),
        ("6175551234;ani=123456789012345", "123456789012345", None),
        ("6175551234;ani=+123456789012345", "+123456789012345", None),
        ("6175551234;postd=" + "1" * 32, None, "1" * 32),
    ],
)
def test_parameters(value: str, ani: str | None, postd: str | None) -> None:
    assert parse_destination(value) == Destination(E164, ani, postd)


@pytest.mark.parametrize(
    ("value", "e164"),
    [
        ("+44 20 7946 0018", "+442079460018"),
        ("tel:+44-20-7946-0018;postd=1", "+442079460018"),
        ("+33 1 23 45 67 89", "+33123456789"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("+39 06 1234 5678", "+390612345678"),  # Italian leading zero is kept
        ("+39 02 1234 5678", "+390212345678"),
        ("+39 312 345 6789", "+393123456789"),  # Italian mobile: no leading zero
        ("011 44 20 7946 0018", "+442079460018"),  # US international prefix
    ],
)
def test_other_countries(value: str, e164: str) -> None:
    assert parse_destination(value).e164 == e164


def test_region_reads_national_numbers() -> None:
    assert parse_destination("020 7946 0018", region="GB").e164 == "+442079460018"
    assert parse_destination("06 1234 5678", region="IT").e164 == "+390612345678"
    assert parse_destination("01 23 45 67 89", region="FR").e164 == "+33123456789"
    # A number with a country code ignores the region.
    assert parse_destination("+16175551234", region="GB").e164 == E164
    assert error_of("020 7946 0018") == "phone_number: '020 7946 0018' is not a valid phone number"


def test_unknown_region_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="unknown phone number region 'XX'"):
        parse_destination("+16175551234", region="XX")
    with pytest.raises(ValueError, match="unknown phone number region 'us'"):
        normalize_number("6175551234", region="us")


def test_normalize_number() -> None:
    assert normalize_number(" (617) 555-1234 ") == E164
    assert normalize_number("06 1234 5678", region="IT") == "+390612345678"
    with pytest.raises(InvalidField) as caught:
        normalize_number("tel:+16175551234", field="to")
    assert caught.value.message == (
        "to: 'tel:+16175551234' is not a valid phone number (unexpected 't')"
    )
    with pytest.raises(InvalidField) as caught:
        normalize_number("6175551234;postd=1")
    assert caught.value.message == (
        "phone_number: '6175551234;postd=1' is not a valid phone number (unexpected ';')"
    )
    with pytest.raises(InvalidField) as caught:
        normalize_number("  ")
    assert caught.value.message == "phone_number: is empty"


def test_destination_is_frozen() -> None:
    destination = parse_destination(E164)
    with pytest.raises(dataclasses.FrozenInstanceError):
        destination.e164 = "+1"  # type: ignore[misc]


def test_value_of_256_characters_is_parsed() -> None:
    assert parse_destination(" " * 246 + "6175551234").e164 == E164


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("12", "'12' is not a valid phone number"),
        ("+1 617 555", "'+1 617 555' is not a valid phone number"),
        ("+999 1234567", "'+999 1234567' is not a valid phone number"),
        ("5555555555", "'5555555555' is not a valid phone number"),
        ("+", "'+' is not a valid phone number"),
        ("()", "'()' is not a valid phone number"),
        ("tel:12;ani=1234", "'12' is not a valid phone number"),
        ("", "is empty"),
        (" \t\r\n", "is empty"),
        ("tel:", "no phone number in 'tel:'"),
        (";ani=1234", "no phone number in ';ani=1234'"),
        ("tel:;postd=1", "no phone number in 'tel:;postd=1'"),
        ("1-800-FLOWERS", "'1-800-FLOWERS' is not a valid phone number (unexpected 'F')"),
        (
            "call 6175551234 now",
            "'call 6175551234 now' is not a valid phone number (unexpected 'c')",
        ),
        ("6175551234 x5", "'6175551234 x5' is not a valid phone number (unexpected 'x')"),
        ("6175551234#5", "'6175551234#5' is not a valid phone number (unexpected '#')"),
        ("617+5551234", "'617+5551234' is not a valid phone number (unexpected '+')"),
        ("++16175551234", "'++16175551234' is not a valid phone number (unexpected '+')"),
        ("sip:+16175551234", "'sip:+16175551234' is not a valid phone number (unexpected 's')"),
        ("O'Brien", "\"O'Brien\" is not a valid phone number (unexpected 'O')"),
        (
            "tel:+16175551234;foo=1",
            "unknown parameter 'foo' in 'tel:+16175551234;foo=1' (allowed: ani, postd)",
        ),
        (
            "tel:+16175551234;ext=12",
            "unknown parameter 'ext' in 'tel:+16175551234;ext=12' (allowed: ani, postd)",
        ),
        (
            "6175551234;foo",
            "unknown parameter 'foo' in '6175551234;foo' (allowed: ani, postd)",
        ),
        ("6175551234;", "empty parameter in '6175551234;'"),
        ("6175551234;;ani=12", "empty parameter in '6175551234;;ani=12'"),
        ("6175551234; ;ani=12", "empty parameter in '6175551234; ;ani=12'"),
        ("6175551234;=12", "parameter without a name in '6175551234;=12'"),
        ("6175551234;ani", "parameter 'ani' has no '=' in '6175551234;ani'"),
        ("6175551234;POSTD", "parameter 'postd' has no '=' in '6175551234;POSTD'"),
        ("6175551234;ani=", "parameter 'ani' has an empty value in '6175551234;ani='"),
        ("6175551234;postd= ", "parameter 'postd' has an empty value in '6175551234;postd='"),
        (
            "6175551234;ani=12;ani=12",
            "duplicate parameter 'ani' in '6175551234;ani=12;ani=12'",
        ),
        (
            "6175551234;postd=1;ani=12;Postd=2",
            "duplicate parameter 'postd' in '6175551234;postd=1;ani=12;Postd=2'",
        ),
        ("6175551234;ani=80099x", "ani '80099x' must be 2 to 15 digits, optionally after '+'"),
        ("6175551234;ani=1", "ani '1' must be 2 to 15 digits, optionally after '+'"),
        (
            "6175551234;ani=1234567890123456",
            "ani '1234567890123456' must be 2 to 15 digits, optionally after '+'",
        ),
        ("6175551234;ani=++12", "ani '++12' must be 2 to 15 digits, optionally after '+'"),
        ("6175551234;ani=800-995", "ani '800-995' must be 2 to 15 digits, optionally after '+'"),
        ("6175551234;ani=8 00", "ani '8 00' must be 2 to 15 digits, optionally after '+'"),
        (
            "6175551234;ani=\u0661\u0662\u0663",  # digits, but not ASCII ones
            "ani '\u0661\u0662\u0663' must be 2 to 15 digits, optionally after '+'",
        ),
        (
            "6175551234;ani=12>\u2028<sip:x",
            "ani '12>\\u2028<sip:x' must be 2 to 15 digits, optionally after '+'",
        ),
        (
            "6175551234;postd=12x",
            "postd '12x' contains 'x', which is not a DTMF digit (0-9, *, #, A-D)",
        ),
        (
            "6175551234;postd=1,2",
            "postd '1,2' contains ',', which is not a DTMF digit (0-9, *, #, A-D)",
        ),
        (
            "6175551234;postd=12e",
            "postd '12e' contains 'e', which is not a DTMF digit (0-9, *, #, A-D)",
        ),
        (
            "6175551234;postd=1p2",
            "postd '1p2' contains 'p', which is not a DTMF digit (0-9, *, #, A-D)",
        ),
        (
            "6175551234;postd=1 2",
            "postd '1 2' contains ' ', which is not a DTMF digit (0-9, *, #, A-D)",
        ),
        (
            "6175551234;postd=" + "1" * 33,
            f"postd '{'1' * 33}' is longer than 32 characters",
        ),
        ("617\x00555", "'617\\x00555' contains the control character U+0000"),
        (
            "6175551234;postd=1\x1b",
            "'6175551234;postd=1\\x1b' contains the control character U+001B",
        ),
        ("617\t5551234", "'617\\t5551234' contains the control character U+0009"),
        ("617\x85555", "'617\\x85555' contains the control character U+0085"),
        ("617\x7f", "'617\\x7f' contains the control character U+007F"),
    ],
)
def test_error_messages(value: str, message: str) -> None:
    assert error_of(value) == f"phone_number: {message}"


def test_error_names_the_field() -> None:
    with pytest.raises(InvalidField) as caught:
        parse_destination("12", field="destination")
    assert caught.value.field == "destination"
    assert caught.value.message == "destination: '12' is not a valid phone number"


def test_long_values_are_cut_in_messages() -> None:
    value = "6" * 100
    assert error_of(value) == f"phone_number: '{'6' * 64}...' is not a valid phone number"
    value = "6175551234;postd=" + "1" * 100
    assert error_of(value) == f"phone_number: postd '{'1' * 64}...' is longer than 32 characters"


def test_values_over_256_characters_are_refused_before_parsing() -> None:
    value = " " * 247 + "6175551234"
    assert error_of(value) == f"phone_number: '{' ' * 64}...' is longer than 256 characters"
    value = "x" * 10_000
    assert error_of(value) == f"phone_number: '{'x' * 64}...' is longer than 256 characters"


# --- properties -------------------------------------------------------------------------------


def _all_examples() -> list[tuple[str, phonenumbers.PhoneNumber]]:
    """libphonenumber's example number of every type in every region, with the region."""
    examples = []
    for region in REGIONS:
        for number_type in NUMBER_TYPES:
            number = phonenumbers.example_number_for_type(region, number_type)
            if number is not None and phonenumbers.is_valid_number(number):
                examples.append((region, number))
    return examples


EXAMPLES = _all_examples()
example_numbers = st.sampled_from(EXAMPLES)
anis = st.from_regex(r"\+?[0-9]{2,15}", fullmatch=True)
postds = st.text(alphabet="0123456789*#ABCDabcd", min_size=1, max_size=32)


@settings(max_examples=300, deadline=None)
@given(
    example=example_numbers,
    ani=st.none() | anis,
    postd=st.none() | postds,
    ani_first=st.booleans(),
    spelling=st.sampled_from(["e164", "tel", "international", "rfc3966", "national"]),
)
def test_every_spelling_gives_the_same_destination(
    example: tuple[str, phonenumbers.PhoneNumber],
    ani: str | None,
    postd: str | None,
    ani_first: bool,
    spelling: str,
) -> None:
    region, number = example
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    base = {
        "e164": e164,
        "tel": "tel:" + e164,
        "international": phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        "rfc3966": phonenumbers.format_number(number, PhoneNumberFormat.RFC3966),
        "national": phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
    }[spelling]
    parameters = [f";ani={ani}"] if ani is not None else []
    parameters += [f";postd={postd}"] if postd is not None else []
    if not ani_first:
        parameters.reverse()
    value = base + "".join(parameters)
    expected = Destination(e164, ani, postd.upper() if postd is not None else None)
    assert parse_destination(value, region=region) == expected


@settings(max_examples=500, deadline=None)
@given(
    st.text()
    | st.text(alphabet="0123456789+-() .;=tel:TELanipostdANIPOSTD#*xX\x00\t\u0661\uff0b")
    | st.builds(
        "".join,
        st.lists(
            st.sampled_from(
                ["tel:", "+1", "617", "555", "1234", ";", "ani=", "postd=", "=", "#", " ", "x"]
            )
        ),
    )
)
def test_arbitrary_text_gives_a_destination_or_invalid_field(value: str) -> None:
    try:
        destination = parse_destination(value)
    except InvalidField as error:
        assert error.field == "phone_number"
        assert error.message.startswith("phone_number: ")
        assert len(error.message) < 300
    else:
        assert destination.e164.startswith("+")
        assert destination.e164[1:].isascii() and destination.e164[1:].isdigit()
        if destination.ani is not None:
            assert destination.ani.lstrip("+").isascii()
        if destination.postd is not None:
            assert set(destination.postd) <= set("0123456789*#ABCD")


def test_fast_e164_equals_format_number_for_every_example_number() -> None:
    numbers = [number for _, number in EXAMPLES]
    assert len(numbers) > 1000
    assert any(number.italian_leading_zero for number in numbers)
    for number in numbers:
        international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
        assert normalize_number(international) == phonenumbers.format_number(
            number, PhoneNumberFormat.E164
        )


@settings(max_examples=300, deadline=None)
@given(example=example_numbers, data=st.data())
def test_fast_e164_equals_format_number(
    example: tuple[str, phonenumbers.PhoneNumber], data: st.DataObject
) -> None:
    # Vary the last digits of an example number: nearby numbers are often valid too, and keep
    # the example's shape (leading zeros included).
    region, example_number = example
    national = phonenumbers.national_significant_number(example_number)
    keep = data.draw(st.integers(min_value=max(1, len(national) - 4), max_value=len(national)))
    size = len(national) - keep
    tail = data.draw(st.text(alphabet="0123456789", min_size=size, max_size=size))
    digits = national[:keep] + tail
    value = f"+{example_number.country_code} {digits}"
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        assume(False)
    assume(phonenumbers.is_valid_number(parsed))
    assert normalize_number(value) == phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


@pytest.mark.parametrize(
    "value",
    ["+39 06 1234 5678", "+39 02 1234 5678", "+39 0471 123456", "+225 01 23 45 6789"],
)
def test_fast_e164_keeps_leading_zeros(value: str) -> None:
    parsed = phonenumbers.parse(value)
    assert parsed.italian_leading_zero
    assert normalize_number(value) == phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


@pytest.mark.parametrize("marker", ["~", "\uff5e", "x", "\uff58", "#", "\uff03", ",", ";ext="])
def test_extension_markers_are_refused(marker: str) -> None:
    # libphonenumber would drop what follows them into an extension, which E.164 leaves out.
    with pytest.raises(InvalidField, match=r"is not a valid phone number|unknown parameter"):
        parse_destination(f"617 555{marker}1234")


nanp_national = st.from_regex(r"[2-9][0-9]{9}", fullmatch=True).filter(str.isascii)


@settings(max_examples=400, deadline=None)
@given(national=nanp_national, spelling=st.sampled_from(["{}", "1{}", "+1{}"]))
def test_nanp_shortcut_builds_what_parse_builds(national: str, spelling: str) -> None:
    text = spelling.format(national)
    assert numbers._parse(text, "US") == phonenumbers.parse(text, "US")


@settings(max_examples=200, deadline=None)
@given(national=nanp_national, region=st.sampled_from(["GB", "CA", "DE", "JM"]))
def test_nanp_shortcut_with_plus_ignores_region(national: str, region: str) -> None:
    text = "+1" + national
    assert numbers._parse(text, region) == phonenumbers.parse(text, region)


@settings(max_examples=300, deadline=None)
@given(text=st.from_regex(r"\+?1?[0-9]{9,11}", fullmatch=True).filter(str.isascii))
def test_parse_destination_agrees_with_phonenumbers_on_digit_strings(text: str) -> None:
    try:
        expected = phonenumbers.parse(text, "US")
        valid = phonenumbers.is_valid_number(expected)
    except phonenumbers.NumberParseException:
        valid = False
    if valid:
        assert numbers.parse_destination(text).e164 == phonenumbers.format_number(
            expected, phonenumbers.PhoneNumberFormat.E164
        )
    else:
        with pytest.raises(InvalidField):
            numbers.parse_destination(text)
