from __future__ import annotations

import csv
import gc
import io
import re
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outdial.errors import BadRequest
from outdial.ingest.csvreader import (
    MAX_LINE_LENGTH,
    CsvRow,
    CsvRowError,
    read_csv,
)

Result = CsvRow | CsvRowError


def read(data: bytes) -> list[Result]:
    return list(read_csv(io.BytesIO(data)))


def bad_request(data: bytes) -> str:
    with pytest.raises(BadRequest) as caught:
        read(data)
    return caught.value.message


def row(number: int, destination: str, reference: str | None = None, **parameters: str) -> CsvRow:
    return CsvRow(number, destination, reference, parameters)


class TricklingRaw(io.RawIOBase):
    """A raw stream that hands out at most ``size`` bytes per read, like a slow socket."""

    def __init__(self, data: bytes, size: int) -> None:
        self._data = memoryview(data)
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: typing.Any) -> int:
        chunk = self._data[self._position : self._position + min(self._size, len(buffer))]
        buffer[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)


# --- header form ------------------------------------------------------------------------------


def test_header_columns_become_call_parameters() -> None:
    data = b"destination,message_reference,name,amount\n6175551234,ref-1,Ann,12.50\n"
    assert read(data) == [row(2, "6175551234", "ref-1", name="Ann", amount="12.50")]


def test_header_names_and_values_are_stripped_and_matched_in_any_case() -> None:
    data = b" Destination , MESSAGE_Reference ,  first name \n  6175551234 ,  r  ,  Ann Lee  \n"
    assert read(data) == [CsvRow(2, "6175551234", "r", {"first name": "Ann Lee"})]


def test_destination_only() -> None:
    assert read(b"destination\n6175551234\n+16175551235") == [
        row(2, "6175551234"),
        row(3, "+16175551235"),
    ]


def test_empty_message_reference_and_parameters() -> None:
    data = b"destination,message_reference,name\n6175551234,,\n6175551234,  ,x\n"
    assert read(data) == [
        row(2, "6175551234", None, name=""),
        row(3, "6175551234", None, name="x"),
    ]


def test_message_reference_can_be_any_column() -> None:
    data = b"destination,name,message_reference\n6175551234,Ann,r1\n"
    assert read(data) == [row(2, "6175551234", "r1", name="Ann")]


def test_destination_is_not_validated_here() -> None:
    data = b"destination\nnot a number\ntel:+16175551234;ani=1;postd=2\n"
    assert read(data) == [row(2, "not a number"), row(3, "tel:+16175551234;ani=1;postd=2")]


def test_utf8_bom_and_non_ascii_text() -> None:
    data = "\ufeffdestination,name\n6175551234,Zoë 日本\n".encode()
    assert read(data) == [row(2, "6175551234", name="Zoë 日本")]


@pytest.mark.parametrize("newline", [b"\r\n", b"\n", b"\r"])
def test_line_ends(newline: bytes) -> None:
    data = newline.join([b"destination,name", b"6175551234,a", b"", b"6175551235,b", b""])
    assert read(data) == [row(2, "6175551234", name="a"), row(4, "6175551235", name="b")]


def test_quoted_fields_with_commas_quotes_and_newlines() -> None:
    data = (
        b"destination,note,other\r\n"
        b'6175551234,"a, b","say ""hi"""\r\n'
        b'6175551235,"line 1\r\nline 2\r\nline 3",x\r\n'
        b'6175551236,"cr\ronly",y\r\n'
        b"6175551237,z,z\r\n"
    )
    assert read(data) == [
        row(2, "6175551234", note="a, b", other='say "hi"'),
        row(3, "6175551235", note="line 1\r\nline 2\r\nline 3", other="x"),
        row(6, "6175551236", note="cr\ronly", other="y"),
        row(8, "6175551237", note="z", other="z"),
    ]


def test_row_numbers_count_newlines_inside_quotes_before_an_error() -> None:
    data = b'destination,note\n6175551234,"a\nb\n"\n6175551235\n'
    assert read(data) == [
        row(2, "6175551234", note="a\nb"),
        CsvRowError(5, "6175551235", "expected 2 fields as in the header, found 1"),
    ]


