"""Call flows over the API: saving versions (YAML or JSON), reading them, the schema, the
checker, and recordings served to their owner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from api_support import Tenant, TestClient

from outdial.audio import g711
from outdial.audio.wav import ulaw_to_wav
from outdial.store.store import Store

EXAMPLES = Path(__file__).parents[3] / "examples" / "flows"
REMINDER = (EXAMPLES / "appointment_reminder.yaml").read_text()
SMALL = {"flow": 1, "start": "bye", "steps": {"bye": {"type": "hangup"}}}
YAML = {"Content-Type": "application/yaml"}


def flow_path(tenant: Tenant) -> str:
    return f"/api/apps/{tenant.app_id}/flow"


def test_a_yaml_flow_is_saved_as_version_1_and_read_back(
    client: TestClient, tenant: Tenant
) -> None:
    saved = client.put(flow_path(tenant), content=REMINDER, headers=YAML, auth=tenant.auth)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert (body["version"], body["format"], body["author"], body["warnings"]) == (
        1,
        "yaml",
        tenant.email,
        [],
    )
    got = client.get(flow_path(tenant), auth=tenant.auth).json()
    assert (got["version"], got["source"]) == (1, REMINDER)


def test_each_save_is_a_new_version_and_old_ones_stay_readable(
    client: TestClient, tenant: Tenant
) -> None:
    client.put(flow_path(tenant), content=REMINDER, headers=YAML, auth=tenant.auth)
    second = client.put(flow_path(tenant), json=SMALL, auth=tenant.auth)
    assert (second.status_code, second.json()["version"], second.json()["format"]) == (
        200,
        2,
        "json",
    )
    versions = client.get(flow_path(tenant) + "/versions", auth=tenant.auth).json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    assert "source" not in versions[0]
    first = client.get(flow_path(tenant) + "/versions/1", auth=tenant.auth).json()
    assert first["source"] == REMINDER
    missing = client.get(flow_path(tenant) + "/versions/9", auth=tenant.auth)
    assert missing.status_code == 404


def test_an_invalid_flow_is_refused_whole_with_every_problem(
    client: TestClient, tenant: Tenant
) -> None:
    bad = (
        "flow: 1\nstart: greet\nsteps:\n"
        "  greet: {type: say, next: nowhere}\n"
        "  lost: {type: hangup}\n"
    )
    response = client.put(flow_path(tenant), content=bad, headers=YAML, auth=tenant.auth)
    assert response.status_code == 400
    body = response.json()
    assert body["error"].startswith("flow: ")
    paths = {(p["path"], p["severity"], p["line"]) for p in body["problems"]}
    assert ("steps.greet.next", "error", 4) in paths
    assert ("steps.lost", "warning", 5) in paths
    assert any(
        p["path"].startswith("steps.greet") and "text" in p["message"] for p in body["problems"]
    )
    assert client.get(flow_path(tenant), auth=tenant.auth).status_code == 404  # nothing saved


def test_unknown_voices_are_a_400_naming_the_step_and_field(
    client: TestClient, tenant: Tenant
) -> None:
    bad = (
        "flow: 1\nstart: greet\nvoice: piper:amy\nsteps:\n"
        "  greet: {type: say, text: hi, voice: 'flite:bob', next: ask}\n"
        "  ask: {type: menu, prompt: {text: 'press 1', voice: xx-yy}, choices: {'1': bye}}\n"
        "  bye: {type: say, text: bye, voice: 'festival:us-slt-hts'}\n"
    )
    saved = client.put(flow_path(tenant), content=bad, headers=YAML, auth=tenant.auth)
    checked = client.post("/api/flow/check", content=bad, headers=YAML, auth=tenant.auth)
    assert (saved.status_code, checked.status_code, checked.json()["valid"]) == (400, 200, False)
    for answer in (saved, checked):
        problems = {p["path"]: p["message"] for p in answer.json()["problems"]}
        assert set(problems) == {"voice", "steps.greet.voice", "steps.ask.prompt.voice"}
        assert problems["voice"].startswith("unknown engine 'piper'")
        assert "flite's voices are slt, kal" in problems["steps.greet.voice"]
        assert problems["steps.ask.prompt.voice"].startswith("unknown espeak-ng voice 'xx-yy'")
    assert client.get(flow_path(tenant), auth=tenant.auth).status_code == 404  # nothing saved


def test_bad_bodies_get_clear_errors(client: TestClient, tenant: Tenant) -> None:
    empty = client.put(flow_path(tenant), content=b"", headers=YAML, auth=tenant.auth)
    assert (empty.status_code, empty.json()["error"]) == (
        400,
        "body: is empty; send the flow as YAML or JSON",
    )
    binary = client.put(flow_path(tenant), content=b"\xff\xfe", headers=YAML, auth=tenant.auth)
    assert binary.status_code == 400
    form = client.put(
        flow_path(tenant),
        content=b"a=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=tenant.auth,
    )
    assert form.status_code == 415
    not_yaml = client.put(flow_path(tenant), content="steps: [", headers=YAML, auth=tenant.auth)
    assert not_yaml.status_code == 400
    assert not_yaml.json()["problems"][0]["message"].startswith("not valid YAML")


def test_flows_of_other_accounts_are_out_of_reach(
    client: TestClient, make_tenant: Callable[..., Tenant]
) -> None:
    owner, stranger = make_tenant(), make_tenant()
    client.put(flow_path(owner), json=SMALL, auth=owner.auth)
    assert client.get(flow_path(owner), auth=stranger.auth).status_code == 404
    assert client.put(flow_path(owner), json=SMALL, auth=stranger.auth).status_code == 404
    assert client.get(flow_path(owner), auth=None).status_code == 401
    assert client.get("/api/apps/999999/flow", auth=owner.auth).status_code == 404


def test_the_schema_is_served_and_the_checker_saves_nothing(
    client: TestClient, tenant: Tenant
) -> None:
    schema = client.get("/api/flow/schema")
    assert schema.status_code == 200
    assert schema.json()["title"] == "outdial call flow"
    ok = client.post("/api/flow/check", content=REMINDER, headers=YAML, auth=tenant.auth).json()
    assert ok == {"valid": True, "problems": []}
    bad = client.post(
        "/api/flow/check", json={"flow": 1, "start": "x", "steps": {}}, auth=tenant.auth
    ).json()
    assert bad["valid"] is False and bad["problems"]
    assert client.get(flow_path(tenant), auth=tenant.auth).status_code == 404


def test_a_recording_is_served_as_wav_to_its_owner_only(
    client: TestClient,
    store: Store,
    tenant: Tenant,
    make_tenant: Callable[..., Tenant],
    queue_call: Callable[..., str],
) -> None:
    call_id = queue_call(tenant)
    call = store.get_call(tenant.account, call_id)
    pk = (
        store.engine.connect()
        .exec_driver_sql("SELECT id FROM calls WHERE call_id = ?", (call.call_id,))
        .scalar_one()
    )
    audio = bytes(range(256)) * 32
    recording_id = store.save_recording(pk, 1, "comment", audio, len(audio) / 8000)
    url = f"/api/outbound/{call_id}/recordings/{recording_id}"
    got = client.get(url, auth=tenant.auth)
    assert (got.status_code, got.headers["content-type"]) == (200, "audio/wav")
    assert got.content[:4] == b"RIFF"
    assert got.content.endswith(g711.decode(audio).astype("<i2").tobytes())  # 16-bit PCM
    details = client.get(f"/api/outbound/{call_id}", auth=tenant.auth).json()["call_details"]
    assert details["recordings"][0]["url"] == url
    stranger = make_tenant()
    assert client.get(url, auth=stranger.auth).status_code == 404
    assert client.get(url[:-4] + "0000", auth=tenant.auth).status_code == 404
    assert details["recordings"][0]["step"] == "comment"


def test_audio_prompts_are_kept_by_name_from_wav_or_raw_ulaw(
    client: TestClient, store: Store, tenant: Tenant, make_tenant: Callable[..., Tenant]
) -> None:
    base = f"/api/apps/{tenant.app_id}/audio"
    ulaw = bytes([0x7F, 0xFF, 0x00, 0x80]) * 2000  # one second
    raw = client.put(
        base + "/hello", content=ulaw, headers={"Content-Type": "audio/basic"}, auth=tenant.auth
    )
    assert raw.json() == {"application_id": tenant.app_id, "audio": "hello", "duration_s": 1.0}
    wav = client.put(
        base + "/intro.wav",
        content=ulaw_to_wav(ulaw[:4000]),
        headers={"Content-Type": "audio/wav"},
        auth=tenant.auth,
    )
    assert wav.status_code == 200 and wav.json()["duration_s"] == 0.5
    listed = client.get(base, auth=tenant.auth).json()["audio"]
    assert listed == [
        {"name": "hello", "duration_s": 1.0},
        {"name": "intro.wav", "duration_s": 0.5},
    ]
    assert store.audio_prompt(tenant.app_id, "hello") == ulaw
    bad = client.put(
        base + "/x", content=b"not a wav", headers={"Content-Type": "audio/wav"}, auth=tenant.auth
    )
    assert bad.status_code == 400 and "WAV" in bad.json()["error"]
    spaces = client.put(
        base + "/a b", content=ulaw, headers={"Content-Type": "audio/basic"}, auth=tenant.auth
    )
    assert spaces.status_code == 400 and spaces.json()["error"].startswith("name:")
    json_body = client.put(base + "/x", json={"a": 1}, auth=tenant.auth)
    assert json_body.status_code == 415
    stranger = make_tenant()
    put = client.put(
        base + "/mine", content=ulaw, headers={"Content-Type": "audio/basic"}, auth=stranger.auth
    )
    assert put.status_code == 404


def test_a_flow_nested_a_thousand_levels_deep_is_a_400(client: TestClient, tenant: Tenant) -> None:
    deep = "[" * 1000 + "]" * 1000
    saved = client.put(flow_path(tenant), content=deep, headers=YAML, auth=tenant.auth)
    assert saved.status_code == 400
    assert saved.json()["problems"][0]["message"] == "nested more than 32 levels deep"
    checked = client.post("/api/flow/check", content=deep, headers=YAML, auth=tenant.auth)
    assert checked.status_code == 200
    assert checked.json()["valid"] is False
    assert checked.json()["problems"][0]["message"] == "nested more than 32 levels deep"


def test_a_flow_style_yaml_document_is_stored_as_yaml(client: TestClient, tenant: Tenant) -> None:
    text = "{flow: 1, start: bye, steps: {bye: {type: hangup}}}"  # starts like JSON; is not
    saved = client.put(flow_path(tenant), content=text, headers=YAML, auth=tenant.auth)
    assert (saved.status_code, saved.json()["format"]) == (200, "yaml")
