"""The web UI in a real browser: Debian's Chromium driven by Playwright, against `outdial demo`.

An operator signs in, queues a CSV with good and bad rows, watches the calls complete on the
simulated trunk without reloading, filters, exports, opens a call, cancels a queue and signs
out. Each page is saved to docs/screenshots/ for the README. Chromium must be installed
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
        self.log_path = workdir / "demo.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                str(OUTDIAL),
                "demo",
                "--database-url",
                f"sqlite:///{database}",
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
