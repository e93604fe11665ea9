"""The operators' view of the queue: ``GET /api/queue`` and ``GET /metrics``, both databases.

Jobs are written directly (no OCR) with chosen states and timestamps, so the counts,
the longest wait and the page rates are known exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from service.app import create_app
from service.models import Campaign, Job, JobState, Submission, SubmissionStatus, Unit, utc_now
from service.routes.queue import queue_stats
from tests.service.conftest import make_settings, sign_in_admin


@pytest.fixture
def idle_client(tmp_path: Path, db_url: str) -> Iterator[TestClient]:
    """An app without a runner (jobs stay as written), signed in as an admin."""
    settings = make_settings(tmp_path, db_url, is_runner_enabled=False)
    with TestClient(create_app(settings)) as client:
        sign_in_admin(client)
        yield client


def _sessions(client: TestClient) -> sessionmaker[Session]:
    return client.app.state.sessions  # type: ignore[attr-defined, no-any-return]


def add_jobs(sessions: sessionmaker[Session], now: datetime, jobs: list[dict[str, object]]) -> None:
    """One submission and its job per entry: ``state``, ``pages``, ``finished`` (minutes
    ago), ``updated`` (minutes ago), ``not_before`` (minutes ago, negative: ahead)."""
    with sessions.begin() as session:
        unit = Unit(code="S1", name="Trường S1", kind="school")
        campaign = Campaign(name="Tuần lễ 2022", layout_id="llw-summary-2022", year=2022)
        session.add_all([unit, campaign])
        session.flush()
        for version, spec in enumerate(jobs, start=1):
            state = str(spec["state"])
            status = {
                JobState.DONE: SubmissionStatus.CLEAN,
                JobState.FAILED: SubmissionStatus.FAILED,
                JobState.RUNNING: SubmissionStatus.PROCESSING,
                JobState.QUEUED: SubmissionStatus.RECEIVED,
            }[JobState(state)]
            submission = Submission(
                unit_id=unit.id,
                campaign_id=campaign.id,
                layout_id="llw-summary-2022",
                version=version,
                files_sha256=f"{version:064x}",
                status=status,
                pages_total=spec.get("pages"),
            )
            session.add(submission)
            session.flush()

            updated = _ago(spec, "updated", now) or now
            session.add(
                Job(
                    submission_id=submission.id,
                    state=state,
                    attempt_limit=3,
                    created_at=updated,
                    updated_at=updated,
                    finished_at=_ago(spec, "finished", now),
                    not_before=_ago(spec, "not_before", now),
                )
            )


def _ago(spec: dict[str, object], key: str, now: datetime) -> datetime | None:
    minutes = spec.get(key)
    if minutes is None:
        return None
    assert isinstance(minutes, int | float)
    return now - timedelta(minutes=minutes)


def test_empty_queue(idle_client: TestClient) -> None:
    response = idle_client.get("/api/queue")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["jobs"] == {"queued": 0, "running": 0, "failed": 0, "done": 0}
    assert body["oldest_queued_seconds"] == 0
    assert body["pages_per_minute"] == {"last_5_minutes": 0, "last_60_minutes": 0}


def test_queue_counts_wait_and_rates(idle_client: TestClient) -> None:
    sessions = _sessions(idle_client)
    now = utc_now()
    add_jobs(
        sessions,
        now,
        [
            {"state": "queued", "updated": 10},  # waiting 10 minutes: the oldest
            {"state": "queued", "updated": 30, "not_before": 2},  # retry due 2 minutes ago
            {"state": "queued", "updated": 1, "not_before": -5},  # backoff not over yet
            {"state": "running", "pages": 2, "updated": 1},
            {"state": "failed", "pages": 4, "finished": 3},  # failed pages are not "read"
            {"state": "done", "pages": 3, "finished": 2},  # in both windows
            {"state": "done", "pages": 2, "finished": 4.5},  # in both windows
            {"state": "done", "pages": 60, "finished": 30},  # in the last hour only
            {"state": "done", "pages": 7, "finished": 120},  # in neither
        ],
    )
    with sessions() as session:
        stats = queue_stats(session, now=now)
    assert stats.jobs == {"queued": 3, "running": 1, "failed": 1, "done": 4}
    assert stats.oldest_queued_seconds == pytest.approx(600, abs=0.01)
    assert stats.pages_per_minute == {5: 1.0, 60: pytest.approx(65 / 60, abs=0.001)}
    assert stats.pages_read_total == 72
    assert stats.submissions["clean"] == 4
    assert stats.submissions["needs_review"] == 0

    body = idle_client.get("/api/queue").json()  # a moment later, through the API
    assert body["jobs"] == {"queued": 3, "running": 1, "failed": 1, "done": 4}
    assert 600 <= body["oldest_queued_seconds"] < 660
    assert body["pages_per_minute"]["last_5_minutes"] == 1.0
    assert body["pages_per_minute"]["last_60_minutes"] == pytest.approx(65 / 60, abs=0.001)


def _samples(text: str) -> dict[str, float]:
    """The sample lines of a Prometheus text exposition, by name with labels."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_metrics_prometheus_text(idle_client: TestClient) -> None:
    add_jobs(
        _sessions(idle_client),
        utc_now(),
        [
            {"state": "queued", "updated": 2},
            {"state": "done", "pages": 3, "finished": 1},
            {"state": "done", "pages": 2, "finished": 90},
            {"state": "failed", "pages": 1, "finished": 1},
        ],
    )
    response = idle_client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert "# TYPE formscan_jobs gauge" in text
    assert "# TYPE formscan_oldest_queued_seconds gauge" in text
    assert "# TYPE formscan_pages_read_total counter" in text
    samples = _samples(text)
    assert samples['formscan_jobs{state="queued"}'] == 1
    assert samples['formscan_jobs{state="running"}'] == 0
    assert samples['formscan_jobs{state="done"}'] == 2
    assert samples['formscan_jobs{state="failed"}'] == 1
    assert 120 <= samples["formscan_oldest_queued_seconds"] < 180
    assert samples["formscan_pages_read_total"] == 5
    assert samples['formscan_submissions_total{status="clean"}'] == 2
    assert samples['formscan_submissions_total{status="failed"}'] == 1
    assert samples['formscan_submissions_total{status="received"}'] == 1
    assert samples['formscan_submissions_total{status="processing"}'] == 0


def test_metrics_need_an_admin_unless_public(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(tmp_path, db_url, is_runner_enabled=False)
    with TestClient(create_app(settings)) as client:
        response = client.get("/metrics")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert client.get("/api/queue").status_code == 401

    public = make_settings(tmp_path, db_url, is_runner_enabled=False, metrics_public=True)
    with TestClient(create_app(public)) as client:
        response = client.get("/metrics")
        assert response.status_code == 200, response.text
        assert "formscan_jobs" in response.text
        assert client.get("/api/queue").status_code == 401  # the JSON view stays admin-only


def test_metrics_public_setting_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.settings import Settings

    monkeypatch.setenv("FORMSCAN_METRICS_PUBLIC", "true")
    assert Settings().metrics_public is True
    monkeypatch.delenv("FORMSCAN_METRICS_PUBLIC")
    assert Settings().metrics_public is False
