"""The web UI's view of call flows: application pages and versions, restoring a version, a
call's flow trace, results and recordings, and results in the completed-calls table and CSV."""

from __future__ import annotations

import csv
import io
import json
import re
import wave
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from api_support import Tenant, TestClient
from web_support import csrf_of, sign_in

from outdial.audio import g711
from outdial.calls import CalleeType
from outdial.policy import AttemptResult
from outdial.store.store import Store
from outdial.trunks import TrunkKind

FLOW_V1 = (
    "flow: 1\nstart: bye\nsteps:\n"
    "  bye: {type: say, text: Hello, next: done}\n"
    "  done: {type: hangup}\n"
)
FLOW_V2 = FLOW_V1.replace("Hello", "Goodbye <b>now</b>")
TRACE = [
    {"step": "greet", "type": "say", "start_ms": 0, "end_ms": 5200, "outcome": "played"},
    {"step": "ask", "type": "menu", "start_ms": 5200, "end_ms": 9850, "outcome": "key 1"},
    {"step": "confirmed", "type": "result", "start_ms": 9850, "end_ms": 9850, "outcome": "fields"},
    {"step": "comment", "type": "record", "start_ms": 9850, "end_ms": None, "outcome": ""},
]
AUDIO = bytes(range(256)) * 16  # µ-law, 4096 samples: 0.512 s at 8 kHz


@dataclass(frozen=True)
class Answered:
    call_id: str
    recording_id: str


@pytest.fixture
def answered_call(store: Store, queue_call: Callable[..., str]) -> Callable[[Tenant], Answered]:
    """``answered_call(tenant)``: a call whose one attempt ran flow version 1 of the
    tenant's application, set results, recorded audio and ended."""

    def make(tenant: Tenant) -> Answered:
        store.save_flow(tenant.app_id, FLOW_V1, "yaml", tenant.email)
        trunk = store.create_trunk(
            f"sim-{tenant.dep_id}", TrunkKind.SIMULATED, lines=5, cps=50.0, config='{"rules": []}'
        )
        store.set_deployment_trunk(tenant.dep_id, trunk.id)
        call_id = queue_call(tenant, "+16175550101", call_parameters={"first_name": "Ann"})
        [claim] = store.claim("w", lease=30.0, limit=1, hours=lambda *_: ([], {}))
        assert claim.call_id == call_id
        assert store.record_answer(claim, "w")
        store.merge_results(claim.call_pk, {"confirmed": "yes", "visits": 3})
        store.record_flow_trace(claim.call_pk, claim.attempt, 1, TRACE)
        recording_id = store.save_recording(claim.call_pk, claim.attempt, "comment", AUDIO, 0.51)
        url = f"/api/outbound/{call_id}/recordings/{recording_id}"
        store.merge_results(claim.call_pk, {"comment": url})
        result = AttemptResult(True, CalleeType.VOICE, "callee hung up", 200)
        store.finish_attempt(claim, "w", result)
        return Answered(call_id, recording_id)

    return make


def test_the_call_page_shows_the_flow_its_attempt_ran_results_and_recordings(
    client: TestClient, tenant: Tenant, answered_call: Callable[[Tenant], Answered]
) -> None:
    call = answered_call(tenant)
    sign_in(client, tenant)
    page = client.get(f"/ui/calls/{call.call_id}")
    assert page.status_code == 200
    text = page.text
    version_link = f'href="/ui/applications/{tenant.app_id}/versions/1">flow version 1</a>'
    assert version_link in text
    # the trace, a row per step: its type, from-to in seconds from answer, outcome
    rows = re.findall(r"<tr>\s*<td class=\"num\">(\d+)</td>\s*<td><code>(\w+)</code></td>", text)
    assert [name for _, name in rows] == ["greet", "ask", "confirmed", "comment"]
    assert re.search(r"5\.2 s</td>\s*<td class=\"num\">9\.8 s</td>", text)  # ask: 5.2-9.85 s
    assert "key 1" in text and "not finished" in text  # comment's end_ms is None
    assert "<dt>confirmed</dt><dd>yes</dd>" in text and "<dt>visits</dt><dd>3</dd>" in text
    audio_url = f"/ui/calls/{call.call_id}/recordings/{call.recording_id}"
    assert f'<audio controls preload="metadata" src="{audio_url}"' in text
    assert 'id="no-flow"' not in text and 'id="no-recordings"' not in text
    # a result holding a recording's URL links to the recording on the page
    link = f'<a href="#rec-{call.recording_id}">the recording of step comment</a>'
    assert f"<dt>comment</dt><dd>{link} (below)</dd>" in text
    assert f'<li id="rec-{call.recording_id}">' in text


