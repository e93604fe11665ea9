"""Submissions, their files, pages and readings: creating versions, listing in scope."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from service.errors import InvalidRequestError, NotFoundError
from service.models import (
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
)
from service.scope import EVERYTHING, Scope
from service.store.audit import add_event
from service.store.readings import FLAGGED_STATUSES
from service.store.units import get_unit_by_code


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
    add_event(session, submission.id, "submission_received", new={"version": submission.version})
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
    """A page of submissions in ``scope``, in the order they came, with the total count."""
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
    """The submission's readings in the form's order."""
    return session.scalars(
        select(Reading).where(Reading.submission_id == submission_id).order_by(Reading.position)
    ).all()


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


def open_reading_counts(session: Session, submission_ids: Sequence[int]) -> dict[int, int]:
    """How many readings of each submission wait for a person (absent: none)."""
    if not submission_ids:
        return {}
    query = (
        select(Reading.submission_id, func.count())
        .where(Reading.submission_id.in_(submission_ids), Reading.status.in_(FLAGGED_STATUSES))
        .group_by(Reading.submission_id)
    )
    return {sid: int(n) for sid, n in session.execute(query).all()}
