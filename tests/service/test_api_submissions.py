"""Upload -> background OCR -> readings, through the live API with the real engine."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ocr.layout import load_layout
from tests.service.conftest import (
    PDF_SAMPLE,
    PNG_SAMPLE,
    setup_campaign,
    upload,
    wait_for_submission,
)


@pytest.mark.tesseract
def test_create_submission_samples_processed(client: TestClient) -> None:
    campaign = setup_campaign(client, "S1", "S2")
    uploads = {}
    for unit, path in (("S1", PNG_SAMPLE), ("S2", PDF_SAMPLE)):
        response = upload(
            client, unit=unit, campaign=campaign, files=[(path.name, path.read_bytes())]
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert response.headers["location"] == f"/api/submissions/{body['id']}"
        assert body["status"] in ("received", "processing")
        assert body["progress"]["pages_done"] == 0
        assert body["files"][0]["name"] == path.name
        uploads[unit] = (body["id"], path)

    expected_keys = [
        f"{row}/{field}" for row, field in load_layout("llw-summary-2022").field_keys()
    ]
    for submission_id, path in uploads.values():
        final = wait_for_submission(client, submission_id)
        readings = client.get(f"/api/submissions/{submission_id}/readings").json()
        fields = readings["fields"]
        assert [f"{f['row_key']}/{f['field']}" for f in fields] == expected_keys
        flagged = [f for f in fields if f["flagged"]]
        assert final["status"] == ("needs_review" if flagged else "clean")
        assert all(f["reasons"] for f in flagged)
        assert all(f["version"] == 1 for f in fields)
        pages = 2 if path.suffix == ".pdf" else 1
        assert final["progress"] == {"pages_done": pages, "pages_total": pages}
        assert readings["pages"] == pages
        assert readings["files"] == [path.name]
        assert any(f["value"] is not None and f["page"] == pages for f in fields)
        job = client.get(final["links"]["job"]).json()  # type: ignore[index]
        assert (job["state"], job["attempt"], job["error"]) == ("done", 1, None)

    listed = client.get(f"/api/submissions?campaign={campaign}&unit=S2").json()
    assert [s["id"] for s in listed["items"]] == [uploads["S2"][0]]
    assert listed["total"] == 1


def test_list_submissions_paged_and_filtered(client: TestClient) -> None:
    campaign = setup_campaign(client, "S1", "S2", "S3")
    for i, unit in enumerate(("S1", "S2", "S3")):
        # Distinct corrupt PDFs: accepted at upload, their jobs fail fast without OCR.
        data = b"%PDF-1.4\n%broken " + bytes([i]) * 10
        assert (
            upload(client, unit=unit, campaign=campaign, files=[("a.pdf", data)]).status_code == 202
        )
    page = client.get("/api/submissions?limit=2&offset=1").json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (3, 2, 1, 2)
    assert client.get("/api/submissions?unit=S3").json()["total"] == 1
    assert client.get("/api/submissions?status=bogus").status_code == 422
