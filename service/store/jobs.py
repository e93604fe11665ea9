r"""Database operations on units, campaigns, submissions, readings and jobs.

The job functions here are the whole job protocol, whichever runner executes jobs
(the embedded process pool now, Celery workers later)::

    queued --claim_job--> running --persist_extraction--> done
       ^                     |  \--record_failure (input error, attempts used up)--> failed
       |                     |   \-renew_lease (while running)
       +--record_failure-----+ (retryable: engine error, crash, worker lost; with backoff)
       +--requeue_expired_jobs-- running whose lease ran out (the worker died)
    failed --retry_job--> queued

``attempt`` grows by one at each claim and fences every write of a running job: a
write names the attempt it belongs to and is refused (``StaleAttemptError``) when
the job has moved on. On PostgreSQL claims use ``SELECT ... FOR UPDATE SKIP LOCKED``
so that concurrent runners never wait for or take each other's jobs; on SQLite the
``BEGIN IMMEDIATE`` transactions (``service.db``) serialise them. The same conditional
``UPDATE ... WHERE attempt = :seen`` makes a claim safe on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from ocr.types import Extraction
from service.db import rows_changed
from service.errors import ConflictError, NotFoundError, StaleAttemptError
from service.models import (
    Job,
    JobState,
    Page,
    Reading,
    Submission,
    SubmissionStatus,
    utc_now,
)
from service.scope import EVERYTHING, Scope
from service.store.audit import add_event
from service.store.readings import row_of

# What a lost worker records (here for the lease side; ``service.jobs.policy`` uses them
# for a worker process that died): retryable, the fix says what an operator can do.
WORKER_LOST_CODE = "worker_lost"
WORKER_LOST_FIX = "Retry the job; if it fails again, contact the administrator."


@dataclass(frozen=True)
class ClaimedJob:
    """A job claimed by a runner: the attempt every write of it must name."""

    job_id: int
    submission_id: int
    attempt: int


@dataclass(frozen=True)
class PageInfo:
    """What is kept of a loaded page; ``image_sha256`` names its cleaned image (a blob)."""

    page_index: int
    source: str
    dpi: int
    width_px: int
    height_px: int
    has_text_layer: bool
    image_sha256: str | None = None


def get_job(session: Session, job_id: int, *, scope: Scope = EVERYTHING) -> Job:
    """The job ``job_id`` if its submission is in ``scope``, else 404."""
    job = session.get(Job, job_id)
    if job is None or not scope.allows(job.submission.unit_id):
        raise NotFoundError(f"No job {job_id}.")
    return job


def claimable(now: datetime) -> ColumnElement[bool]:
    """Queued and due, or running under a lease that has run out."""
    queued = and_(
        Job.state == JobState.QUEUED, or_(Job.not_before.is_(None), Job.not_before <= now)
    )
    expired = and_(Job.state == JobState.RUNNING, Job.lease_until < now)
    return or_(queued, expired)


def claim_job(
    session: Session,
    *,
    worker_id: str,
    lease_seconds: float,
    now: datetime | None = None,
    submission_id: int | None = None,
) -> ClaimedJob | None:
    """Take a runnable job: queued and due, or running with an expired lease.

    The oldest one, or with ``submission_id`` that submission's job (what a Celery
    task asks for). Running jobs whose attempts are used up are failed, not claimed
    (see ``fail_abandoned_jobs``). None when nothing is claimable. The caller commits.
    """
    now = now or utc_now()
    fail_abandoned_jobs(session, now=now)
    query = select(Job.id, Job.submission_id, Job.attempt, Job.state, Job.claimed_by).where(
        claimable(now), Job.attempt < Job.attempt_limit
    )
    if submission_id is not None:
        query = query.where(Job.submission_id == submission_id)
    row = session.execute(
        query.order_by(Job.id).limit(1).with_for_update(skip_locked=True)
    ).one_or_none()
    if row is None:
        return None
    job_id, claimed_submission, seen_attempt, seen_state, seen_worker = row
    claimed = rows_changed(
        session,
        update(Job)
        .where(Job.id == job_id, Job.attempt == seen_attempt, claimable(now))
        .values(
            state=JobState.RUNNING,
            attempt=seen_attempt + 1,
            claimed_by=worker_id,
            lease_until=now + timedelta(seconds=lease_seconds),
            started_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False),
    )
    if claimed != 1:
        return None  # another runner got there first
    session.execute(
        update(Submission)
        .where(Submission.id == claimed_submission)
        .values(status=SubmissionStatus.PROCESSING, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if seen_state == JobState.RUNNING:
        # Its worker stopped renewing the lease (killed, frozen, cut off): say so in
        # the submission's history, so every attempt is accounted for.
        add_event(
            session,
            claimed_submission,
            "attempt_abandoned",
            old={"attempt": seen_attempt, "worker": seen_worker},
            new={"attempt": seen_attempt + 1, "worker": worker_id},
        )
    return ClaimedJob(job_id=job_id, submission_id=claimed_submission, attempt=seen_attempt + 1)


def fail_abandoned_jobs(session: Session, *, now: datetime | None = None) -> int:
    """Fail running jobs whose lease ran out on their last allowed attempt."""
    now = now or utc_now()
    rows = session.execute(
        select(Job.submission_id, Job.attempt)
        .where(
            Job.state == JobState.RUNNING,
            Job.lease_until < now,
            Job.attempt >= Job.attempt_limit,
        )
        .with_for_update(skip_locked=True)
    ).all()
    for submission_id, attempt in rows:
        detail = f"The worker processing attempt {attempt} stopped responding."
        _fail(
            session, (submission_id, attempt), (WORKER_LOST_CODE, detail, WORKER_LOST_FIX), now=now
        )
    return len(rows)


def requeue_expired_jobs(session: Session, *, now: datetime | None = None) -> int:
    """At start-up: jobs left running by a stopped service whose lease ran out are queued.

    Their attempt is kept; the next claim makes it ``attempt + 1``, which fences off
    anything the old worker might still write.
    """
    now = now or utc_now()
    result = rows_changed(
        session,
        update(Job)
        .where(
            Job.state == JobState.RUNNING,
            Job.lease_until < now,
            Job.attempt < Job.attempt_limit,
        )
        .values(state=JobState.QUEUED, claimed_by=None, lease_until=None, updated_at=now)
        .execution_options(synchronize_session=False),
    )
    return result


def renew_lease(
    session: Session,
    *,
    job_id: int,
    attempt: int,
    lease_seconds: float,
    now: datetime | None = None,
) -> bool:
    """Extend a running attempt's lease; False when the attempt is no longer current."""
    now = now or utc_now()
    result = rows_changed(
        session,
        update(Job)
        .where(Job.id == job_id, Job.attempt == attempt, Job.state == JobState.RUNNING)
        .values(lease_until=now + timedelta(seconds=lease_seconds), updated_at=now)
        .execution_options(synchronize_session=False),
    )
    return result == 1


