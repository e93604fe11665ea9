"""Celery mode against the real Redis and PostgreSQL: two ``formscan worker`` processes.

Skipped when Redis (127.0.0.1:6379) or PostgreSQL is not reachable, except under
``CI=true``, where that fails. Each test uses its own Celery queue and database schema,
so parallel runs do not take each other's messages or jobs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bench.cluster import start_worker, stop_process
from ocr.clean import clean_page
from ocr.layout import load_layout
from ocr.load import InputFile, load_document
from ocr.pipeline import extract_cleaned
from service import store
from service.app import create_app
from service.models import AuditEvent, Job, Reading, Submission
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

SCANS = ("typed-clean-200dpi.png", "born-digital-one-page.pdf", "typed-150dpi-low-quality.jpg")
# Six forms (two of them two pages long) keep both workers busy while killed
# attempts wait for their leases to run out, so three kills land before the batch ends.
CHAOS_SCANS = (
    "typed-two-page-repeated-header.pdf",
    "born-digital-two-page.pdf",
    "typed-clean-200dpi.png",
    "typed-photo.jpg",
    "typed-fax.pdf",
    "typed-150dpi-low-quality.jpg",
)
KILLS = 3
LAYOUT = "llw-summary-2022"
EXPECTED_READINGS = 59
WAIT_S = 120.0


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


@contextmanager
def workers(settings: Settings, log_dir: Path, count: int = 2) -> Iterator[dict[str, int]]:
    """``count`` worker processes (one OCR process each); yields node name -> pid."""
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for i in range(count):
            name = f"w{i}@{settings.celery_queue}"
            procs[name] = start_worker(settings, name=name, log_path=log_dir / f"worker{i}.log")
        yield {name: proc.pid for name, proc in procs.items()}
    finally:
        for proc in procs.values():
            stop_process(proc)


@pytest.fixture(scope="module")
def embedded_readings() -> dict[str, list[tuple[object, ...]]]:
    """What the embedded runner's job function reads in each scan, run in-process."""
    result = {}
    for name in sorted({*SCANS, *CHAOS_SCANS}):
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
            for r in store.list_readings(session, submission_id)
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