def test_space_before_a_quoted_field() -> None:
    data = b'destination,name\n6175551234, "Smith, J"\n'
    assert read(data) == [row(2, "6175551234", name="Smith, J")]


def test_blank_lines_are_skipped_but_counted() -> None:
    data = b"\n\ndestination,name\n\n6175551234,a\n,\n  ,  \n\n6175551235,b\n\n"
    assert read(data) == [row(5, "6175551234", name="a"), row(9, "6175551235", name="b")]


# --- row errors -------------------------------------------------------------------------------


def test_field_count_errors() -> None:
    data = b"destination,a,b\n6175551234,1\n6175551235,1,2,3\n6175551236,1,2\n"
    assert read(data) == [
        CsvRowError(2, "6175551234", "expected 3 fields as in the header, found 2"),
        CsvRowError(3, "6175551235", "expected 3 fields as in the header, found 4"),
        row(4, "6175551236", a="1", b="2"),
    ]
    assert read(b"destination\n6175551234,x\n") == [
        CsvRowError(2, "6175551234", "expected 1 field as in the header, found 2")
    ]


def test_empty_destination_reports_the_whole_record() -> None:
    data = b"destination,message_reference,a\n,ref,x\n  ,ref2,\n"
    assert read(data) == [
        CsvRowError(2, ",ref,x", "destination is empty"),
        CsvRowError(3, ",ref2,", "destination is empty"),  # as parsed: leading spaces skipped
    ]


def test_message_reference_length() -> None:
    ok = "r" * 255
    data = f"destination,message_reference\n1,{ok}\n2,{ok}r\n".encode()
    assert read(data) == [
        row(2, "1", ok),
        CsvRowError(3, "2", "message_reference is longer than 255 characters"),
    ]


def test_field_length() -> None:
    ok = "v" * 4096
    data = f"destination,note\n1,{ok}\n2,{ok}v\n{ok}v,x\n".encode()
    assert read(data) == [
        row(2, "1", note=ok),
        CsvRowError(3, "2", "column 'note' is longer than 4096 characters"),
        CsvRowError(4, "v" * 200, "column 'destination' is longer than 4096 characters"),
    ]


def test_nul_bytes() -> None:
    data = b"destination,note\n1,a\x00b\n6175\x005551234,x\n3,ok\n"
    assert read(data) == [
        CsvRowError(2, "1", "column 'note' contains a NUL character"),
        CsvRowError(3, "6175\ufffd5551234", "column 'destination' contains a NUL character"),
        row(4, "3", note="ok"),
    ]


def test_error_value_is_cut_to_200_characters() -> None:
    data = b"destination,a\n" + b"9" * 300 + b"\n"
    assert read(data) == [CsvRowError(2, "9" * 200, "expected 2 fields as in the header, found 1")]


def test_field_over_the_csv_module_limit_on_one_line_is_a_row_error() -> None:
    huge = b"x" * 200_000
    data = b"destination,note\n1," + huge + b"\n2,ok\n"
    assert read(data) == [
        CsvRowError(2, "1," + "x" * 198, "a field is longer than 4096 characters"),
        row(3, "2", note="ok"),
    ]


def test_unclosed_quote_running_over_many_lines_is_fatal() -> None:
    # 13 + 6 * 21844 characters pass the csv module's 131072 on line 2 + 21844.
    data = b'destination,note\n1,"never closed\n' + b"2,abc\n" * 30_000
    assert bad_request(data) == (
        "csv: line 21846: a field is longer than 4096 characters (is a quote not closed?)"
    )


def test_unclosed_quote_at_end_of_file_is_refused_not_swallowing_rows() -> None:
    # A lenient reader would read "open\n2,x\n" as one field and lose row 3 silently.
    with pytest.raises(BadRequest) as caught:
        read(b'destination,note\n1,"open\n2,x\n')
    assert caught.value.message == (
        "csv: line 3: a quoted field is never closed (is a quote not closed?)"
    )


def test_text_after_a_closing_quote_is_a_row_error() -> None:
    assert read(b'destination,note\n1,"ab"c\n2,x\n') == [
        CsvRowError(
            2, '1,"ab"c', 'text after a closing quote (write a quote inside a quoted field as "")'
        ),
        row(3, "2", note="x"),
    ]


