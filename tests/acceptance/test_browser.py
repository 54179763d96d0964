"""The web UI in a real browser: Debian's Chromium driven by Playwright, against `outdial demo`.

An operator signs in, queues a CSV with good and bad rows, watches the calls complete on the
simulated trunk without reloading, filters, exports, opens a call, cancels a queue and signs
out; then reads an application's flow and its versions, restores one, and opens a call whose
flow left a trace, results and a recording that plays; and a call whose detection revised its
verdict (first voice, then answeringmachine at the beep). Each page is saved to
docs/screenshots/ for the README. Chromium must be installed
(``scripts/system-deps`` does it): without it these tests fail, they never skip.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from acceptance_support import OUTDIAL, SERVER_STOP_TIMEOUT, clean_environment, free_port

if TYPE_CHECKING:  # playwright is imported where a test runs, after the browser check
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
START_TIMEOUT = 60  # seconds until the demo answers /healthz
COMPLETE_TIMEOUT = 60_000  # ms for three demo calls to ring, talk and hang up
UI_TIMEOUT = 10_000  # ms for a page or fragment to show what we wait for
GOOD_ROWS = ["+16175550101", "+16175550102", "+16175550103"]
UPLOAD = (
    "destination,message_reference,first_name\n"
    f"{GOOD_ROWS[0]},ref-1,Ann\n"
    "12345,ref-2,Bob\n"
    f"{GOOD_ROWS[1]},ref-3,Cy\n"
    "hello,ref-4,Dee\n"
    f"{GOOD_ROWS[2]},ref-5,Eve\n"
)
LATER = "destination\n+16175550201\n+16175550202\n"


class Demo:
    """``outdial demo`` on a free loopback port, with its demo account and simulated trunk."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        database = workdir / "demo.db"
        self.database_url = f"sqlite:///{database}"
        self.log_path = workdir / "demo.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                str(OUTDIAL),
                "demo",
                "--database-url",
                self.database_url,
                "--port",
                str(self.port),
                "--ingest-workers",
                "0",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=clean_environment(),
            cwd=workdir,
        )
        self.credentials_path = workdir / "demo-credentials.json"

    def wait_until_healthy(self) -> dict[str, str]:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text(errors="replace")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    credentials: dict[str, str] = json.loads(self.credentials_path.read_text())
                    return credentials
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("outdial demo did not start:\n" + self.log_path.read_text())

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(SERVER_STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(SERVER_STOP_TIMEOUT)
        finally:
            self._log.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Demo, dict[str, str]]]:
    server = Demo(tmp_path_factory.mktemp("browser"))
    try:
        credentials = server.wait_until_healthy()
        yield server, credentials
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/system-deps (as root) to install it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_an_operator_queues_watches_exports_cancels_and_signs_out(
    demo: tuple[Demo, dict[str, str]], browser: Browser, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    server, credentials = demo
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        timezone_id="America/New_York",
        accept_downloads=True,
    )
    context.set_default_timeout(UI_TIMEOUT)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"{m.text} at {m.location}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))

    # The printed address leads to the sign-in page; the browser's time zone is preselected.
    page.goto(server.url + "/")
    expect(page).to_have_url(server.url + "/ui/login")
    expect(page.locator("#time_zone")).to_have_value("America/New_York")
    shot(page, "login")
    page.fill("#email", credentials["email"])
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    expect(page.locator("#password-error")).to_contain_text("wrong")
    page.fill("#password", credentials["password"])
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Deployments")).to_be_visible()
    expect(page.locator("body")).to_contain_text("America/New_York")
    shot(page, "deployments")

    page.get_by_role("link", name="Demo reminders").click()
    expect(page.get_by_role("heading", name="Outbound Queue")).to_be_visible()
    expect(page.locator("#no-pending")).to_be_visible()
    page.evaluate("window.notReloaded = true")

    # Queue Calls: the preview reports good and bad rows; nothing is queued until asked.
    csv_file = tmp_path / "reminders.csv"
    csv_file.write_text(UPLOAD)
    page.get_by_role("button", name="Queue Calls").click()
    dialog = page.locator("#queue-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("#csv").set_input_files(str(csv_file))
    dialog.get_by_role("button", name="Preview").click()
    expect(dialog.locator("#preview-result [data-count=accepted]")).to_have_text("3")
    expect(dialog.locator("#preview-result [data-count=rejected]")).to_have_text("2")
    expect(dialog.locator("#rejected-rows")).to_contain_text("'12345' is not a valid")
    expect(dialog.locator("#rejected-rows")).to_contain_text("hello")
    expect(dialog.locator("#preview-rows")).to_contain_text("+16175550103")
    shot(page, "queue-calls-preview")
    dialog.get_by_role("button", name="Queue calls").click()  # the file chosen stays chosen
    expect(dialog.locator("#upload-report [data-count=accepted]")).to_have_text("3")
    expect(dialog.locator("#upload-report [data-count=rejected]")).to_have_text("2")
    expect(dialog.locator("#rejected-rows tbody tr")).to_have_count(2)
    expect(dialog.locator("#csv")).to_have_value("")  # a second click cannot queue it again
    shot(page, "queue-calls-report")
    dialog.get_by_role("button", name="Close").click()

    # The pending table fills, then empties into the completed table, without a reload.
    expect(page.locator("#pending-table tbody tr").first).to_be_visible()
    expect(page.locator("#completed-table tbody tr")).to_have_count(3, timeout=COMPLETE_TIMEOUT)
    expect(page.locator("#no-pending")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("[data-figure=queued]")).to_have_text("0")
    answered = page.locator("[data-figure=answer-rate]").inner_text()
    expect(page.locator("#charts-section")).to_contain_text(answered)  # charts agree, live too
    expect(page.locator("#charts-section svg").first).to_be_visible()
    shot(page, "outbound-queue")

    # Filter by number, then export exactly the filtered rows.
    page.fill("#f-number", "0102")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#completed-table tbody tr")).to_have_count(1)
    shot(page, "outbound-queue-filtered")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    exported = Path(download_info.value.path()).read_text()
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["phone_number"] for r in rows] == [GOOD_ROWS[1]]
    assert rows[0]["message_reference"] == "ref-3"
    assert json.loads(rows[0]["call_parameters"]) == {"first_name": "Cy"}
    assert rows[0]["status"] in ("completed", "failed")
    assert rows[0]["queued_at"].endswith(("-05:00", "-04:00"))  # New York time

    # A call's detail: its events, attempts and parameters.
    page.locator("#completed-table tbody a").first.click()
    expect(page.get_by_role("heading", name="Attempts")).to_be_visible()
    expect(page.locator("#attempts-table tbody tr")).to_have_count(1)
    expect(page.locator("#events")).to_contain_text("dialing")
    expect(page.locator("body")).to_contain_text("first_name")
    shot(page, "call-detail")
    page.get_by_role("link", name="Back to the Outbound Queue").click()

    # Calls due tomorrow stay pending; Cancel all asks first, then cancels them.
    later = tmp_path / "later.csv"
    later.write_text(LATER)
    page.get_by_role("button", name="Queue Calls").focus()
    page.keyboard.press(" ")  # the keyboard opens the dialog too
    expect(dialog).to_be_visible()
    dialog.locator("#csv").set_input_files(str(later))
    dialog.locator("#start_timestamp").fill("2099-01-01T09:00")
    dialog.get_by_role("button", name="Queue calls").click()
    expect(dialog.locator("#upload-report [data-count=accepted]")).to_have_text("2")
    dialog.get_by_role("button", name="Close").click()
    expect(page.locator("#pending-table tbody tr")).to_have_count(2)
    expect(page.locator("#pending-table")).to_contain_text("2099-01-01 09:00")
    page.get_by_role("button", name="Cancel the call to +16175550201").click()
    expect(page.locator("#live .notice")).to_contain_text("Call to +16175550201 cancelled.")
    expect(page.locator("#pending-table tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Cancel all pending").click()
    expect(page.locator("main")).to_contain_text("1 queued call will not be dialed")
    shot(page, "cancel-all")
    page.get_by_role("button", name="Yes, cancel all pending calls").click()
    expect(page.locator(".notice")).to_contain_text("1 pending call cancelled.")
    expect(page.locator("#no-pending")).to_be_visible()

    # Signed out, the queue page is refused and the sign-in page shown instead.
    queue_page = page.url.split("?")[0]
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".notice")).to_contain_text("You are signed out.")
    page.goto(queue_page)
    expect(page).to_have_url(f"{server.url}/ui/login?next={queue_page.removeprefix(server.url)}")
    expect(page.get_by_role("heading", name="Sign in to outdial")).to_be_visible()
    # No script errors, no CSP violations; the one refused request was the wrong password.
    refused = "the server responded with a status of 400"
    assert [p for p in problems if refused not in p] == [], "\n".join(problems)
    context.close()


