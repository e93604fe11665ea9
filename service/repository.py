"""Database operations on units, campaigns, submissions, readings and jobs.

The job functions here are the whole job protocol, whichever runner executes jobs
(the embedded process pool now, Celery workers later)::

    queued --claim_job--> running --persist_extraction--> done
       ^                     |  \\--record_failure (input error, attempts used up)--> failed
       |                     |   \\-renew_lease (while running)
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

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from ocr.errors import UnknownLayoutError
from ocr.layout import available_layouts
from ocr.types import Extraction
from service.auth import Scope
from service.errors import ConflictError, InvalidRequestError, NotFoundError, StaleAttemptError
from service.models import (
    AuditEvent,
    Campaign,
    Job,
    JobState,
    Page,
    Reading,
    Submission,
    SubmissionFile,
    SubmissionStatus,
    Unit,
    campaign_unit,
    utc_now,
)

SYSTEM_ACTOR = "system:ocr"
# Internal callers (the runner, the CLI) see every unit; routes pass the user's scope.
EVERYTHING = Scope(None)


# --- units and campaigns --------------------------------------------------------------


def get_unit_by_code(session: Session, code: str) -> Unit | None:
    return session.scalars(select(Unit).where(Unit.code == code)).one_or_none()


def create_unit(
    session: Session, *, code: str, name: str, kind: str, parent_code: str | None
) -> Unit:
    if get_unit_by_code(session, code) is not None:
        raise ConflictError(f"A unit with code {code!r} already exists.", code="unit_exists")
    parent = None
    if parent_code is not None:
        parent = get_unit_by_code(session, parent_code)
        if parent is None:
            raise InvalidRequestError(
                f"No unit with code {parent_code!r} (the parent).", code="unknown_unit"
            )
    unit = Unit(code=code, name=name, kind=kind, parent=parent)
    session.add(unit)
    session.flush()
    return unit


def list_units(session: Session, *, scope: Scope = EVERYTHING) -> Sequence[Unit]:
    return session.scalars(select(Unit).where(scope.clause(Unit.id)).order_by(Unit.code)).all()


@dataclass(frozen=True)
class UnitRow:
    """One line of a units file: ``parent_code`` empty for a root (a province)."""

    code: str
    name: str
    kind: str
    parent_code: str | None


@dataclass(frozen=True)
class ImportCounts:
    created: int
    updated: int
    unchanged: int


def import_units(session: Session, rows: Sequence[UnitRow]) -> ImportCounts:
    """Create or update units by code (caller commits; nothing is ever deleted).

    Parents may come after their children in ``rows``: every unit is created first,
    parents are linked second. Updating in place keeps ids, so submissions and
    accounts stay attached. A parent that is neither in ``rows`` nor registered, or a
    loop in the tree, refuses the whole import.
    """
    codes = [r.code for r in rows]
    if len(set(codes)) != len(codes):
        duplicate = next(c for c in codes if codes.count(c) > 1)
        raise InvalidRequestError(f"Unit {duplicate!r} appears twice.", code="duplicate_unit")
    created = updated = 0
    units: dict[str, Unit] = {}
    before: dict[str, tuple[str, str, int | None]] = {}
    for row in rows:
        unit = get_unit_by_code(session, row.code)
        if unit is None:
            unit = Unit(code=row.code, name=row.name, kind=row.kind)
            session.add(unit)
            created += 1
        else:
            before[row.code] = (unit.name, unit.kind, unit.parent_id)
        unit.name, unit.kind = row.name, row.kind
        units[row.code] = unit
    session.flush()
    for row in rows:
        parent = None
        if row.parent_code:
            parent = units.get(row.parent_code) or get_unit_by_code(session, row.parent_code)
            if parent is None:
                raise InvalidRequestError(
                    f"Unit {row.code!r}: no unit with code {row.parent_code!r} (the parent).",
                    code="unknown_unit",
                    fix="Add the parent to the file, or register it first.",
                )
        units[row.code].parent_id = None if parent is None else parent.id
    session.flush()
    _check_no_loop(session)
    for code, old in before.items():
        unit = units[code]
        updated += old != (unit.name, unit.kind, unit.parent_id)
    return ImportCounts(created=created, updated=updated, unchanged=len(before) - updated)


def _check_no_loop(session: Session) -> None:
    parent_of = {uid: pid for uid, pid in session.execute(select(Unit.id, Unit.parent_id))}
    for start in parent_of:
        seen, uid = set(), start
        while uid is not None:
            if uid in seen:
                code = session.scalar(select(Unit.code).where(Unit.id == start))
                raise InvalidRequestError(
                    f"Unit {code!r} would be its own ancestor.", code="unit_loop"
                )
            seen.add(uid)
            uid = parent_of.get(uid)


def create_campaign(
    session: Session,
    *,
    name: str,
    layout_id: str,
    year: int,
    deadline: date | None,
    expected_unit_codes: Sequence[str],
) -> Campaign:
    """A new campaign of a shipped layout (by id only: a file path is never accepted)."""
    known = available_layouts()
    if layout_id not in known:
        raise UnknownLayoutError(
            f"No layout named {layout_id!r} (available: {', '.join(known) or 'none'})."
        )
    units = []
    for code in expected_unit_codes:
        unit = get_unit_by_code(session, code)
        if unit is None:
            raise InvalidRequestError(f"No unit with code {code!r}.", code="unknown_unit")
        units.append(unit)
    campaign = Campaign(
        name=name, layout_id=layout_id, year=year, deadline=deadline, expected_units=units
    )
    session.add(campaign)
    session.flush()
    return campaign


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"No campaign {campaign_id}.")
    return campaign


def list_campaigns(session: Session) -> Sequence[Campaign]:
    return session.scalars(select(Campaign).order_by(Campaign.id)).all()


# --- submissions ----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredFile:
    """An original already in the blob store, about to be referenced by a submission."""

    name: str
    sha256: str
    media_type: str
    size_bytes: int


def files_fingerprint(files: Sequence[StoredFile]) -> str:
    """SHA-256 over the ordered file digests: same files in the same order, same value."""
    return hashlib.sha256("\n".join(f.sha256 for f in files).encode()).hexdigest()


def resolve_upload_target(
    session: Session, *, unit_code: str, campaign_id: int, scope: Scope = EVERYTHING
) -> None:
    """Check that the unit exists and may report to the campaign (before storing blobs)."""
    _upload_target(session, unit_code=unit_code, campaign_id=campaign_id, scope=scope)


def _upload_target(
    session: Session, *, unit_code: str, campaign_id: int, scope: Scope
) -> tuple[Unit, Campaign]:
    unit = get_unit_by_code(session, unit_code)
    # A unit outside the uploader's scope is refused like an unknown one: no leak.
    if unit is None or not scope.allows(unit.id):
        raise InvalidRequestError(
            f"No unit with code {unit_code!r}.",
            code="unknown_unit",
            fix="Use the code of a registered unit.",
        )
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise InvalidRequestError(f"No campaign {campaign_id}.", code="unknown_campaign")
    if not _may_report(session, campaign_id=campaign.id, unit_id=unit.id):
        raise InvalidRequestError(
            f"Unit {unit_code!r} is not among the units campaign {campaign_id} expects.",
            code="unit_not_expected",
        )
    return unit, campaign


def _may_report(session: Session, *, campaign_id: int, unit_id: int) -> bool:
    """The campaign expects no particular units, or expects this one.

    Two indexed look-ups, never the list: a province campaign expects thousands of
    units, and every upload asks.
    """
    expects = campaign_unit.c.campaign_id == campaign_id
    return bool(
        session.scalar(
            select(
                or_(
                    ~exists().where(expects),
                    exists().where(expects, campaign_unit.c.unit_id == unit_id),
                )
            )
        )
    )


def create_submission(
    session: Session,
    *,
    unit_code: str,
    campaign_id: int,
    files: Sequence[StoredFile],
    attempt_limit: int,
    uploaded_by: int | None = None,
    scope: Scope = EVERYTHING,
) -> tuple[Submission, bool]:
    """A new version of the unit's submission, or the latest one when its files are the same.

    Returns the submission and whether it was created. A new version replaces the
    previous one (``replaces_id``), which is kept. Its job is queued in the same
    transaction, so a submission is never without its job.
    """
    unit, campaign = _upload_target(
        session, unit_code=unit_code, campaign_id=campaign_id, scope=scope
    )
    fingerprint = files_fingerprint(files)
    latest = session.scalars(
        select(Submission)
        .where(Submission.unit_id == unit.id, Submission.campaign_id == campaign.id)
        .order_by(Submission.version.desc())
        .limit(1)
    ).one_or_none()
    if latest is not None and latest.files_sha256 == fingerprint:
        return latest, False
    submission = Submission(
        unit=unit,
        campaign=campaign,
        layout_id=campaign.layout_id,
        version=1 if latest is None else latest.version + 1,
        replaces_id=None if latest is None else latest.id,
        files_sha256=fingerprint,
        status=SubmissionStatus.RECEIVED,
        uploaded_by=uploaded_by,
        pages_done=0,
        warnings=[],
        files=[
            SubmissionFile(
                position=i,
                sha256=f.sha256,
                name=f.name,
                media_type=f.media_type,
                size_bytes=f.size_bytes,
            )
            for i, f in enumerate(files)
        ],
    )
    submission.job = Job(state=JobState.QUEUED, attempt=0, attempt_limit=attempt_limit)
    session.add(submission)
    session.flush()
    _audit(session, submission.id, "submission_received", new={"version": submission.version})
    return submission, True


def get_submission(
    session: Session, submission_id: int, *, scope: Scope = EVERYTHING
) -> Submission:
    """The submission, or 404 when there is none or it is outside ``scope``."""
    submission = session.get(Submission, submission_id)
    if submission is None or not scope.allows(submission.unit_id):
        raise NotFoundError(f"No submission {submission_id}.")
    return submission


def list_submissions(
    session: Session,
    *,
    campaign_id: int | None,
    unit_code: str | None,
    status: str | None,
    limit: int,
    offset: int,
    scope: Scope = EVERYTHING,
) -> tuple[Sequence[Submission], int]:
    conditions: list[ColumnElement[bool]] = [scope.clause(Submission.unit_id)]
    if campaign_id is not None:
        conditions.append(Submission.campaign_id == campaign_id)
    if unit_code is not None:
        conditions.append(Submission.unit.has(Unit.code == unit_code))
    if status is not None:
        conditions.append(Submission.status == status)
    total = session.scalar(select(func.count()).select_from(Submission).where(*conditions)) or 0
    items = session.scalars(
        select(Submission).where(*conditions).order_by(Submission.id).limit(limit).offset(offset)
    ).all()
    return items, total


def list_readings(session: Session, submission_id: int) -> Sequence[Reading]:
    return session.scalars(
        select(Reading).where(Reading.submission_id == submission_id).order_by(Reading.position)
    ).all()


def _audit(
    session: Session,
    submission_id: int,
    action: str,
    *,
    old: dict[str, object] | None = None,
    new: dict[str, object] | None = None,
    actor: str = SYSTEM_ACTOR,
) -> None:
    session.add(
        AuditEvent(submission_id=submission_id, actor=actor, action=action, old=old, new=new)
    )


# --- jobs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedJob:
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
    claimed = session.execute(
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
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
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
        _audit(
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
        _fail(
            session,
            submission_id=submission_id,
            attempt=attempt,
            code="worker_lost",
            detail=f"The worker processing attempt {attempt} stopped responding.",
            fix="Retry the job; if it fails again, contact the administrator.",
            now=now,
        )
    return len(rows)


def requeue_expired_jobs(session: Session, *, now: datetime | None = None) -> int:
    """At start-up: jobs left running by a stopped service whose lease ran out are queued.

    Their attempt is kept; the next claim makes it ``attempt + 1``, which fences off
    anything the old worker might still write.
    """
    now = now or utc_now()
    result = session.execute(
        update(Job)
        .where(
            Job.state == JobState.RUNNING,
            Job.lease_until < now,
            Job.attempt < Job.attempt_limit,
        )
        .values(state=JobState.QUEUED, claimed_by=None, lease_until=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)


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
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.attempt == attempt, Job.state == JobState.RUNNING)
        .values(lease_until=now + timedelta(seconds=lease_seconds), updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


def _fence(session: Session, *, submission_id: int, attempt: int, now: datetime) -> Job:
    """Lock the job row for this attempt, or refuse: a newer attempt owns the job."""
    result = session.execute(
        update(Job)
        .where(
            Job.submission_id == submission_id,
            Job.attempt == attempt,
            Job.state == JobState.RUNNING,
        )
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
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
        Reading(
            submission_id=submission_id,
            position=i,
            row_key=r.row_key,
            field=r.field,
            value=r.value,
            text=r.text,
            confidence=r.confidence,
            status=str(r.status),
            reasons=list(r.reasons),
            page_index=r.page_index,
            box=None if r.box is None else r.box.as_list(),
            column_key=r.column_key,
        )
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
    _audit(
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
    backoff_seconds: float,
) -> str:
    """Record a failed attempt (fenced): queued again with backoff, or failed for good.

    Returns the job's new state.
    """
    now = utc_now()
    job = _fence(session, submission_id=submission_id, attempt=attempt, now=now)
    if is_retryable and job.attempt < job.attempt_limit:
        job.state = JobState.QUEUED
        job.not_before = now + timedelta(seconds=backoff_seconds * 2 ** (attempt - 1))
        job.lease_until = None
        job.claimed_by = None
        job.error_code, job.error_detail = code, detail
        _audit(session, submission_id, "attempt_failed", new={"attempt": attempt, "code": code})
        return JobState.QUEUED
    _fail(
        session,
        submission_id=submission_id,
        attempt=attempt,
        code=code,
        detail=detail,
        fix=fix,
        now=now,
    )
    return JobState.FAILED


def _fail(
    session: Session,
    *,
    submission_id: int,
    attempt: int,
    code: str,
    detail: str,
    fix: str,
    now: datetime,
) -> None:
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
    _audit(session, submission_id, "processing_failed", new={"attempt": attempt, "code": code})


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
    _audit(session, submission.id, "retry_requested", new={"attempt_limit": job.attempt_limit})
    session.flush()
    session.refresh(job)
    return job


def get_page(
    session: Session, submission_id: int, page_index: int, *, scope: Scope = EVERYTHING
) -> Page:
    """The page row (0-based ``page_index``) of a submission in ``scope``, or 404."""
    get_submission(session, submission_id, scope=scope)
    page = session.scalars(
        select(Page).where(Page.submission_id == submission_id, Page.page_index == page_index)
    ).one_or_none()
    if page is None:
        raise NotFoundError(f"Submission {submission_id} has no page {page_index + 1}.")
    return page