# --- legacy headerless form -------------------------------------------------------------------


def test_legacy_rows() -> None:
    data = (
        b"6175551234\n"
        b"6175551235,ref-2\n"
        b'6175551236,ref-3,"{""name"": ""Ann"", ""n"": 1.50, ""big"": 12345678901234567890, '
        b'""ok"": true, ""no"": false}"\n'
        b"6175551237,,plain text\n"
        b"6175551238,ref-5,\n"
        b'6175551239,,"[1, 2]"\n'
        b'6175551240,,"{""nested"": {""a"": 1}}"\n'
        b'6175551241,,"{""null"": null}"\n'
        b"6175551242,,{oops\n"
        b'6175551243,,"{""x"": NaN}"\n'
        b"6175551244,,{}\n"
    )
    assert read(data) == [
        row(1, "6175551234"),
        row(2, "6175551235", "ref-2"),
        CsvRow(
            3,
            "6175551236",
            "ref-3",
            {
                "name": "Ann",
                "n": "1.50",
                "big": "12345678901234567890",
                "ok": "true",
                "no": "false",
            },
        ),
        row(4, "6175551237", call_parameter="plain text"),
        row(5, "6175551238", "ref-5"),
        row(6, "6175551239", call_parameter="[1, 2]"),
        row(7, "6175551240", call_parameter='{"nested": {"a": 1}}'),
        row(8, "6175551241", call_parameter='{"null": null}'),
        row(9, "6175551242", call_parameter="{oops"),
        row(10, "6175551243", call_parameter='{"x": NaN}'),
        row(11, "6175551244"),
    ]


def test_legacy_json_nested_too_deep_is_plain_text() -> None:
    deep = '{"a":' + "[" * 2000 + "]" * 2000 + "}"  # valid JSON, deeper than the recursion limit
    data = f'1,,"{deep.replace(chr(34), chr(34) * 2)}"\n'.encode()
    assert read(data) == [row(1, "1", call_parameter=deep)]


@pytest.mark.parametrize(
    "first",
    [
        b"+16175551234",
        b"tel:+1-617-555-1234;ani=8009957586;postd=2",
        b"TEL:+16175551234",
        b"(617) 555-1234;postd=12#",
        b"  617.555.1234 ",
        b"+44 20 7946 0018",
        b"12",
    ],
)
def test_legacy_form_is_recognised_by_a_phone_number_first(first: bytes) -> None:
    data = b"\n" + first + b",ref\n6175551235\n"
    assert read(data) == [row(2, first.decode().strip(), "ref"), row(3, "6175551235")]


def test_legacy_row_errors() -> None:
    data = (
        b"6175551230,first,ok\n"
        b'6175551234,ref,{"a": 1, "b": 2}\n'
        b"6175551233,ref,x,y\n"
        b",ref\n"
        b"6175551235," + b"r" * 256 + b"\n"
        b"\n"
        b"6175551236,ok,\x00\n"
        b"6175551237,ok,ok\n"
    )
    assert read(data) == [
        row(1, "6175551230", "first", call_parameter="ok"),
        # strict CSV: the unquoted JSON's second quoted string has text after its closing quote
        CsvRowError(
            2,
            '6175551234,ref,{"a": 1, "b": 2}',
            'text after a closing quote (write a quote inside a quoted field as "")',
        ),
        CsvRowError(
            3,
            "6175551233",
            "expected 1 to 3 fields (phone,message_reference,call_parameter), found 4; "
            "quote the call_parameter if it contains commas",
        ),
        CsvRowError(4, ",ref", "destination is empty"),
        CsvRowError(5, "6175551235", "message_reference is longer than 255 characters"),
        CsvRowError(7, "6175551236", "field 3 contains a NUL character"),
        row(8, "6175551237", "ok", call_parameter="ok"),
    ]


# --- whole-file errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"\xef\xbb\xbf", b"\n\r\n\r", b"destination", b"destination,a\n\n,\n \n", b",,\n"],
)
def test_no_rows(data: bytes) -> None:
    assert bad_request(data) == "csv: the file has no rows"