# A survey call as the dialer would leave it (examples/flows/survey.yaml, a callee who rates
# 9 and leaves a comment): written straight into the demo's database, dated a little ahead so
# the demo's own dialer never picks the call up (it is due later by its clock).
SURVEY_FLOW = Path(__file__).resolve().parents[2] / "examples" / "flows" / "survey.yaml"
AHEAD = 30.0  # seconds: how far ahead of real time the test's store clock runs
SURVEY_TRACE = [
    {"step": "intro", "type": "say", "start_ms": 0, "end_ms": 6400, "outcome": "played"},
    {"step": "rating", "type": "digits", "start_ms": 6400, "end_ms": 14100, "outcome": "value 9"},
    {
        "step": "save_rating",
        "type": "result",
        "start_ms": 14100,
        "end_ms": 14100,
        "outcome": "fields rating",
    },
    {
        "step": "comment",
        "type": "record",
        "start_ms": 14100,
        "end_ms": 25600,
        "outcome": "recorded 7.4 s",
    },
    {
        "step": "save_comment",
        "type": "result",
        "start_ms": 25600,
        "end_ms": 25600,
        "outcome": "fields comment, comment_s",
    },
    {"step": "thanks", "type": "say", "start_ms": 25600, "end_ms": 27900, "outcome": "played"},
    {"step": "done", "type": "hangup", "start_ms": 27900, "end_ms": 27900, "outcome": "hangup"},
]
COMMENT_S = 7.4  # seconds of recorded comment


