"""Detection decides the callee type of real dialer calls (simulated carrier, both databases).

The simulated callee plays audio of its kind: a person's greeting, a voicemail greeting and
beep, fax tones, dead air, or a special information tone while a dead number rings. The dialer
feeds it to the detector; the call's callee type and its attempt's detection record must be
what the audio says.
"""

from __future__ import annotations

import json

import pytest
from simdial_support import all_final, make_dep, make_trunk, queue, run_dialers

from outdial.accounts import Account
from outdial.calls import CalleeType, CallStatus
from outdial.store.store import Store
from outdial.trunks import TrunkKind

# Talk times long enough for each kind to be decided, as a real callee's would be.
RULES = [
    {"match": "1$", "outcome": "voice", "ring_s": 0.2, "talk_s": 5.0},
    {"match": "2$", "outcome": "answeringmachine", "ring_s": 0.2, "talk_s": 11.0},
    {"match": "3$", "outcome": "fax", "ring_s": 0.2, "talk_s": 3.0},
    {"match": "4$", "outcome": "unknown", "ring_s": 0.2, "talk_s": 6.5},
    {"match": "5$", "outcome": "informationtone", "ring_s": 3.0},
]


@pytest.fixture
def tenant(live: Store) -> Account:
    account, _ = live.create_account("detect@example.com")
    return account


def test_detection_decides_who_answered(live: Store, tenant: Account) -> None:
    dep = make_dep(live, tenant, make_trunk(live, "sim", RULES))
    assert dep.detection  # on unless switched off
    numbers = [f"+1617555010{d}" for d in "12345"]
    ids = queue(live, dep, numbers)
    run_dialers(live, all_final(live, tenant, ids), timeout=40.0)
    calls = {n[-1]: live.get_call(tenant, i) for n, i in zip(numbers, ids, strict=True)}

    expected = {
        "1": (CallStatus.COMPLETED, CalleeType.VOICE),
        "2": (CallStatus.COMPLETED, CalleeType.ANSWERINGMACHINE),
        "3": (CallStatus.COMPLETED, CalleeType.FAX),
        "4": (CallStatus.COMPLETED, CalleeType.UNKNOWN),
        "5": (CallStatus.FAILED, CalleeType.INFORMATIONTONE),
    }
    assert {d: (c.status, c.callee_type) for d, c in calls.items()} == expected

    detections = {d: c.details()["attempt_details"][0]["detection"] for d, c in calls.items()}
    assert detections["1"]["cause"] in ("greeting then silence", "short greeting then silence")
    # A long greeting may be called a machine before its beep (by its length or its words,
    # spotted in a worker process), or revised to one by the beep; the beep is still found.
    assert detections["2"]["cause"] in (
        "beep after greeting",
        "beep after a voice verdict",
        "greeting longer than a person's",
        "greeting phrases heard",
    )
    assert detections["2"]["beep_end_ms"] is not None
    assert detections["2"]["beep_end_ms"] >= detections["2"]["decided_ms"] - 100
    assert detections["3"]["cause"].startswith("fax")
    assert detections["4"]["cause"] == "dead air"
    for digit in "1234":
        assert 0 < detections[digit]["decided_ms"] < 12_000
    # The dead number's tone was heard while it rang: hung up before its 404 came.
    [sit] = calls["5"].attempt_list
    assert (sit.cause, sit.sip_code, detections["5"]) == (
        "special information tone in early media",
        None,
        None,
    )


def test_with_detection_off_the_carrier_says_who_answered(live: Store, tenant: Account) -> None:
    trunk = live.create_trunk(
        "sim",
        TrunkKind.SIMULATED,
        lines=5,
        cps=100.0,
        config=json.dumps({"rules": [{"match": ".", "outcome": "fax", "talk_s": 0.1}]}),
    )
    dep = make_dep(live, tenant, trunk.id, detection=False)
    [call_id] = queue(live, dep, ["+16175550101"])
    run_dialers(live, all_final(live, tenant, [call_id]))
    call = live.get_call(tenant, call_id)
    assert (call.status, call.callee_type) == (CallStatus.COMPLETED, CalleeType.FAX)
    assert call.attempt_list[0].detect_cause is None