def test_a_file_of_bad_rows_has_rows() -> None:
    assert read(b"destination,a\n1\n") == [
        CsvRowError(2, "1", "expected 2 fields as in the header, found 1")
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"destination,a,a\n1,2,3\n", "csv: duplicate column name 'a' (columns 2 and 3)"),
        (
            b"destination,message_reference,Message_Reference\n",
            "csv: duplicate column name 'Message_Reference' (columns 2 and 3)",
        ),
        (
            b"destination,x,DESTINATION\n",
            "csv: duplicate column name 'DESTINATION' (columns 1 and 3)",
        ),
        (b"destination, a ,a\n", "csv: duplicate column name 'a' (columns 2 and 3)"),
        (b"destination,,a\n", "csv: column 2 of the header has no name"),
        (b"destination,a,\n1,2,\n", "csv: column 3 of the header has no name"),
        (b"destination,a\x00\n", "csv: column 2 of the header contains a NUL character"),
        (
            b"destination," + b"n" * 4097 + b"\n",
            "csv: column 2 of the header is longer than 4096 characters",
        ),
        (
            b"phone,message_reference\n6175551234,x\n",
            "csv: the first column of the header must be 'destination', found 'phone' "
            "(or leave the header out and write phone,message_reference,call_parameter "
            "on every line)",
        ),
        (
            b"\xef\xbb\xbfname,destination\n",
            "csv: the first column of the header must be 'destination', found 'name' "
            "(or leave the header out and write phone,message_reference,call_parameter "
            "on every line)",
        ),
        (
            b"x" * 200_000 + b"\n",
            "csv: line 1: a field is longer than 4096 characters",
        ),
    ],
)
def test_header_errors(data: bytes, message: str) -> None:
    assert bad_request(data) == message


def test_duplicate_names_differing_in_case_are_distinct_parameters() -> None:
    assert read(b"destination,Name,name\n1,a,b\n") == [row(2, "1", Name="a", name="b")]


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"destination\n1\n2\n\xff\n", 4),
        (b"\xff\xfedestination\n", 1),
        (b"destination\n\xc3", 2),  # cut in the middle of a character
        (b"destination\n1\xed\xa0\x80\n", 2),  # an encoded surrogate is not UTF-8
        (b"destination\n" + b"1\n" * 10_000 + b"2\xe9\n", 10_002),  # past the first chunk
        ("destination\n1,é\n".encode("latin-1"), 2),
    ],
)
def test_not_utf8(data: bytes, line: int) -> None:
    assert bad_request(data) == f"csv: the file is not UTF-8 text (line {line})"


def test_rows_before_the_bad_byte_were_yielded() -> None:
    rows = read_csv(io.BytesIO(b"destination\n1\n2\n\xff\n"))
    assert next(rows) == row(2, "1")
    assert next(rows) == row(3, "2")
    with pytest.raises(BadRequest, match=r"\(line 4\)"):
        next(rows)