class AheadClock:
    """The test's store clock: real time plus an offset, moved by hand as the story needs."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def comment_audio() -> bytes:
    """A recognisable µ-law recording: rising and falling notes with pauses between."""
    import numpy as np
    import numpy.typing as npt

    from outdial.audio import g711, synth

    notes = [392.0, 440.0, 494.0, 523.0, 494.0, 440.0]
    wanted = synth.samples_for(COMMENT_S * 1000)
    parts: list[npt.NDArray[np.float64]] = []
    while sum(len(p) for p in parts) < wanted:
        for hz in notes:
            parts += [synth.tone(hz, 350, dbfs=-18.0), synth.silence(150)]
    samples = np.concatenate(parts)[:wanted]
    return g711.encode(np.clip(samples, -32768, 32767).astype(np.int16))


def seed_survey_call(database_url: str, email: str) -> tuple[int, str]:
    """An application with two flow versions, and a call that ran the newest: returns the
    application ID and the call ID."""
    from outdial.calls import CalleeType
    from outdial.options import Schedule
    from outdial.policy import AttemptResult
    from outdial.store.newcalls import NewCall, new_call_ids
    from outdial.store.store import Store
    from outdial.trunks import TrunkKind

    clock = AheadClock()
    store = Store.open(database_url, clock=clock)
    try:
        source = SURVEY_FLOW.read_text()
        app = store.create_application(email, "Clinic survey")
        first = source.replace("two-question survey", "short survey")
        clock.offset = -2 * 86400.0  # the first version two days ago, from the CLI
        store.save_flow(app.id, first, "yaml", "outdial app create (CLI)")
        clock.offset = -3600.0  # an hour ago the operator reworded it
        store.save_flow(app.id, source, "yaml", email)
        clock.offset = 0.0
        trunk = store.create_trunk(
            "survey-simulated", TrunkKind.SIMULATED, lines=2, cps=1.0, config='{"rules": []}'
        )
        deployment = store.create_deployment(
            app.id, name="Survey outbound", caller_id="+18005550100", trunk_id=trunk.id
        )
        [call_id] = new_call_ids(1)
        params = json.dumps({"first_name": "Ada", "visit_date": "March 3"})
        store.queue_calls(
            deployment,
            Schedule(start_at=time.time() + AHEAD / 2),  # due for the demo's dialer later
            [NewCall(call_id, "+16175550142", None, None, "survey-0142", params, None)],
        )
        clock.offset = AHEAD  # this clock's call is due now
        [claim] = store.claim(
            "browser-test", lease=60.0, limit=1, hours=lambda *_: ([], {}), trunk_ids=[trunk.id]
        )
        clock.offset += 4.2  # it rang for 4.2 s
        assert store.record_answer(claim, "browser-test")
        audio = comment_audio()
        recording_id = store.save_recording(
            claim.call_pk, claim.attempt, "comment", audio, COMMENT_S
        )
        url = f"/api/outbound/{call_id}/recordings/{recording_id}"
        store.merge_results(claim.call_pk, {"rating": "9"})
        store.merge_results(claim.call_pk, {"comment": url, "comment_s": str(COMMENT_S)})
        store.record_flow_trace(claim.call_pk, claim.attempt, 2, SURVEY_TRACE)
        clock.offset += 28.1
        result = AttemptResult(True, CalleeType.VOICE, "flow hung up", 200)
        assert store.finish_attempt(claim, "browser-test", result) is not None
        return app.id, call_id
    finally:
        store.close()


def test_an_operator_reads_a_flow_restores_a_version_and_plays_a_recording(
    demo: tuple[Demo, dict[str, str]], browser: Browser
) -> None:
    from playwright.sync_api import expect

    server, credentials = demo
    app_id, call_id = seed_survey_call(server.database_url, credentials["email"])
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id="America/New_York"
    )
    context.set_default_timeout(UI_TIMEOUT)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"{m.text} at {m.location}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(server.url + "/ui/login")
    page.fill("#email", credentials["email"])
    page.fill("#password", credentials["password"])
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Deployments")).to_be_visible()

    # The applications, from the navigation: each one's flow version and deployments.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Applications").click()
    expect(page.get_by_role("heading", name="Applications")).to_be_visible()
    survey_row = page.locator("#applications-table tr", has_text="Clinic survey")
    expect(survey_row).to_contain_text("version 2")
    expect(survey_row.get_by_role("link", name="Survey outbound")).to_be_visible()
    shot(page, "applications")

    # The application: its current flow as written, and its versions.
    survey_row.get_by_role("link", name="Clinic survey").click()
    expect(page).to_have_url(f"{server.url}/ui/applications/{app_id}")
    expect(page.locator("#current-flow")).to_contain_text("Version 2")
    expect(page.locator("pre.flow-source")).to_contain_text("type: record")
    expect(page.locator("#versions-table tbody tr")).to_have_count(2)
    shot(page, "application")

    # An old version, what changed since, and Restore: a new version, by this operator.
    page.get_by_role("link", name="View version 1").click()
    expect(page.get_by_role("heading", name="Flow version 1")).to_be_visible()
    expect(page.locator("pre.diff .remove")).to_contain_text("short survey")
    expect(page.locator("pre.diff .add")).to_contain_text("two-question survey")
    shot(page, "flow-version")
    page.get_by_role("button", name="Restore version 1").click()
    expect(page.locator("#restored")).to_contain_text("Version 1 restored as version 3")
    expect(page.locator("#versions-table tbody tr")).to_have_count(3)
    expect(page.locator("#versions-table tbody tr").first).to_contain_text(credentials["email"])

    # From the application to its deployment's queue, to the call: results in the table.
    page.get_by_role("link", name="Survey outbound").click()
    expect(page.get_by_role("heading", name="Outbound Queue")).to_be_visible()
    completed = page.locator("#completed-table tbody tr")
    expect(completed).to_have_count(1)
    expect(completed).to_contain_text("rating: 9")
    page.get_by_role("link", name="+16175550142").click()

    # The call: the flow version its attempt ran, the step trace, results and the recording.
    expect(page.get_by_role("heading", name="Call flow")).to_be_visible()
    expect(page.locator("#flow-attempt-1")).to_contain_text("flow version 2")
    trace = page.locator("table.trace tbody tr")
    expect(trace).to_have_count(len(SURVEY_TRACE))
    expect(trace.nth(1)).to_contain_text("value 9")
    expect(trace.nth(3)).to_contain_text("14.1 s")
    expect(trace.nth(3)).to_contain_text("25.6 s")
    expect(page.locator("#results")).to_contain_text("rating")
    expect(page.locator("#results")).to_contain_text("the recording of step comment")
    audio = page.locator("#recordings audio")
    expect(audio).to_have_count(1)
    page.wait_for_function(
        "document.querySelector('#recordings audio').readyState >= 1"
    )  # the browser read the WAV's header: it can play it
    duration = audio.evaluate("a => a.duration")
    assert abs(duration - COMMENT_S) < 0.05, duration
    assert page.url.endswith(f"/ui/calls/{call_id}")
    shot(page, "call-flow")
    page.locator("#flow-attempt-1").get_by_role("link", name="flow version 2").click()
    expect(page.get_by_role("heading", name="Flow version 2")).to_be_visible()
    assert problems == [], "\n".join(problems)
    context.close()


def test_the_queue_page_reads_at_phone_width(
    demo: tuple[Demo, dict[str, str]], browser: Browser
) -> None:
    from playwright.sync_api import expect

    server, credentials = demo
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(UI_TIMEOUT)
    page = context.new_page()
    page.goto(server.url + "/ui/login")
    page.fill("#email", credentials["email"])
    page.fill("#password", credentials["password"])
    page.keyboard.press("Enter")  # the keyboard alone signs in
    expect(page.get_by_role("heading", name="Deployments")).to_be_visible()
    page.goto(
        f"{server.url}/ui/deployments/{credentials['application_id']}/"
        f"{credentials['deployment_id']}"
    )
    expect(page.get_by_role("heading", name="Outbound Queue")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at phone width"
    shot(page, "outbound-queue-phone")
    context.close()


# A reminder call whose callee was first taken for a person, then revised to a voicemail when
# its beep came: the dialer's records written straight into the demo's database, as above.
REMINDER_FLOW = (
    Path(__file__).resolve().parents[2] / "examples" / "flows" / "appointment_reminder.yaml"
)
REVISED_TRACE = [
    {"step": "greet", "type": "say", "start_ms": 0, "end_ms": 5000, "outcome": "played"},
    {"step": "who", "type": "detect", "start_ms": 5000, "end_ms": 5000, "outcome": "voice"},
    {
        "step": "ask",
        "type": "menu",
        "start_ms": 5000,
        "end_ms": 6400,
        "outcome": "interrupted: answeringmachine",
    },
    {"step": "message", "type": "wait_beep", "start_ms": 6400, "end_ms": 6400, "outcome": "beep"},
    {"step": "leave", "type": "say", "start_ms": 6400, "end_ms": 13900, "outcome": "played"},
    {"step": "left", "type": "result", "start_ms": 13900, "end_ms": 13900, "outcome": "fields"},
    {"step": "done", "type": "hangup", "start_ms": 13900, "end_ms": 13900, "outcome": "hangup"},
]


def seed_revised_call(database_url: str, email: str) -> str:
    """A reminder call whose detection said voice at 1.2 s, then answeringmachine at 6.4 s
    (the beep): returns the call ID."""
    from outdial.calls import CalleeType
    from outdial.options import Schedule
    from outdial.policy import AttemptResult
    from outdial.store.newcalls import NewCall, new_call_ids
    from outdial.store.progress import AnswerOp, ClaimRef, DetectedOp, FinishOp
    from outdial.store.store import Store
    from outdial.trunks import TrunkKind

    clock = AheadClock()
    store = Store.open(database_url, clock=clock)
    try:
        app = store.create_application(email, "Reminders")
        store.save_flow(app.id, REMINDER_FLOW.read_text(), "yaml", email)
        trunk = store.create_trunk(
            "reminder-simulated", TrunkKind.SIMULATED, lines=2, cps=1.0, config='{"rules": []}'
        )
        deployment = store.create_deployment(app.id, name="Reminders", trunk_id=trunk.id)
        [call_id] = new_call_ids(1)
        params = json.dumps({"first_name": "Ann", "date": "Tuesday at 10"})
        store.queue_calls(
            deployment,
            Schedule(start_at=time.time() + AHEAD / 2),  # due for the demo's dialer later
            [NewCall(call_id, "+16175550166", None, None, "reminder-0166", params, None)],
        )
        clock.offset = AHEAD
        [claim] = store.claim(
            "browser-test", lease=60.0, limit=1, hours=lambda *_: ([], {}), trunk_ids=[trunk.id]
        )
        ref = ClaimRef(claim.call_pk, claim.attempt)
        answered = clock() + 3.0
        voice, machine = CalleeType.VOICE, CalleeType.ANSWERINGMACHINE
        store.apply_progress(
            [
                AnswerOp(ref, "browser-test", answered),
                DetectedOp(
                    ref, "browser-test", voice, "short greeting then silence", 1200, None,
                    answered + 1.2,
                ),
                DetectedOp(
                    ref, "browser-test", machine, "beep after greeting", 6400, 6400,
                    answered + 6.4,
                ),
            ]
        )  # fmt: skip
        store.merge_results(claim.call_pk, {"voicemail": "left"})
        store.record_flow_trace(claim.call_pk, claim.attempt, 1, REVISED_TRACE)
        result = AttemptResult(True, machine, "hung up by the call flow")
        store.apply_progress([FinishOp(ref, "browser-test", result, answered + 14.0)])
        return call_id
    finally:
        store.close()


def test_a_call_page_shows_a_revised_verdict(
    demo: tuple[Demo, dict[str, str]], browser: Browser
) -> None:
    from playwright.sync_api import expect

    server, credentials = demo
    call_id = seed_revised_call(server.database_url, credentials["email"])
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id="America/New_York"
    )
    context.set_default_timeout(UI_TIMEOUT)
    page = context.new_page()
    page.goto(server.url + "/ui/login")
    page.fill("#email", credentials["email"])
    page.fill("#password", credentials["password"])
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Deployments")).to_be_visible()
    page.goto(f"{server.url}/ui/calls/{call_id}")

    attempt = page.locator("#attempts-table tbody tr")
    expect(attempt).to_have_count(1)
    expect(attempt).to_contain_text("answeringmachine")  # the revised verdict is the type
    verdicts = page.locator("#verdicts-1")
    expect(verdicts).to_contain_text("first: voice at 1.2 s (short greeting then silence)")
    expect(verdicts).to_contain_text("revised: answeringmachine at 6.4 s (beep after greeting)")
    expect(page.locator("table.trace tbody tr").nth(2)).to_contain_text(
        "interrupted: answeringmachine"
    )
    shot(page, "call-revision")
    context.close()
