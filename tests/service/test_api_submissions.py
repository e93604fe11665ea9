"""Upload -> background job -> readings, through the live API.

The jobs read with ``TruthReader`` (the sample's ground truth, no OCR): these tests are
about what the service does with readings; reading itself is tested in ``tests/e2e``,
and with the real engine through the API in ``test_api_review.py``.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from ocr.errors import EngineTimeoutError
from ocr.layout import load_layout
from service.app import create_app
from service.settings import Settings
from tests.service.conftest import (
    PDF_SAMPLE,
    PNG_SAMPLE,
    setup_campaign,
    sign_in_admin,
    upload,
    wait_for_submission,
)
from tests.service.fakes import TruthReader


def test_create_submission_samples_processed(fake_client: TestClient) -> None:
    client = fake_client
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


def test_create_submission_engine_timeout_retried_then_failed(settings: Settings) -> None:
    reader = TruthReader(error=EngineTimeoutError("Tesseract did not answer in 30 s."))
    with TestClient(create_app(settings, reader=reader)) as client:
        sign_in_admin(client)
        campaign = setup_campaign(client, "S1")
        files = [(PNG_SAMPLE.name, PNG_SAMPLE.read_bytes())]
        submission = upload(client, unit="S1", campaign=campaign, files=files).json()
        final = wait_for_submission(client, submission["id"])
        assert final["status"] == "failed"
        assert final["error"]["code"] == "engine_timeout"  # type: ignore[index]
        job = client.get(submission["links"]["job"]).json()
        assert (job["state"], job["attempt"]) == ("failed", settings.max_attempts)
        assert client.get(f"/api/submissions/{submission['id']}/readings").json()["fields"] == []
