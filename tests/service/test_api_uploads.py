"""Refusals at upload (413, 415, 422), failures in the job (encrypted PDF), duplicates, versions."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.app import create_app
from service.db import create_db_engine
from service.models import AuditEvent, Job
from service.settings import Settings
from tests.service.conftest import (
    PNG_SAMPLE,
    make_settings,
    setup_campaign,
    sign_in_admin,
    upload,
    wait_for_submission,
)

A4_PT = (595, 842)


def encrypted_pdf(text: str = "MAU TONG HOP SO LIEU") -> bytes:
    """A one-page PDF protected by a user password (reportlab's encryption)."""
    import io

    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4_PT, encrypt="secret")
    pdf.drawString(72, 720, text)
    pdf.save()
    return out.getvalue()


def stored_blobs(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.blob_dir.rglob("*") if p.is_file())


def count_jobs(settings: Settings) -> int:
    engine = create_db_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(Job)) or 0)
    finally:
        engine.dispose()


# 100 kB: refused from Content-Length alone; 200 kB: the body is within the framing
# allowance, so the refusal comes while the file streams in.
@pytest.mark.parametrize("limit", [100_000, 200_000])
def test_create_submission_over_size_limit_413(tmp_path: Path, db_url: str, limit: int) -> None:
    settings = make_settings(tmp_path, db_url, max_upload_bytes=limit)
    with TestClient(create_app(settings)) as client:
        sign_in_admin(client)
        campaign = setup_campaign(client, "S1")
        data = PNG_SAMPLE.read_bytes()  # 238 kB
        response = upload(client, unit="S1", campaign=campaign, files=[("scan.png", data)])
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "upload_too_large"
        assert f"{limit} bytes" in problem["detail"]
        assert client.get("/api/submissions").json()["total"] == 0
    assert stored_blobs(settings) == []
    assert list(settings.tmp_dir.iterdir()) == []


def test_create_submission_text_named_pdf_415(client: TestClient) -> None:
    campaign = setup_campaign(client, "S1")
    response = upload(
        client, unit="S1", campaign=campaign, files=[("report.pdf", b"Bao cao tuan le\n" * 20)]
    )
    assert response.status_code == 415
    problem = response.json()
    assert problem["code"] == "unsupported_file_type"
    assert problem["detail"].startswith("report.pdf: ")
    assert problem["fix"]
    assert problem["type"] == "urn:formscan:problem:unsupported_file_type"


def test_create_submission_empty_file_422(client: TestClient, settings: Settings) -> None:
    campaign = setup_campaign(client, "S1")
    response = upload(client, unit="S1", campaign=campaign, files=[("scan.jpg", b"")])
    assert response.status_code == 422
    assert response.json()["code"] == "empty_file"
    assert stored_blobs(settings) == []


def test_create_submission_unknown_unit_422(client: TestClient) -> None:
    campaign = setup_campaign(client, "S1")
    response = upload(client, unit="NOPE", campaign=campaign, files=[("a.pdf", encrypted_pdf())])
    assert (response.status_code, response.json()["code"]) == (422, "unknown_unit")
    fields_only = {"unit": (None, "S1"), "campaign": (None, str(campaign))}
    response = client.post("/api/submissions", files=fields_only)
    assert (response.status_code, response.json()["code"]) == (422, "no_files")


def test_create_submission_encrypted_pdf_fails_job(client: TestClient, settings: Settings) -> None:
    campaign = setup_campaign(client, "S1")
    response = upload(client, unit="S1", campaign=campaign, files=[("form.pdf", encrypted_pdf())])
    assert response.status_code == 202, response.text
    submission = response.json()

    final = wait_for_submission(client, submission["id"])
    assert final["status"] == "failed"
    assert final["error"]["code"] == "encrypted_pdf"  # type: ignore[index]
    assert "password" in final["error"]["detail"]  # type: ignore[index]
    assert final["error"]["fix"]  # type: ignore[index]
    job = client.get(submission["links"]["job"]).json()
    assert (job["state"], job["attempt"], job["error"]["code"]) == ("failed", 1, "encrypted_pdf")
    # Nothing uploaded is lost: the original is in the store under its digest.
    sha = submission["files"][0]["sha256"]
    assert [p.name for p in stored_blobs(settings)] == [sha]

    retried = client.post(f"/api/jobs/{job['id']}/retry")
    assert retried.status_code == 202
    assert retried.json()["attempt_limit"] == 1 + settings.max_attempts
    final = wait_for_submission(client, submission["id"])
    assert final["error"]["code"] == "encrypted_pdf"  # type: ignore[index]
    assert client.get(submission["links"]["job"]).json()["attempt"] == 2
    again = client.post(f"/api/jobs/{job['id']}/retry")
    assert again.status_code == 202
    wait_for_submission(client, submission["id"])


