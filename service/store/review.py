"""What review reads and locks: a reading's unit, a locked submission, the open readings.

The queue's SQL filters here narrow the rows; ordering them by consequence needs each
layout's rules and stays in ``service.review``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Row, select
from sqlalchemy.orm import Session, aliased

from service.models import Reading, Submission, SubmissionStatus, Unit
from service.scope import Scope
from service.store.readings import FLAGGED_STATUSES
from service.store.units import subtree_ids_of_code


@dataclass(frozen=True)
class QueueFilter:
    """Which open readings a reviewer asked for; every field left ``None`` widens it."""

    campaign_id: int | None = None
    district_code: str | None = None
    unit_code: str | None = None
    reason: str | None = None
    row_key: str | None = None
    scope: Scope | None = None  # the reader's units; None: every unit


def unit_id_of_reading(session: Session, reading: Reading) -> int | None:
    """The unit whose submission holds ``reading``: scope is decided by unit."""
    query = select(Submission.unit_id).where(Submission.id == reading.submission_id)
    return session.scalar(query)


def lock_submission(session: Session, submission_id: int) -> Submission:
    """The submission, locked for this transaction and reloaded, so decisions serialise."""
    return session.get_one(Submission, submission_id, with_for_update=True, populate_existing=True)


def open_readings(session: Session, filters: QueueFilter) -> list[Row[Reading, Submission, Unit]]:
    """Open readings of the latest ``needs_review`` submissions that match ``filters``.

    ``filters.reason`` is not applied here: reasons are a JSON list, filtered in Python
    the same way on PostgreSQL and SQLite.
    """
    newer = aliased(Submission)
    conditions: list[ColumnElement[bool]] = [
        Submission.status == SubmissionStatus.NEEDS_REVIEW,
        Reading.status.in_(FLAGGED_STATUSES),
        ~select(newer.id).where(newer.replaces_id == Submission.id).exists(),
    ]
    if filters.campaign_id is not None:
        conditions.append(Submission.campaign_id == filters.campaign_id)
    if filters.unit_code is not None:
        conditions.append(Unit.code == filters.unit_code)
    if filters.row_key is not None:
        conditions.append(Reading.row_key == filters.row_key)
    if filters.scope is not None:
        conditions.append(filters.scope.clause(Submission.unit_id))
    if filters.district_code is not None:
        conditions.append(
            Submission.unit_id.in_(subtree_ids_of_code(session, filters.district_code))
        )
    query = (
        select(Reading, Submission, Unit)
        .join(Submission, Reading.submission_id == Submission.id)
        .join(Unit, Submission.unit_id == Unit.id)
        .where(*conditions)
    )
    return list(session.execute(query).all())