def test_line_too_long() -> None:
    data = b"destination\n" + b"1," * (MAX_LINE_LENGTH // 2 + 1) + b"\n"
    assert bad_request(data) == "csv: line 2 is longer than 1048576 characters"


def test_header_errors_surface_on_first_next() -> None:
    rows = read_csv(io.BytesIO(b"destination,,x\n"))
    with pytest.raises(BadRequest):
        next(rows)


# --- streaming --------------------------------------------------------------------------------


def test_stream_is_left_open() -> None:
    stream = io.BytesIO(b"destination\n1\n2\n")
    assert len(list(read_csv(stream))) == 2
    assert not stream.closed
    stream = io.BytesIO(b"destination\n1\n2\n")
    rows = read_csv(stream)
    next(rows)
    del rows
    gc.collect()
    assert not stream.closed


def test_stream_is_read_lazily() -> None:
    body = b"destination\n" + b"6175551234\n" * 100_000
    stream = io.BytesIO(body)
    rows = read_csv(stream)
    assert next(rows) == row(2, "6175551234")
    assert stream.tell() < 64 * 1024


@pytest.mark.parametrize("offset", range(11))
def test_crlf_split_across_chunks(offset: int) -> None:
    # Rows of 11 bytes after a header shifted by 0-10 bytes put a CRLF across every position
    # of the 8 KiB boundary of the text decoder.
    data = b"destination,n" + b"x" * offset + b"\r\n"
    data += b"".join(f"{i:06d},xx\r\n".encode() for i in range(3000))
    rows = read(data)
    assert rows == [row(i + 2, f"{i:06d}", **{"n" + "x" * offset: "xx"}) for i in range(3000)]


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_trickling_stream(size: int) -> None:
    lines = [
        "\ufeffdestination,note\r\n",
        '6175551234,"a\r\nb"\r\n',
        "\r\n",
        "6175551235,é\r",
        '6175551236,"x\ny"\n',
    ]
    data = "".join(lines).encode()
    stream = io.BufferedReader(TricklingRaw(data, size), buffer_size=size)
    expected = [
        row(2, "6175551234", note="a\r\nb"),
        row(5, "6175551235", note="é"),
        row(6, "6175551236", note="x\ny"),
    ]
    assert list(read_csv(typing.cast(typing.BinaryIO, stream))) == expected


# --- properties -------------------------------------------------------------------------------

values = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
names = (
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=8)
    .map(str.strip)
    .filter(lambda name: name and name.lower() not in ("destination", "message_reference"))
)
QUOTINGS: list[typing.Literal[0, 1, 2, 3]] = [
    csv.QUOTE_MINIMAL,
    csv.QUOTE_ALL,
    csv.QUOTE_NONNUMERIC,
]
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@st.composite
def tables(draw: st.DrawFn) -> tuple[bytes, list[Result]]:
    """A CSV file written by csv.writer, and what read_csv must give back for it."""
    parameter_names = draw(st.lists(names, max_size=3, unique=True))
    with_reference = draw(st.booleans())
    header = [draw(st.sampled_from(["destination", "Destination", " DESTINATION "]))]
    header += ["message_reference"] if with_reference else []
    header += parameter_names
    terminator = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    quoting = draw(st.sampled_from(QUOTINGS))
    if quoting == csv.QUOTE_MINIMAL and terminator != "\r\n":
        # Python 3.11's writer quotes a field only for the line ends of its own terminator.
        quoting = csv.QUOTE_ALL
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=terminator, quoting=quoting)
    writer.writerow(header)
    expected: list[Result] = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            writer.writerow([])  # a blank line
        start = len(_LINE_BREAK.findall(out.getvalue())) + 1
        destination = draw(values.filter(lambda value: value.strip() != ""))
        reference = draw(values) if with_reference else ""
        parameters = [draw(values) for _ in parameter_names]
        writer.writerow([destination, *([reference] if with_reference else []), *parameters])
        expected.append(
            CsvRow(
                start,
                destination.strip(),
                reference.strip() or None,
                {
                    name: value.strip()
                    for name, value in zip(parameter_names, parameters, strict=True)
                },
            )
        )
    bom = "\ufeff" if draw(st.booleans()) else ""
    return (bom + out.getvalue()).encode(), expected


@settings(max_examples=300, deadline=None)
@given(tables())
def test_tables_written_by_csv_writer_read_back(table: tuple[bytes, list[Result]]) -> None:
    data, expected = table
    if not expected:
        assert bad_request(data) == "csv: the file has no rows"
    else:
        assert read(data) == expected


@settings(max_examples=500, deadline=None)
@given(
    st.binary()
    | st.lists(
        st.sampled_from(
            [
                b"destination",
                b",",
                b'"',
                b"\r",
                b"\n",
                b"\x00",
                b"\xff",
                b"\xef\xbb\xbf",
                b"\xc3\xa9",
                b" ",
                b"6175551234",
                b";ani=12",
                b"{",
                b"}",
                b"message_reference",
                b'{"a": 1}',
                b"x",
            ]
        )
    ).map(b"".join)
)
def test_arbitrary_bytes_raise_only_bad_request(data: bytes) -> None:
    try:
        results = read(data)
    except BadRequest as error:
        assert error.message.startswith("csv: ")
    else:
        assert results
        for result in results:
            assert result.row >= 1
            if isinstance(result, CsvRowError):
                assert len(result.value) <= 200 and "\x00" not in result.value
            else:
                assert result.destination and "\x00" not in result.destination
