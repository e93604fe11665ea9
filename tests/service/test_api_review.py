"""The review API on a committed sample: queue, images, decisions, audit.

``typed-clean-200dpi.png`` has a clerk's total that does not add up: 1.total/count is
flagged ``sum_mismatch``, which the tests read from the readings, not assume. The
queue-to-clean flow and the page boxes run on the real engine; the decision tests,
which test review and not reading, read with ``TruthReader`` (the sample's truth file,
the same rules applied), as fast as a database round trip.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from ocr.clean import clean_page
from ocr.load import InputFile, load_document
from ocr.types import Box
from service.page_images import crop_rect
from tests.service.conftest import PNG_SAMPLE, setup_campaign, upload, wait_for_submission

pytestmark = pytest.mark.tesseract

Json = dict[str, Any]
SUM_PARTS = [f"1.{i:02d}" for i in range(1, 15)]


def processed(client: TestClient) -> tuple[int, list[Json]]:
    """Upload the sample for unit S1; return the submission id and its fields."""
    campaign = setup_campaign(client, "S1")
    response = upload(
        client, unit="S1", campaign=campaign, files=[(PNG_SAMPLE.name, PNG_SAMPLE.read_bytes())]
    )
    assert response.status_code == 202, response.text
    submission_id = int(response.json()["id"])
    assert wait_for_submission(client, submission_id)["status"] == "needs_review"
    fields = client.get(f"/api/submissions/{submission_id}/readings").json()["fields"]
    return submission_id, fields


def field(fields: list[Json], row_key: str, name: str = "count") -> Json:
    return next(f for f in fields if (f["row_key"], f["field"]) == (row_key, name))


def png(client: TestClient, url: str) -> np.ndarray:
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)))


def decide(client: TestClient, reading: Json, **body: Any) -> Any:
    payload = {"version": reading["version"], **body}
    return client.post(f"/api/readings/{reading['id']}/decisions", json=payload)


def test_review_sample_queue_images_decisions_until_clean(client: TestClient) -> None:
    submission_id, fields = processed(client)
    flagged = [f for f in fields if f["flagged"]]
    assert "sum_mismatch" in field(fields, "1.total")["reasons"]

    queue = client.get("/api/review/queue").json()
    assert queue["total"] == len(flagged)
    assert {i["reading_id"] for i in queue["items"]} == {f["id"] for f in flagged}
    item = next(i for i in queue["items"] if i["row_key"] == "1.total")
    assert item["row_label"].startswith("Tổng số")
    assert (item["unit"]["code"], item["value"], item["field"]) == ("S1", 13, "count")
    assert item["page_url"] == f"/api/submissions/{submission_id}/pages/1.png"
    query = "/api/review/queue?unit=S1&district=D1&reason=sum_mismatch&row_key=1.total"
    assert [i["reading_id"] for i in client.get(query).json()["items"]] == [item["reading_id"]]
    assert client.get("/api/review/queue?unit=S9").json()["total"] == 0

    page = png(client, item["page_url"])
    assert page.ndim == 2 and page.shape[0] > 1000  # grayscale, whole page at 200 dpi
    overlay = png(client, item["page_url"] + "?overlay=1")
    assert overlay.shape == (*page.shape, 3)
    x, y, w, h = field(fields, "1.total")["box"]
    crop = png(client, item["crop_url"])
    rect = crop_rect(Box(x, y, w, h), width_px=page.shape[1], height_px=page.shape[0])
    assert crop.shape == (rect.height, rect.width)
    assert rect.height == h + 2 * round(0.4 * h) and rect.width > w

    for reading in flagged:  # the clerk's total is what the paper says: confirm it
        response = decide(client, reading, action="confirm", reason="as on paper")
        assert response.status_code == 200, response.text
    assert client.get(f"/api/submissions/{submission_id}").json()["status"] == "clean"
    assert client.get("/api/review/queue").json()["total"] == 0

    audit = client.get(f"/api/submissions/{submission_id}/audit").json()
    decisions = [e for e in audit if e["action"] == "reading_confirmed"]
    assert len(decisions) == len(flagged)
    total_events = client.get(f"/api/readings/{field(fields, '1.total')['id']}/audit").json()
    assert [e["action"] for e in total_events] == ["reading_confirmed"]
    event = total_events[0]
    assert (event["actor"], event["reason"], event["by_uploader"]) == (
        "admin",
        "as on paper",
        False,
    )
    assert (event["old"]["value"], event["new"]["value"]) == (13, 13)
    assert (event["old"]["status"], event["new"]["status"]) == ("needs_review", "ok")
    assert audit[-1]["action"] == "status_changed"
    assert audit[-1]["new"] == {"status": "clean"}


def test_page_image_boxes_land_on_cells(client: TestClient) -> None:
    """The stored page is the frame the engine read in: each box holds its cell's ink."""
    submission_id, fields = processed(client)
    stored = png(client, f"/api/submissions/{submission_id}/pages/1.png")
    pages = load_document([InputFile(name=PNG_SAMPLE.name, data=PNG_SAMPLE.read_bytes())])
    assert np.array_equal(stored, clean_page(pages[0]).image)
    for f in fields:
        if f["box"] is None:
            continue
        x, y, w, h = f["box"]
        inset = max(4, h // 6)  # keep the ruling lines out
        inside = stored[y + inset : y + h - inset, x + inset : x + w - inset]
        has_ink = bool((inside < 128).sum() > 10)
        assert has_ink == (f["value"] is not None), f"{f['row_key']}/{f['field']}"


def test_create_decision_correct_addend_clears_sum_mismatch(fake_client: TestClient) -> None:
    client = fake_client
    _, fields = processed(client)
    total = field(fields, "1.total")
    parts = [field(fields, key) for key in SUM_PARTS]
    excess = sum(p["value"] or 0 for p in parts) - total["value"]
    assert excess != 0 and "sum_mismatch" in total["reasons"]
    # An addend that, corrected, makes the parts add up to the clerk's total.
    addend = next(p for p in parts if (p["value"] or 0) - excess >= 0 and p["value"])
    response = decide(client, addend, action="correct", value=addend["value"] - excess)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["reading"]["value"], body["reading"]["decision"]) == (
        addend["value"] - excess,
        "correct",
    )
    rechecked = {r["id"]: r for r in body["rechecked"]}
    assert total["id"] in rechecked
    after = client.get(f"/api/readings/{total['id']}").json()
    assert "sum_mismatch" not in after["reasons"]
    assert after["version"] == total["version"] + 1
    still_open = [f for f in fields if f["flagged"] and f["id"] != total["id"]]
    assert body["submission_status"] == ("needs_review" if still_open else "clean")
    audit = client.get(f"/api/readings/{total['id']}/audit").json()
    assert [e["action"] for e in audit] == ["flags_rechecked"]
    assert audit[0]["old"]["reasons"] == total["reasons"]


def test_create_decision_same_version_conflict_409(fake_client: TestClient) -> None:
    client = fake_client
    _, fields = processed(client)
    total = field(fields, "1.total")
    first = decide(client, total, action="correct", value=15)
    second = decide(client, total, action="confirm")
    assert first.status_code == 200, first.text
    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["code"] == "version_conflict"
    stored = client.get(f"/api/readings/{total['id']}").json()
    assert (stored["value"], stored["decided_by"], stored["version"]) == (15, "admin", 2)
    assert decide(client, total, action="correct", value=None).status_code == 422
