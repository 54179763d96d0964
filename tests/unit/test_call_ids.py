import json
import re
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from outdial.ingest.pipeline import parameters_json
from outdial.store.store import new_call_id, new_call_ids

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_call_ids_are_uuid7_strings() -> None:
    ids = new_call_ids(1000)
    assert len(ids) == 1000
    for text in ids:
        assert UUID_TEXT.fullmatch(text), text
        parsed = uuid.UUID(text)
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text


def test_call_ids_are_unique_and_time_ordered() -> None:
    first = new_call_ids(5000)
    second = new_call_ids(5000)
    assert len(set(first) | set(second)) == 10_000
    # the 48-bit millisecond prefix never goes backwards
    assert max(i[:13] for i in first) <= min(i[:13] for i in second)
    assert UUID_TEXT.fullmatch(new_call_id())


def test_no_call_ids() -> None:
    assert new_call_ids(0) == []


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=20),
        st.one_of(st.text(max_size=40), st.integers(), st.booleans(), st.none()),
        max_size=6,
    )
)
def test_parameters_json_is_json_dumps(parameters: dict[str, object]) -> None:
    assert parameters_json(parameters) == json.dumps(parameters, separators=(",", ":"))