def test_retry_job_not_failed_409(tmp_path: Path, db_url: str) -> None:
    # Without a runner the job stays queued.
    settings = make_settings(tmp_path, db_url, is_runner_enabled=False)
    with TestClient(create_app(settings)) as client:
        sign_in_admin(client)
        campaign = setup_campaign(client, "S1")
        files = [("a.pdf", encrypted_pdf())]
        body = upload(client, unit="S1", campaign=campaign, files=files).json()
        job_url = body["links"]["job"]
        assert client.get(job_url).json()["state"] == "queued"
        response = client.post(f"{job_url}/retry")
        assert (response.status_code, response.json()["code"]) == (409, "job_not_failed")
        assert client.post("/api/jobs/999/retry").status_code == 404


def test_create_submission_duplicate_returns_existing(
    client: TestClient, settings: Settings
) -> None:
    campaign = setup_campaign(client, "S1", "S2")
    data = encrypted_pdf()
    first = upload(client, unit="S1", campaign=campaign, files=[("form.pdf", data)])
    assert first.status_code == 202
    again = upload(client, unit="S1", campaign=campaign, files=[("renamed.pdf", data)])
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    assert count_jobs(settings) == 1
    # The same file from another unit is that unit's own submission (one blob, two rows).
    other = upload(client, unit="S2", campaign=campaign, files=[("form.pdf", data)])
    assert other.status_code == 202
    assert count_jobs(settings) == 2
    assert len(stored_blobs(settings)) == 1


def test_create_submission_new_version_replaces_old(client: TestClient, settings: Settings) -> None:
    campaign = setup_campaign(client, "S1")
    first = upload(client, unit="S1", campaign=campaign, files=[("v1.pdf", encrypted_pdf("v1"))])
    second = upload(client, unit="S1", campaign=campaign, files=[("v2.pdf", encrypted_pdf("v2"))])
    assert (first.status_code, second.status_code) == (202, 202)
    old, new = first.json(), second.json()
    assert (old["version"], new["version"], new["replaces_id"]) == (1, 2, old["id"])
    assert client.get(f"/api/submissions/{old['id']}").status_code == 200
    assert client.get("/api/submissions?unit=S1").json()["total"] == 2
    assert len(stored_blobs(settings)) == 2
    engine = create_db_engine(settings.database_url)
    with engine.connect() as conn:
        actions = conn.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    engine.dispose()
    assert actions.count("submission_received") == 2
    for body in (old, new):
        wait_for_submission(client, body["id"])


def test_create_submission_not_multipart_422(client: TestClient) -> None:
    response = client.post("/api/submissions", json={"unit": "S1"})
    assert (response.status_code, response.json()["code"]) == (422, "not_multipart")


def test_create_submission_unit_not_expected_422(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(tmp_path, db_url, is_runner_enabled=False)
    data = PNG_SAMPLE.read_bytes()
    with TestClient(create_app(settings)) as client:
        sign_in_admin(client)
        expecting = setup_campaign(client, "S1")  # expects S1 only
        response = client.post(
            "/api/units",
            json={"code": "S2", "name": "Trường S2", "kind": "school", "parent_code": "D1"},
        )
        assert response.status_code == 201
        response = upload(client, unit="S2", campaign=expecting, files=[("scan.png", data)])
        assert response.status_code == 422
        assert response.json()["code"] == "unit_not_expected"
        assert (
            upload(client, unit="S1", campaign=expecting, files=[("scan.png", data)]).status_code
            == 202
        )
        open_campaign = client.post("/api/campaigns", json={"name": "Mở", "year": 2023})
        assert open_campaign.status_code == 201
        campaign = int(open_campaign.json()["id"])  # expects no particular units: all may report
        response = upload(client, unit="S2", campaign=campaign, files=[("scan.png", data)])
        assert response.status_code == 202
    assert count_jobs(settings) == 2
