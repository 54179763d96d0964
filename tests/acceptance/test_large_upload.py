"""A 100,000-row upload does not hold the server up (SPEC §5).

While the server reads and validates the file (seconds for 100,000 rows), it must go on
answering: a health check, a read, and a single queue request, which writes. That the
single call was accepted *before* the upload finished is seen through the API itself: the
upload's calls were not all listed yet when the single call's request returned.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator

import httpx
import pytest
from acceptance_support import Server, Tenant

ROWS = 100_000
CHUNK_ROWS = 5_000  # rows per chunk of the streamed request body
HTTP_TIMEOUT = 300.0  # seconds; generous, the test checks order of events, not speed


def csv_lines() -> Iterator[bytes]:
    yield b"destination,name\r\n"
    for start in range(0, ROWS, CHUNK_ROWS):
        yield b"".join(
            f"+1617{5_550_000 + i:07d},caller {i}\r\n".encode()
            for i in range(start, start + CHUNK_ROWS)
        )


@pytest.mark.slow
def test_a_large_upload_does_not_block_other_requests(server: Server, tenant: Tenant) -> None:
    boundary = secrets.token_hex(16)
    body_sent = threading.Event()
    finished: list[str] = []  # the order in which responses arrived
    lock = threading.Lock()
    outcome: dict[str, httpx.Response] = {}

    def multipart_body() -> Iterator[bytes]:
        yield (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="max_attempts"\r\n\r\n2\r\n'
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="reattempt_wait"\r\n\r\n600\r\n'
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="csv"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        yield from csv_lines()
        yield f"\r\n--{boundary}--\r\n".encode()
        body_sent.set()

    def upload() -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT) as client:
                outcome["upload"] = client.post(
                    tenant.base + "/bulk_queue",
                    auth=tenant.auth,
                    content=multipart_body(),
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                )
        finally:
            body_sent.set()  # never leave the main thread waiting
            with lock:
                finished.append("upload")

    uploader = threading.Thread(target=upload, name="upload")
    uploader.start()
    try:
        assert body_sent.wait(HTTP_TIMEOUT)
        # The server now holds the whole file and is reading and validating it.
        with httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT) as client:
            outcome["healthz"] = client.get("/healthz")
            with lock:
                finished.append("healthz")
            outcome["queue"] = client.post(
                tenant.base + "/queue", auth=tenant.auth, data={"phone_number": "+442079460958"}
            )
            with lock:
                finished.append("queue")
            outcome["listed"] = client.get(
                tenant.base + "/calls", auth=tenant.auth, params={"per_page": 1}
            )
    finally:
        uploader.join(HTTP_TIMEOUT)

    assert not uploader.is_alive()
    assert finished == ["healthz", "queue", "upload"], server.log()[-3000:]
    assert outcome["healthz"].status_code == 200
    assert outcome["queue"].status_code == 200, outcome["queue"].text
    # The single call did not wait for the upload to be written: not all of its calls were
    # there yet when the single call was (it would, were the upload holding the write lock).
    assert outcome["listed"].json()["total"] < ROWS + 1
    response = outcome["upload"]
    assert response.status_code == 200, response.text[:2000]
    batch = response.json()
    assert (batch["total_rows"], batch["accepted"], batch["rejected"]) == (ROWS, ROWS, 0)
    assert len(set(batch["call_ids"])) == ROWS
    with httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT) as client:
        listed = client.get(tenant.base + "/calls", auth=tenant.auth, params={"per_page": 1})
        last = client.get(f"/api/outbound/{batch['call_ids'][-1]}", auth=tenant.auth)
    assert listed.json()["total"] == ROWS + 1  # and the single call
    details = last.json()["call_details"]
    assert details["phone_number"] == f"+1617{5_550_000 + ROWS - 1:07d}"
    assert (details["max_attempts"], details["reattempt_wait"]) == (2, 600)
    assert details["call_parameters"] == {"name": f"caller {ROWS - 1}"}