def _fence(session: Session, *, submission_id: int, attempt: int, now: datetime) -> Job:
    """Lock the job row for this attempt, or refuse: a newer attempt owns the job."""
    result = rows_changed(
        session,
        update(Job)
        .where(
            Job.submission_id == submission_id,
            Job.attempt == attempt,
            Job.state == JobState.RUNNING,
        )
        .values(updated_at=now)
        .execution_options(synchronize_session=False),
    )
    if result != 1:
        raise StaleAttemptError(
            f"Attempt {attempt} of the job of submission {submission_id} is no longer current."
        )
    job = session.scalars(select(Job).where(Job.submission_id == submission_id)).one()
    session.refresh(job)
    return job


def record_pages(session: Session, *, submission_id: int, attempt: int, pages_total: int) -> None:
    """Progress: the document is loaded and has ``pages_total`` pages (fenced)."""
    _set_progress(
        session, submission_id=submission_id, attempt=attempt, pages_total=pages_total, pages_done=0
    )


def record_progress(session: Session, *, submission_id: int, attempt: int, pages_done: int) -> None:
    """Progress: ``pages_done`` pages have been read (fenced like every job write)."""
    _set_progress(session, submission_id=submission_id, attempt=attempt, pages_done=pages_done)


def _set_progress(session: Session, *, submission_id: int, attempt: int, **values: int) -> None:
    now = utc_now()
    _fence(session, submission_id=submission_id, attempt=attempt, now=now)
    session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(**values, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def persist_extraction(
    session: Session,
    *,
    submission_id: int,
    attempt: int,
    extraction: Extraction,
    pages: Sequence[PageInfo],
    seconds: float,
) -> str:
    """Record a finished attempt: readings and pages replaced, job done, status set.

    All in the caller's transaction and fenced by ``attempt``; raises
    ``StaleAttemptError`` (and writes nothing) when the attempt is not current.
    Returns the submission's new status.
    """
    now = utc_now()
    job = _fence(session, submission_id=submission_id, attempt=attempt, now=now)
    session.execute(delete(Reading).where(Reading.submission_id == submission_id))
    session.execute(delete(Page).where(Page.submission_id == submission_id))
    session.add_all(Page(submission_id=submission_id, **vars(p)) for p in pages)
    session.add_all(
        row_of(r, submission_id=submission_id, position=i)
        for i, r in enumerate(extraction.readings)
    )
    flagged = sum(1 for r in extraction.readings if r.flagged)
    status = SubmissionStatus.NEEDS_REVIEW if flagged else SubmissionStatus.CLEAN
    submission = session.get_one(Submission, submission_id)
    submission.status = status
    submission.pages_total = extraction.pages
    submission.pages_done = extraction.pages
    submission.warnings = list(extraction.warnings)
    submission.processing_seconds = round(seconds, 3)
    submission.error_code = submission.error_detail = submission.error_fix = None
    job.state = JobState.DONE
    job.finished_at = now
    job.lease_until = None
    job.error_code = job.error_detail = None
    add_event(
        session,
        submission_id,
        "readings_recorded",
        new={"attempt": attempt, "readings": len(extraction.readings), "flagged": flagged},
    )
    return status


def record_failure(
    session: Session,
    *,
    submission_id: int,
    attempt: int,
    code: str,
    detail: str,
    fix: str,
    is_retryable: bool,
    retry_delay_seconds: float,
) -> str:
    """Record a failed attempt (fenced): queued again after the delay, or failed for good.

    Whether it retries and how long it waits are ``service.jobs.policy``'s decisions;
    this applies them. Returns the job's new state.
    """
    now = utc_now()
    job = _fence(session, submission_id=submission_id, attempt=attempt, now=now)
    if is_retryable and job.attempt < job.attempt_limit:
        job.state = JobState.QUEUED
        job.not_before = now + timedelta(seconds=retry_delay_seconds)
        job.lease_until = None
        job.claimed_by = None
        job.error_code, job.error_detail = code, detail
        add_event(session, submission_id, "attempt_failed", new={"attempt": attempt, "code": code})
        return JobState.QUEUED
    _fail(session, (submission_id, attempt), (code, detail, fix), now=now)
    return JobState.FAILED


def _fail(
    session: Session,
    job: tuple[int, int],
    error: tuple[str, str, str],
    *,
    now: datetime,
) -> None:
    """Fail attempt ``job`` (submission id, attempt) for good with ``error`` (code, detail, fix).

    Conditional on the attempt, so a job another runner has moved on is left alone.
    """
    (submission_id, attempt), (code, detail, fix) = job, error
    session.execute(
        update(Job)
        .where(Job.submission_id == submission_id, Job.attempt == attempt)
        .values(
            state=JobState.FAILED,
            error_code=code,
            error_detail=detail,
            lease_until=None,
            finished_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(
            status=SubmissionStatus.FAILED,
            error_code=code,
            error_detail=detail,
            error_fix=fix,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    add_event(session, submission_id, "processing_failed", new={"attempt": attempt, "code": code})


def retry_job(
    session: Session, *, job_id: int, max_attempts: int, scope: Scope = EVERYTHING
) -> Job:
    """Queue a failed job again, with ``max_attempts`` more attempts."""
    job = get_job(session, job_id, scope=scope)
    if job.state != JobState.FAILED:
        raise ConflictError(
            f"Job {job_id} is {job.state}; only failed jobs can be retried.",
            code="job_not_failed",
        )
    job.state = JobState.QUEUED
    job.attempt_limit = job.attempt + max_attempts
    job.not_before = None
    job.dispatched_attempt = None  # send it to the workers again
    job.claimed_by = None
    job.finished_at = None
    job.error_code = job.error_detail = None
    submission = job.submission
    submission.status = SubmissionStatus.RECEIVED
    submission.error_code = submission.error_detail = submission.error_fix = None
    add_event(session, submission.id, "retry_requested", new={"attempt_limit": job.attempt_limit})
    session.flush()
    session.refresh(job)
    return job
