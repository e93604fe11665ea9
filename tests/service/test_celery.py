"""Celery mode against the real Redis and PostgreSQL: two ``formscan worker`` processes.

Skipped when Redis (127.0.0.1:6379) or PostgreSQL is not reachable, except under
``CI=true``, where that fails. Each test uses its own Celery queue and database schema,
so parallel runs do not take each other's messages or jobs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ocr.clean import clean_page
from ocr.layout import load_layout
from ocr.load import InputFile, load_document
from ocr.pipeline import extract_cleaned
from service import repository
from service.app import create_app
from service.models import AuditEvent, Job
from service.settings import Settings
from tests.conftest import SAMPLES
from tests.service.conftest import (
    _postgres_schema_url,
    make_settings,
    setup_campaign,
    sign_in_admin,
    upload,
    wait_for_submission,
)

REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
REDIS_DB = 7  # away from the default database 0; the queue name is unique per test
REPO_ROOT = Path(__file__).resolve().parents[2]
SCANS = ("typed-clean-200dpi.png", "born-digital-one-page.pdf", "typed-150dpi-low-quality.jpg")
LAYOUT = "llw-summary-2022"
EXPECTED_READINGS = 59
WAIT_S = 120.0


@pytest.fixture
def broker_url() -> str:
    import redis

    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        reason = f"Redis at {REDIS_HOST}:{REDIS_PORT} not reachable"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the Celery tests must run)", pytrace=False)
        pytest.skip(reason)
    return url


@pytest.fixture
def pg_url(broker_url: str) -> Iterator[str]:
    yield from _postgres_schema_url()


@pytest.fixture
def celery_settings(tmp_path: Path, pg_url: str, broker_url: str) -> Iterator[Settings]:
    import redis

    queue = f"formscan-test-{uuid.uuid4().hex[:12]}"
    settings = make_settings(
        tmp_path,
        pg_url,
        broker_url=broker_url,
        celery_queue=queue,
        lease_seconds=3.0,
        task_time_limit_seconds=120.0,
        visibility_timeout_seconds=600.0,
    )
    yield settings
    client = redis.Redis.from_url(broker_url)
    client.delete(queue)
    client.close()


def _worker_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FORMSCAN_DATA_DIR=str(settings.data_dir),
        FORMSCAN_DATABASE_URL=settings.database_url,
        FORMSCAN_BROKER_URL=str(settings.broker_url),
        FORMSCAN_CELERY_QUEUE=settings.celery_queue,
        FORMSCAN_LEASE_SECONDS=str(settings.lease_seconds),
        FORMSCAN_RETRY_BACKOFF_SECONDS=str(settings.retry_backoff_seconds),
        FORMSCAN_TASK_TIME_LIMIT_SECONDS=str(settings.task_time_limit_seconds),
        FORMSCAN_VISIBILITY_TIMEOUT_SECONDS=str(settings.visibility_timeout_seconds),
        PYTHONPATH=str(REPO_ROOT),
    )
    return env


@contextmanager
def workers(settings: Settings, log_dir: Path, count: int = 2) -> Iterator[dict[str, int]]:
    """``count`` worker processes (one OCR process each); yields node name -> pid."""
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for i in range(count):
            name = f"w{i}@{settings.celery_queue}"
            log = (log_dir / f"worker{i}.log").open("wb")
            procs[name] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "service.cli",
                    "worker",
                    "--concurrency",
                    "1",
                    "--name",
                    name,
                ],
                cwd=REPO_ROOT,
                env=_worker_env(settings),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killed with its children
            )
            log.close()
        yield {name: proc.pid for name, proc in procs.items()}
    finally:
        for proc in procs.values():
            _signal_group(proc, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=10)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


@pytest.fixture(scope="module")
def embedded_readings() -> dict[str, list[tuple[object, ...]]]:
    """What the embedded runner's job function reads in each scan, run in-process."""
    result = {}
    for name in SCANS:
        data = (SAMPLES / name).read_bytes()
        pages = load_document([InputFile(name=name, data=data)])
        extraction = extract_cleaned([clean_page(p) for p in pages], load_layout(LAYOUT))
        result[name] = [
            (r.row_key, r.field, r.value, r.text, str(r.status)) for r in extraction.readings
        ]
    return result


