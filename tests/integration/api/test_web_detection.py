"""The call page shows what detection decided: the verdict, and when it was revised, the first
verdict and each revision with when and why (written with the store as the dialer would)."""

from __future__ import annotations

import re
from collections.abc import Callable

from api_support import Tenant, TestClient
from web_support import sign_in

from outdial.calls import CalleeType
from outdial.policy import AttemptResult
from outdial.store.progress import AnswerOp, ClaimRef, DetectedOp, FinishOp, ProgressOp
from outdial.store.store import Store
from outdial.trunks import TrunkKind

VOICE, MACHINE = CalleeType.VOICE, CalleeType.ANSWERINGMACHINE
T0 = 1_800_000_000.0


def _answered(
    store: Store,
    tenant: Tenant,
    queue_call: Callable[..., str],
    verdicts: list[tuple[CalleeType, str, int, int | None]],
) -> str:
    """A call answered at T0 whose detection made ``verdicts`` (type, cause, ms, beep end)."""
    trunk = store.create_trunk(
        f"sim-{tenant.dep_id}", TrunkKind.SIMULATED, lines=5, cps=50.0, config='{"rules": []}'
    )
    store.set_deployment_trunk(tenant.dep_id, trunk.id)
    call_id = queue_call(tenant, "+16175550101")
    [claim] = store.claim("w", lease=30.0, limit=1, hours=lambda *_: ([], {}))
    ref = ClaimRef(claim.call_pk, claim.attempt)
    ops: list[ProgressOp] = [AnswerOp(ref, "w", T0)]
    ops += [
        DetectedOp(ref, "w", kind, cause, ms, beep, T0 + ms / 1000)
        for kind, cause, ms, beep in verdicts
    ]
    last = verdicts[-1][0]
    ops.append(FinishOp(ref, "w", AttemptResult(True, last, "callee hung up"), T0 + 20))
    store.apply_progress(ops)
    return call_id


def _detection_cell(text: str) -> str:
    row = re.search(r'<table id="attempts-table">.*?<tbody>(.*?)</tbody>', text, re.S)
    assert row is not None
    return row.group(1)


def test_a_revised_verdict_shows_the_first_and_the_revision(
    client: TestClient, store: Store, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    call_id = _answered(
        store,
        tenant,
        queue_call,
        [
            (VOICE, "short greeting then silence", 1200, None),
            (MACHINE, "beep after voice verdict", 5100, 5080),
        ],
    )
    sign_in(client, tenant)
    cell = _detection_cell(client.get(f"/ui/calls/{call_id}").text)
    entries = [
        re.sub(r"<[^>]+>", "", e)
        for e in re.findall(
            r'<span class="verdict">(.*?)</span>(?=<span class="verdict">|</span>)', cell
        )
    ]
    assert entries == [
        "first: voice at 1.2 s (short greeting then silence)",
        "→ then revised: answeringmachine at 5.1 s (beep after voice verdict)",
        "beep ended at 5.1 s",
    ]
    assert "<td>answeringmachine</td>" in cell  # the attempt's callee type is the revised one


def test_a_verdict_never_revised_reads_as_before(
    client: TestClient, store: Store, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    call_id = _answered(
        store,
        tenant,
        queue_call,
        [
            (MACHINE, "greeting longer than a person's", 6500, None),
            (MACHINE, "beep after greeting", 6500, 7300),  # the beep: no revision
        ],
    )
    sign_in(client, tenant)
    cell = _detection_cell(client.get(f"/ui/calls/{call_id}").text)
    assert "revised" not in cell and "first:" not in cell
    assert "beep after greeting, decided 6.5 s after answer; beep ended at 7.3 s" in cell
