"""A large upload validated by a real process pool, through the API."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from api_support import Tenant, TestClient

ROWS = 5_000


@pytest.mark.slow
def test_a_large_upload_is_validated_by_worker_processes(
    make_client: Callable[..., TestClient], tenant: Tenant
) -> None:
    client = make_client(ingest_workers=2)
    numbers = [f"+1617{5550000 + i:07d}" for i in range(ROWS)]
    csv = "destination,row\n" + "".join(f"{n},{i}\n" for i, n in enumerate(numbers, start=2))

    response = client.post(
        tenant.base + "/bulk_queue",
        auth=tenant.auth,
        files={"csv": ("big.csv", csv.encode(), "text/csv")},
    )

    assert response.status_code == 200, response.text
    batch = response.json()
    assert (batch["total_rows"], batch["accepted"], batch["rejected"]) == (ROWS, ROWS, 0)
    assert len(set(batch["call_ids"])) == ROWS
    listed = client.get(tenant.base + "/calls", auth=tenant.auth, params={"per_page": 1})
    assert listed.json()["total"] == ROWS
    last = client.get(f"/api/outbound/{batch['call_ids'][-1]}", auth=tenant.auth).json()
    assert last["call_details"]["phone_number"] == numbers[-1]
    assert last["call_details"]["call_parameters"] == {"row": str(ROWS + 1)}


@pytest.mark.slow
def test_bad_rows_found_by_worker_processes_keep_their_row_numbers(
    make_client: Callable[..., TestClient], tenant: Tenant
) -> None:
    client = make_client(ingest_workers=2)
    lines = [f"+1617{5550000 + i:07d}" for i in range(ROWS)]
    bad_rows = {2_500: "123", 4_321: "tel:+16175551234;ani=x", ROWS + 1: "nope"}
    for row, value in bad_rows.items():
        lines[row - 2] = value  # row 1 is the header

    response = client.post(
        tenant.base + "/bulk_queue",
        auth=tenant.auth,
        files={"csv": ("big.csv", ("destination\n" + "\n".join(lines)).encode(), "text/csv")},
    )

    batch = response.json()
    assert (batch["accepted"], batch["rejected"]) == (ROWS - 3, 3)
    assert [(e["row"], e["value"]) for e in batch["errors"]] == sorted(bad_rows.items())