def stored_readings(
    sessions: sessionmaker[Session], submission_id: int
) -> list[tuple[object, ...]]:
    with sessions() as session:
        return [
            (r.row_key, r.field, r.value, r.text, r.status)
            for r in repository.list_readings(session, submission_id)
        ]


def recorded_sets(sessions: sessionmaker[Session], submission_id: int) -> int:
    """How many times a set of readings was written for the submission (audit trail)."""
    with sessions() as session:
        return session.scalar(
            select(func.count()).where(
                AuditEvent.submission_id == submission_id,
                AuditEvent.action == "readings_recorded",
            )
        )


def job_of(sessions: sessionmaker[Session], submission_id: int) -> Job:
    with sessions() as session:
        return session.scalars(select(Job).where(Job.submission_id == submission_id)).one()


def upload_scan(client: TestClient, campaign: int, unit: str, name: str) -> int:
    response = upload(
        client, unit=unit, campaign=campaign, files=[(name, (SAMPLES / name).read_bytes())]
    )
    assert response.status_code in (200, 201, 202), response.text
    return int(response.json()["id"])


def test_celery_workers_process_each_submission_once(
    celery_settings: Settings,
    tmp_path: Path,
    embedded_readings: dict[str, list[tuple[object, ...]]],
) -> None:
    with TestClient(create_app(celery_settings)) as client:
        sign_in_admin(client)
        sessions = client.app.state.sessions  # type: ignore[attr-defined]
        units = [f"S{i}" for i in range(len(SCANS))]
        campaign = setup_campaign(client, *units)
        with workers(celery_settings, tmp_path):
            ids = {
                name: upload_scan(client, campaign, unit, name)
                for unit, name in zip(units, SCANS, strict=True)
            }
            bodies = {
                name: wait_for_submission(client, sid, timeout_s=WAIT_S)
                for name, sid in ids.items()
            }
        for name, sid in ids.items():
            assert bodies[name]["status"] in ("clean", "needs_review"), bodies[name]
            job = job_of(sessions, sid)
            assert (job.state, job.attempt) == ("done", 1)
            assert job.claimed_by is not None
            assert job.claimed_by.split(":")[0].endswith(celery_settings.celery_queue)
            assert recorded_sets(sessions, sid) == 1
            readings = stored_readings(sessions, sid)
            assert len(readings) == EXPECTED_READINGS
            assert readings == embedded_readings[name]


def test_celery_worker_killed_mid_job_is_taken_over(
    celery_settings: Settings,
    tmp_path: Path,
    embedded_readings: dict[str, list[tuple[object, ...]]],
) -> None:
    name = SCANS[0]
    with TestClient(create_app(celery_settings)) as client:
        sign_in_admin(client)
        sessions = client.app.state.sessions  # type: ignore[attr-defined]
        campaign = setup_campaign(client, "S1")
        with workers(celery_settings, tmp_path) as pids:
            sid = upload_scan(client, campaign, "S1", name)
            deadline = time.monotonic() + WAIT_S
            job = job_of(sessions, sid)
            while job.state != "running":
                assert job.state == "queued", f"job reached {job.state} before the kill"
                assert time.monotonic() < deadline, "no worker claimed the job"
                time.sleep(0.02)
                job = job_of(sessions, sid)
            assert job.claimed_by is not None
            node = job.claimed_by.split(":")[0]
            os.killpg(pids[node], signal.SIGKILL)  # the worker and its OCR process
            body = wait_for_submission(client, sid, timeout_s=WAIT_S)
        assert body["status"] in ("clean", "needs_review"), body
        job = job_of(sessions, sid)
        assert job.state == "done"
        assert job.attempt >= 2
        assert job.claimed_by is not None
        assert not job.claimed_by.startswith(node + ":")
        assert recorded_sets(sessions, sid) == 1
        assert stored_readings(sessions, sid) == embedded_readings[name]