def test_a_recording_is_served_as_wav_to_the_calls_owner(
    client: TestClient, tenant: Tenant, answered_call: Callable[[Tenant], Answered]
) -> None:
    call = answered_call(tenant)
    url = f"/ui/calls/{call.call_id}/recordings/{call.recording_id}"
    assert client.get(url, follow_redirects=False).status_code == 303  # not signed in
    sign_in(client, tenant)
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["cache-control"] == "no-store"
    with wave.open(io.BytesIO(response.content)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        frames = wav.readframes(wav.getnframes())
    assert frames == g711.decode(AUDIO).astype("<i2").tobytes()
    missing = client.get(f"/ui/calls/{call.call_id}/recordings/no-such-recording")
    assert missing.status_code == 404


def test_another_accounts_applications_and_recordings_are_not_found(
    client: TestClient,
    make_tenant: Callable[..., Tenant],
    answered_call: Callable[[Tenant], Answered],
    store: Store,
) -> None:
    mine, theirs = make_tenant(), make_tenant()
    their_call = answered_call(theirs)
    token = sign_in(client, mine)
    for path in (
        f"/ui/applications/{theirs.app_id}",
        f"/ui/applications/{theirs.app_id}/versions/1",
        f"/ui/calls/{their_call.call_id}/recordings/{their_call.recording_id}",
        f"/ui/calls/{their_call.call_id}",
        f"/ui/applications/{mine.app_id}/versions/1",  # mine has no flow
        "/ui/applications/999999",
        "/ui/applications/abc",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "There is no such page in your account." in response.text
    restore = client.post(
        f"/ui/applications/{theirs.app_id}/versions/1/restore", data={"csrf_token": token}
    )
    assert restore.status_code == 404
    assert [v.version for v in store.flow_versions(theirs.app_id)] == [1]
    listing = client.get("/ui/applications").text
    assert f"/ui/applications/{mine.app_id}" in listing
    assert f"/ui/applications/{theirs.app_id}" not in listing


def test_the_applications_list_shows_flows_and_deployments(
    client: TestClient,
    tenant: Tenant,
    add_deployment: Callable[..., Tenant],
    store: Store,
) -> None:
    surveys = add_deployment(tenant, new_app=True)
    store.save_flow(tenant.app_id, FLOW_V1, "yaml", "cli")
    store.save_flow(tenant.app_id, FLOW_V2, "yaml", "ops@example.com")
    sign_in(client, tenant)
    page = client.get("/ui/applications")
    assert page.status_code == 200
    rows = page.text.split("<tbody>")[1].split("</tr>")
    reminders = next(r for r in rows if "Reminders" in r)
    assert "version 2" in reminders and "ops@example.com" in reminders
    assert f'href="/ui/deployments/{tenant.app_id}/{tenant.dep_id}">Outbound</a>' in reminders
    no_flow = next(r for r in rows if "Surveys" in r)
    assert "no flow" in no_flow
    assert f'href="/ui/deployments/{surveys.app_id}/{surveys.dep_id}">Second</a>' in no_flow
    # linked from the navigation, the deployments list and the queue page
    assert 'href="/ui/applications"' in client.get("/ui/deployments").text
    assert f'href="/ui/applications/{tenant.app_id}"' in client.get("/ui/deployments").text
    queue = client.get(f"/ui/deployments/{tenant.app_id}/{tenant.dep_id}").text
    assert f'href="/ui/applications/{tenant.app_id}"' in queue
    assert "version 2, saved" in queue


def test_the_application_page_shows_the_flow_escaped_and_its_versions(
    client: TestClient, tenant: Tenant, store: Store
) -> None:
    store.save_flow(tenant.app_id, FLOW_V1, "yaml", "cli")
    store.save_flow(tenant.app_id, FLOW_V2, "yaml", "ops@example.com")
    sign_in(client, tenant)
    page = client.get(f"/ui/applications/{tenant.app_id}")
    assert page.status_code == 200
    assert "Goodbye &lt;b&gt;now&lt;/b&gt;" in page.text  # the document as text, not markup
    assert "<b>now</b>" not in page.text
    assert 'id="current-flow">Version 2' in page.text
    versions = re.findall(r'<td class="num">(\d+)', page.text.split('id="versions-table"')[1])
    assert versions == ["2", "1"]
    # one Restore button: for version 1, not for the current version
    assert re.findall(r'action="[^"]*/versions/(\d+)/restore"', page.text) == ["1"]
    old = client.get(f"/ui/applications/{tenant.app_id}/versions/1")
    assert old.status_code == 200
    assert "the current version is 2" in old.text
    assert '<span class="remove">-  bye: {type: say, text: Hello, next: done}</span>' in old.text
    assert client.get(f"/ui/applications/{tenant.app_id}/versions/3").status_code == 404


def test_an_application_without_a_flow_says_how_to_add_one(
    client: TestClient, tenant: Tenant
) -> None:
    sign_in(client, tenant)
    page = client.get(f"/ui/applications/{tenant.app_id}")
    assert page.status_code == 200
    assert 'id="no-flow"' in page.text
    assert f"outdial app update --app {tenant.app_id} --flow" in page.text
    assert f"api/apps/{tenant.app_id}/flow" in page.text
    assert 'id="versions-table"' not in page.text


def test_restore_saves_the_old_source_as_a_new_version_by_the_operator(
    client: TestClient, tenant: Tenant, store: Store
) -> None:
    store.save_flow(tenant.app_id, FLOW_V1, "yaml", "cli")
    store.save_flow(tenant.app_id, FLOW_V2, "yaml", "cli")
    token = sign_in(client, tenant)
    url = f"/ui/applications/{tenant.app_id}/versions/1/restore"
    refused = client.post(url, data={"csrf_token": "not-the-token"})
    assert refused.status_code == 403
    assert client.post(url).status_code == 403
    assert [v.version for v in store.flow_versions(tenant.app_id)] == [2, 1]
    done = client.post(url, data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/ui/applications/{tenant.app_id}?restored=1&as=3"
    current = store.current_flow(tenant.app_id)
    assert current is not None
    assert (current.version, current.source, current.author) == (3, FLOW_V1, tenant.email)
    page = client.get(done.headers["location"])
    assert "Version 1 restored as version 3" in page.text
    # restoring the current version changes nothing
    again = client.post(
        f"/ui/applications/{tenant.app_id}/versions/3/restore",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert again.status_code == 303
    assert [v.version for v in store.flow_versions(tenant.app_id)] == [3, 2, 1]


def test_a_version_that_no_longer_validates_is_not_restored(
    client: TestClient, tenant: Tenant, store: Store
) -> None:
    store.save_flow(tenant.app_id, "flow: 1\nstart: nowhere\nsteps: {}\n", "yaml", "old")
    store.save_flow(tenant.app_id, FLOW_V1, "yaml", "cli")
    token = sign_in(client, tenant)
    response = client.post(
        f"/ui/applications/{tenant.app_id}/versions/1/restore", data={"csrf_token": token}
    )
    assert response.status_code == 422
    assert 'id="restore-problems"' in response.text and "start" in response.text
    assert [v.version for v in store.flow_versions(tenant.app_id)] == [2, 1]


def test_completed_calls_and_the_export_show_results(
    client: TestClient, tenant: Tenant, answered_call: Callable[[Tenant], Answered]
) -> None:
    call = answered_call(tenant)
    sign_in(client, tenant)
    queue = f"/ui/deployments/{tenant.app_id}/{tenant.dep_id}"
    table = client.get(queue + "/completed").text
    cell = re.search(r'<td class="results" title="([^"]*)">([^<]*)</td>', table)
    assert cell, "no results cell with the whole results as its title"
    whole, shown = cell.groups()
    assert whole.startswith("confirmed: yes · visits: 3 · comment: /api/outbound/")
    assert whole.endswith(call.recording_id)
    assert shown.startswith("confirmed: yes · visits: 3 · comment: ") and shown.endswith("…")
    exported = client.get(queue + "/export.csv")
    [row] = list(csv.DictReader(io.StringIO(exported.text)))
    assert row["call_id"] == call.call_id
    assert json.loads(row["results"]) == {
        "confirmed": "yes",
        "visits": 3,
        "comment": f"/api/outbound/{call.call_id}/recordings/{call.recording_id}",
    }


def test_a_call_that_ran_no_flow_says_so(
    client: TestClient, tenant: Tenant, queue_call: Callable[..., str]
) -> None:
    call_id = queue_call(tenant)
    sign_in(client, tenant)
    page = client.get(f"/ui/calls/{call_id}").text
    assert "No attempt was answered, so no flow ran." in page
    assert 'id="no-recordings"' in page and 'id="no-results"' in page
    assert csrf_of(page)
