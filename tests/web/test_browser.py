"""The pages in a real browser: an uploader sends the sample scan, a reviewer fixes it.

The sample ``typed-clean-200dpi.png`` reads with one flagged field: the count of
section 1's total is printed as 13 while its rows add up to 15 (``sum_mismatch``).
The reviewer types ``15`` and Enter (three keystrokes) and the submission turns clean.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from tests.conftest import SAMPLES
from tests.service.conftest import TEST_PASSWORD
from tests.web.conftest import LiveServer

SAMPLE = SAMPLES / "typed-clean-200dpi.png"
READING_TIMEOUT_MS = 90_000


def sign_in(page: Any, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/login")
    page.fill("#username", username)
    page.fill("#password", TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)


def test_upload_then_review_by_keyboard(live_server: LiveServer, browser: Any, shots: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # The uploader: sign in, upload, follow the reading, see the flagged cell.
    sign_in(page, live_server, "thuky")
    assert page.url.endswith("/upload")
    page.screenshot(path=shots / "upload.png")
    page.set_input_files("#files", str(SAMPLE))
    page.click("#send")
    page.wait_for_selector("#read-done", timeout=READING_TIMEOUT_MS)
    flagged = page.locator(".cell.flagged")
    assert flagged.count() == 1
    assert page.locator('tr.flagged[data-row="1.total"] img.crop').count() == 1
    assert "Tổng không khớp" in flagged.first.inner_text()  # the reason, in Vietnamese
    page.screenshot(path=shots / "upload-read.png", full_page=True)
    submission_id = int(page.locator("#read-done").get_attribute("data-submission") or 0)

    # Refused file: the problem's message in the user's language.
    page.set_input_files(
        "#files", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}]
    )
    page.click("#send")
    page.wait_for_selector("#message .problem")
    assert page.locator("#message .problem .fix").count() == 1
    page.click("#sign-out")
    page.wait_for_url("**/login")
    page.screenshot(path=shots / "login.png")

    measure_next_item(live_server)

    # The reviewer: the queue shows the flagged total; "15" + Enter corrects it.
    sign_in(page, live_server, "canbo")
    assert page.url.endswith("/review")
    page.wait_for_selector("#item:not([hidden])")
    assert page.locator("#left").inner_text() == "1"
    assert page.locator("#proposed").inner_text() == "13"
    page.wait_for_function("document.querySelector('#crop').complete")
    page.screenshot(path=shots / "review.png")
    keystrokes = ["1", "5", "Enter"]
    for key in keystrokes:
        page.keyboard.press(key)
    page.wait_for_selector("#done:not([hidden])")
    assert page.locator("#left").inner_text() == "0"
    print(f"\nkeystrokes for one corrected field: {len(keystrokes)} ({' '.join(keystrokes)})")

    # The submission is clean, with the correction in its history.
    page.goto(f"{live_server.url}/submissions")
    row = page.locator("#submissions tbody tr").first
    assert "Hoàn tất" in row.inner_text()
    page.screenshot(path=shots / "submissions.png")
    page.goto(f"{live_server.url}/submissions/{submission_id}")
    page.wait_for_selector("#audit tbody tr")
    assert page.locator("#submission-status").inner_text() == "Hoàn tất"
    assert "reading_corrected" in page.locator("#audit").inner_text()
    page.wait_for_function("[...document.images].every((i) => i.complete)")
    page.screenshot(path=shots / "submission.png", full_page=True)

    # English on request, and the overview counts.
    page.click("#lang-switch")
    page.goto(f"{live_server.url}/overview")
    assert "Overview" in page.locator("h1").inner_text()
    cells = page.locator("#overview tbody tr").first
    assert cells.locator(".expected").inner_text() == "2"
    assert cells.locator(".submitted").inner_text() == "1"
    assert cells.locator(".clean").inner_text() == "1"
    page.screenshot(path=shots / "overview.png")

    # District totals: the corrected 15 is in D1's total; its sources show S1's cell.
    totals = page.locator(".campaign-totals table.totals.main")
    figure = totals.locator('tr[data-row="1.total"][data-field="count"] a.figure').first
    assert figure.inner_text() == "15"
    page.wait_for_function("[...document.images].every((i) => i.complete && i.naturalWidth)")
    page.screenshot(path=shots / "overview-totals.png", full_page=True)
    figure.click()
    page.wait_for_url("**/sources/D1/1.total/count")
    assert page.locator("#figure-total").inner_text() == "15"
    row = page.locator('#sources tr[data-unit="S1"]')
    assert row.locator(".value").inner_text() == "15"
    assert row.locator(".in-total").inner_text() == "Yes"
    assert page.locator('#missing li[data-unit="S2"]').count() == 1
    page.wait_for_function("[...document.images].every((i) => i.complete && i.naturalWidth)")
    page.screenshot(path=shots / "sources.png", full_page=True)
    row.locator("a").first.click()
    page.wait_for_url(f"**/submissions/{submission_id}")
    assert not errors, errors
    context.close()


def measure_next_item(server: LiveServer) -> None:
    """Server time of the call the review page makes to show the next item (< 100 ms)."""
    client = server.client
    assert client.get("/api/review/queue?limit=3").json()["total"] == 1  # warm up, not empty
    times = []
    for _ in range(20):
        start = time.perf_counter()
        response = client.get("/api/review/queue?limit=3")
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    median = statistics.median(times)
    print(
        f"\nnext review item (GET /api/review/queue?limit=3): median {median:.1f} ms, "
        f"max {max(times):.1f} ms over {len(times)} calls"
    )
    assert median < 100
