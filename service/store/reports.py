"""The reads behind a report: who submitted, the latest versions, their readings, the tree.

They return rows of plain columns, not ORM objects: a province's report reads tens of
thousands of readings, and ``service.reports.aggregate`` only needs their values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from service.models import Reading, Submission, Unit
from service.scope import Scope


def submitting_unit_ids(session: Session, campaign_id: int) -> list[int]:
    """Every unit with at least one submission to the campaign."""
    query = select(Submission.unit_id).where(Submission.campaign_id == campaign_id).distinct()
    return list(session.scalars(query))


def submission_versions(
    session: Session, campaign_id: int, unit_ids: list[int]
) -> Sequence[Row[int, int, int, str, datetime]]:
    """``(id, unit_id, version, status, created_at)`` of every version, oldest first per unit."""
    return session.execute(
        select(
            Submission.id,
            Submission.unit_id,
            Submission.version,
            Submission.status,
            Submission.created_at,
        )
        .where(Submission.campaign_id == campaign_id, Submission.unit_id.in_(unit_ids))
        .order_by(Submission.unit_id, Submission.version)
    ).all()


def reading_values(
    session: Session, submission_ids: list[int]
) -> Sequence[Row[int, int, int, str, str, int | None, str, Any]]:
    """``(id, submission_id, position, row_key, field, value, status, box)`` in form order."""
    return session.execute(
        select(
            Reading.id,
            Reading.submission_id,
            Reading.position,
            Reading.row_key,
            Reading.field,
            Reading.value,
            Reading.status,
            Reading.box,
        )
        .where(Reading.submission_id.in_(submission_ids))
        .order_by(Reading.submission_id, Reading.position)
    ).all()


def unit_tree_rows(session: Session) -> Sequence[Row[int, str, str, str, int | None]]:
    """``(id, code, name, kind, parent_id)`` of every unit: the report walks the tree."""
    return session.execute(select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.parent_id)).all()


def field_readings(
    session: Session, submission_ids: list[int], row_key: str, field: str
) -> Sequence[Row[Reading, int]]:
    """One field's reading in each submission, with the submission's unit."""
    return session.execute(
        select(Reading, Submission.unit_id)
        .join(Submission, Submission.id == Reading.submission_id)
        .where(
            Reading.submission_id.in_(submission_ids),
            Reading.row_key == row_key,
            Reading.field == field,
        )
    ).all()


def campaign_versions_in(
    session: Session, campaign_id: int, scope: Scope
) -> Sequence[Row[int, int, str, datetime]]:
    """``(unit_id, version, status, created_at)`` of the campaign's submissions in scope."""
    return session.execute(
        select(Submission.unit_id, Submission.version, Submission.status, Submission.created_at)
        .where(Submission.campaign_id == campaign_id, scope.clause(Submission.unit_id))
        .order_by(Submission.unit_id, Submission.version)
    ).all()
