"""The job protocol on the database: claims, leases, fencing, retries (both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ocr.types import Extraction, Reading, ReadingStatus
from service import store
from service.db import create_db_engine, make_session_factory, upgrade_database
from service.errors import StaleAttemptError
from service.models import AuditEvent, Job, Submission, utc_now
from service.models import Reading as ReadingRow
from tests.service.conftest import open_campaign, queue_submission

LEASE_S = 30.0


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(db_url)
    upgrade_database(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def submission_id(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        store.create_unit(session, code="S1", name="School", kind="school", parent_code=None)
        campaign = open_campaign(session)
        return queue_submission(session, unit_code="S1", campaign_id=campaign, sha256="0" * 64)


def extraction(value: int, *, flagged: bool = False) -> Extraction:
    status = ReadingStatus.NEEDS_REVIEW if flagged else ReadingStatus.OK
    readings = (
        Reading("1.01", "count", value, str(value), 0.99, status, ("low_confidence",) * flagged),
        Reading("1.01", "people", value * 10, str(value * 10), 0.99, ReadingStatus.OK),
    )
    return Extraction("llw-summary-2022", 1, readings, pages=1)


def claim(sessions: sessionmaker[Session], *, now_offset_s: float = 0.0) -> store.ClaimedJob | None:
    with sessions.begin() as session:
        return store.claim_job(
            session,
            worker_id="test",
            lease_seconds=LEASE_S,
            now=utc_now() + timedelta(seconds=now_offset_s),
        )


def persist(sessions: sessionmaker[Session], submission_id: int, attempt: int, value: int) -> str:
    with sessions.begin() as session:
        return store.persist_extraction(
            session,
            submission_id=submission_id,
            attempt=attempt,
            extraction=extraction(value),
            pages=[],
            seconds=1.0,
        )


def readings(sessions: sessionmaker[Session], submission_id: int) -> list[tuple[str, int | None]]:
    with sessions() as session:
        rows = store.list_readings(session, submission_id)
        return [(r.field, r.value) for r in rows]


def test_persist_extraction_stale_attempt_refused(
    sessions: sessionmaker[Session], submission_id: int
) -> None:
    first = claim(sessions)
    assert first is not None and first.attempt == 1
    assert claim(sessions) is None  # leased: nobody else may take it
    # The lease runs out (the worker hangs); another runner takes the job over.
    second = claim(sessions, now_offset_s=LEASE_S + 1)
    assert second is not None and second.attempt == 2

    with pytest.raises(StaleAttemptError):
        persist(sessions, submission_id, first.attempt, 111)
    assert readings(sessions, submission_id) == []
    with pytest.raises(StaleAttemptError), sessions.begin() as session:
        store.record_pages(session, submission_id=submission_id, attempt=1, pages_total=9)

    assert persist(sessions, submission_id, second.attempt, 7) == "clean"
    assert readings(sessions, submission_id) == [("count", 7), ("people", 70)]
    # The stale worker finishing now still changes nothing; nor does a second write.
    with pytest.raises(StaleAttemptError):
        persist(sessions, submission_id, first.attempt, 111)
    with pytest.raises(StaleAttemptError):
        persist(sessions, submission_id, second.attempt, 8)
    assert readings(sessions, submission_id) == [("count", 7), ("people", 70)]
    with sessions() as session:
        job = session.scalars(select(Job)).one()
        assert (job.state, job.attempt) == ("done", 2)
        assert session.get_one(Submission, submission_id).pages_total == 1


def test_persist_extraction_retry_replaces_readings(
    sessions: sessionmaker[Session], submission_id: int
) -> None:
    claimed = claim(sessions)
    assert claimed is not None
    with sessions.begin() as session:
        state = store.record_failure(
            session,
            submission_id=submission_id,
            attempt=claimed.attempt,
            code="engine_timeout",
            detail="slow",
            fix="later",
            is_retryable=True,
            retry_delay_seconds=60.0,
        )
    assert state == "queued"
    assert claim(sessions) is None  # backing off
    again = claim(sessions, now_offset_s=61)
    assert again is not None and again.attempt == 2
    with sessions.begin() as session:
        status = store.persist_extraction(
            session,
            submission_id=submission_id,
            attempt=2,
            extraction=extraction(5, flagged=True),
            pages=[],
            seconds=1.0,
        )
    assert status == "needs_review"
    with sessions() as session:
        count = session.scalar(select(func.count()).select_from(ReadingRow))
        assert count == 2


def test_record_failure_attempts_exhausted_fails(
    sessions: sessionmaker[Session], submission_id: int
) -> None:
    for attempt in (1, 2, 3):
        claimed = claim(sessions, now_offset_s=attempt * 1000)
        assert claimed is not None and claimed.attempt == attempt
        with sessions.begin() as session:
            state = store.record_failure(
                session,
                submission_id=submission_id,
                attempt=attempt,
                code="internal_error",
                detail="boom",
                fix="retry",
                is_retryable=True,
                retry_delay_seconds=0.0,
            )
        assert state == ("failed" if attempt == 3 else "queued")
    assert claim(sessions, now_offset_s=10_000) is None
    with sessions() as session:
        submission = session.get_one(Submission, submission_id)
        assert (submission.status, submission.error_code) == ("failed", "internal_error")
    assert audit_trail(sessions, submission_id) == [
        ("submission_received", None, {"version": 1}),
        ("attempt_failed", None, {"attempt": 1, "code": "internal_error"}),
        ("attempt_failed", None, {"attempt": 2, "code": "internal_error"}),
        ("processing_failed", None, {"attempt": 3, "code": "internal_error"}),
    ]


def audit_trail(
    sessions: sessionmaker[Session], submission_id: int
) -> list[tuple[str, object, object]]:
    with sessions() as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.submission_id == submission_id)
            .order_by(AuditEvent.id)
        )
        return [(e.action, e.old, e.new) for e in events]


def test_claim_job_expired_lease_taken_over_is_audited(
    sessions: sessionmaker[Session], submission_id: int
) -> None:
    first = claim(sessions)
    assert first is not None
    second = claim(sessions, now_offset_s=LEASE_S + 1)
    assert second is not None and second.attempt == 2
    assert audit_trail(sessions, submission_id)[-1] == (
        "attempt_abandoned",
        {"attempt": 1, "worker": "test"},
        {"attempt": 2, "worker": "test"},
    )


def test_claim_job_lease_lost_on_last_attempt_fails(
    sessions: sessionmaker[Session], submission_id: int
) -> None:
    with sessions.begin() as session:
        session.scalars(select(Job)).one().attempt_limit = 1
    assert claim(sessions) is not None
    assert claim(sessions, now_offset_s=LEASE_S + 1) is None
    with sessions() as session:
        job = session.scalars(select(Job)).one()
        assert (job.state, job.error_code) == ("failed", "worker_lost")
        assert session.get_one(Submission, submission_id).status == "failed"


def test_requeue_expired_jobs_after_restart(
    sessions: sessionmaker[Session], submission_id: int
) -> None:
    claimed = claim(sessions)
    assert claimed is not None
    with sessions.begin() as session:
        assert store.requeue_expired_jobs(session) == 0  # lease still valid
        later = utc_now() + timedelta(seconds=LEASE_S + 1)
        assert store.requeue_expired_jobs(session, now=later) == 1
        assert not store.renew_lease(
            session, job_id=claimed.job_id, attempt=claimed.attempt, lease_seconds=LEASE_S
        )
    again = claim(sessions, now_offset_s=LEASE_S + 2)
    assert again is not None and again.attempt == 2
    assert submission_id == again.submission_id