class WorkerPool:
    """Named ``formscan worker`` processes that a test kills and replaces."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings, self.log_dir = settings, log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> str:
        name = f"w{len(self.procs)}@{self.settings.celery_queue}"
        log_path = self.log_dir / f"worker{len(self.procs)}.log"
        self.procs[name] = start_worker(self.settings, name=name, log_path=log_path)
        return name

    def kill(self, name: str) -> None:
        """SIGKILL the worker and its OCR process: no warm shutdown, no message ack."""
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            stop_process(proc)


def page_in_progress(
    sessions: sessionmaker[Session], ids: list[int], spared: set[tuple[int, int]]
) -> tuple[int, int, str, int] | None:
    """(submission, attempt, node, pages_done) of a job reading a page now, not in ``spared``."""
    with sessions() as session:
        rows = session.execute(
            select(Job.submission_id, Job.attempt, Job.claimed_by, Submission.pages_done)
            .join(Submission, Submission.id == Job.submission_id)
            .where(
                Job.submission_id.in_(ids),
                Job.state == "running",
                Submission.pages_total.is_not(None),
                Submission.pages_done < Submission.pages_total,
            )
        ).all()
    for sid, attempt, claimed_by, pages_done in rows:
        if (sid, attempt) not in spared and claimed_by:
            return sid, attempt, claimed_by.split(":")[0], pages_done
    return None


def audit_actions(sessions: sessionmaker[Session], submission_id: int) -> list[AuditEvent]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.submission_id == submission_id)
                .order_by(AuditEvent.id)
            )
        )


def kill_mid_page(
    sessions: sessionmaker[Session], pool: WorkerPool, ids: list[int]
) -> set[tuple[int, int]]:
    """Kill the worker of a page in progress ``KILLS`` times; the killed (submission, attempt)s.

    A kill counts when the killed attempt never recorded its readings (it was in the
    middle of its work); after each, a new worker replaces the dead one.
    """
    killed: set[tuple[int, int]] = set()
    tried: set[tuple[int, int]] = set()
    deadline = time.monotonic() + WAIT_S
    while len(killed) < KILLS:
        assert time.monotonic() < deadline, f"only {len(killed)} kills before the batch ended"
        target = page_in_progress(sessions, ids, tried)
        if target is None:
            time.sleep(0.02)
            continue
        sid, attempt, node, _ = target
        time.sleep(0.15)  # into the page, not at its first line
        if page_in_progress(sessions, [sid], set()) != target:
            continue  # the page ended meanwhile; look again
        tried.add((sid, attempt))
        pool.kill(node)
        pool.start()
        if job_of(sessions, sid).attempt == attempt and recorded_sets(sessions, sid) == 0:
            killed.add((sid, attempt))
    return killed


def test_celery_workers_killed_mid_page_repeatedly_lose_and_duplicate_nothing(
    celery_settings: Settings,
    tmp_path: Path,
    embedded_readings: dict[str, list[tuple[object, ...]]],
) -> None:
    settings = celery_settings.model_copy(update={"max_attempts": KILLS + 2})
    units = [f"S{i}" for i in range(len(CHAOS_SCANS))]
    with TestClient(create_app(settings)) as client:
        sign_in_admin(client)
        sessions = client.app.state.sessions  # type: ignore[attr-defined]
        campaign = setup_campaign(client, *units)
        pool = WorkerPool(settings, tmp_path)
        try:
            pool.start()
            pool.start()
            ids = {
                name: upload_scan(client, campaign, unit, name)
                for unit, name in zip(units, CHAOS_SCANS, strict=True)
            }
            killed = kill_mid_page(sessions, pool, list(ids.values()))
            bodies = {
                name: wait_for_submission(client, sid, timeout_s=WAIT_S)
                for name, sid in ids.items()
            }
        finally:
            pool.stop_all()
    assert len(killed) == KILLS
    with sessions() as session:
        total_readings = session.scalar(
            select(func.count()).where(Reading.submission_id.in_(ids.values()))
        )
    assert total_readings == EXPECTED_READINGS * len(ids)
    for name, sid in ids.items():
        assert bodies[name]["status"] in ("clean", "needs_review"), bodies[name]
        job = job_of(sessions, sid)
        assert job.state == "done"
        assert stored_readings(sessions, sid) == embedded_readings[name], name
        killed_attempts = sorted(a for s, a in killed if s == sid)
        events = audit_actions(sessions, sid)
        actions = [e.action for e in events]
        # Received once, every killed attempt taken over and said so, read once, by
        # the attempt that owns the job now.
        assert actions[0] == "submission_received"
        assert actions[-1] == "readings_recorded"
        assert actions.count("readings_recorded") == 1
        assert "processing_failed" not in actions
        assert events[-1].new is not None and events[-1].new["attempt"] == job.attempt
        abandoned = [e.old["attempt"] for e in events if e.action == "attempt_abandoned"]  # type: ignore[index]
        assert abandoned == killed_attempts
        assert job.attempt >= (max(killed_attempts) + 1 if killed_attempts else 1)


def test_celery_job_whose_message_the_broker_lost_is_sent_again(
    celery_settings: Settings,
    tmp_path: Path,
    embedded_readings: dict[str, list[tuple[object, ...]]],
) -> None:
    import redis

    name = SCANS[1]
    broker = redis.Redis.from_url(str(celery_settings.broker_url))
    with TestClient(create_app(celery_settings)) as client:
        sign_in_admin(client)
        sessions = client.app.state.sessions  # type: ignore[attr-defined]
        campaign = setup_campaign(client, "S1")
        sid = upload_scan(client, campaign, "S1", name)  # no worker yet: it waits in Redis
        deadline = time.monotonic() + WAIT_S
        while broker.llen(celery_settings.celery_queue) == 0:
            assert time.monotonic() < deadline, "the job was never sent"
            time.sleep(0.05)
        broker.delete(celery_settings.celery_queue)  # as a Redis restart without persistence
        with workers(celery_settings, tmp_path, count=1):
            body = wait_for_submission(client, sid, timeout_s=WAIT_S)
    broker.close()
    assert body["status"] in ("clean", "needs_review"), body
    job = job_of(sessions, sid)
    assert (job.state, job.attempt) == ("done", 1)
    assert recorded_sets(sessions, sid) == 1
    assert stored_readings(sessions, sid) == embedded_readings[name]


def node_reading(sessions: sessionmaker[Session], submission_id: int, attempt: int) -> str:
    """The worker node reading a page of the submission under ``attempt``, once it does."""
    deadline = time.monotonic() + WAIT_S
    while True:
        target = page_in_progress(sessions, [submission_id], set())
        if target is not None and target[1] == attempt:
            return target[2]
        assert time.monotonic() < deadline, f"attempt {attempt} never started reading"
        time.sleep(0.02)


def test_celery_job_whose_workers_keep_dying_fails_visibly(
    celery_settings: Settings, tmp_path: Path
) -> None:
    settings = celery_settings.model_copy(update={"max_attempts": 2})
    with TestClient(create_app(settings)) as client:
        sign_in_admin(client)
        sessions = client.app.state.sessions  # type: ignore[attr-defined]
        campaign = setup_campaign(client, "S1")
        pool = WorkerPool(settings, tmp_path)
        try:
            pool.start()
            sid = upload_scan(client, campaign, "S1", CHAOS_SCANS[0])
            for attempt in (1, 2):  # every attempt's worker dies in the middle of a page
                pool.kill(node_reading(sessions, sid, attempt))
                pool.start()
            body = wait_for_submission(client, sid, timeout_s=WAIT_S)
        finally:
            pool.stop_all()
    assert body["status"] == "failed"
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == "worker_lost"
    assert error["fix"]
    job = job_of(sessions, sid)
    assert (job.state, job.attempt, job.error_code) == ("failed", 2, "worker_lost")
    assert recorded_sets(sessions, sid) == 0
    actions = [e.action for e in audit_actions(sessions, sid)]
    assert actions == ["submission_received", "attempt_abandoned", "processing_failed"]
