"""Review: the queue of doubtful readings, decisions on them, and the audit trail.

Who decides is the signed-in user (``CurrentUserDep``); every route sees only the
readings of units in the user's scope, and answers 404 for the others.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service import review, store
from service.deps import CurrentUserDep, ScopeDep, SessionDep
from service.errors import problem_responses
from service.models import Role
from service.schemas import (
    AuditEventPublic,
    DecisionPublic,
    QueueItemPublic,
    QueuePagePublic,
    QueueUnitPublic,
    ReadingPublic,
    ReviewDecisionCreate,
)

router = APIRouter(prefix="/api", tags=["review"])

MAX_PAGE_SIZE = 200


@router.get("/review/queue", responses=problem_responses(422))
def review_queue(
    session: SessionDep,
    scope: ScopeDep,
    campaign: Annotated[int | None, Query(description="Campaign id.")] = None,
    district: Annotated[
        str | None, Query(description="Unit code: that unit and every unit below it.")
    ] = None,
    unit: Annotated[str | None, Query(description="Unit code.")] = None,
    reason: Annotated[str | None, Query(examples=["sum_mismatch", "low_confidence"])] = None,
    row_key: Annotated[str | None, Query(examples=["1.total"])] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> QueuePagePublic:
    """Open readings of submissions waiting for review, most consequential first.

    Rule failures (sums, people fewer than classes, ranges) come before low
    confidence and other doubts, readings waiting for the unit (``asked_unit``) last;
    within a tier money rows and larger values first, then the oldest submission.
    Only units in the signed-in user's scope are listed.
    """
    filters = review.QueueFilter(
        campaign_id=campaign,
        district_code=district,
        unit_code=unit,
        reason=reason,
        row_key=row_key,
        scope=scope,
    )
    entries, total = review.review_queue(session, filters, limit=limit, offset=offset)
    return QueuePagePublic(
        items=[_queue_item(e) for e in entries], total=total, limit=limit, offset=offset
    )


def _queue_item(entry: review.QueueEntry) -> QueueItemPublic:
    reading = entry.reading
    row = next((r for r in entry.layout.rows if r.key == reading.row_key), None)
    page_url = None
    if reading.page_index is not None:
        page_url = f"/api/submissions/{reading.submission_id}/pages/{reading.page_index + 1}.png"
    return QueueItemPublic(
        reading_id=reading.id,
        submission_id=reading.submission_id,
        unit=QueueUnitPublic(code=entry.unit.code, name=entry.unit.name),
        row_key=reading.row_key,
        field=reading.field,
        row_label="" if row is None else row.label,
        unit_of_measure="" if row is None else row.unit,
        value=reading.value,
        text=reading.text,
        confidence=round(reading.confidence, 4),
        reasons=[str(r) for r in reading.reasons],
        status=reading.status,
        version=reading.version,
        crop_url=None if reading.box is None else f"/api/readings/{reading.id}/crop.png",
        page_url=page_url,
    )


@router.get("/readings/{reading_id}", responses=problem_responses(404, 422))
def get_reading(reading_id: int, session: SessionDep, scope: ScopeDep) -> ReadingPublic:
    """One reading with its version, which a decision must name (404 outside scope)."""
    return ReadingPublic.of(review.get_reading(session, reading_id, scope=scope))


@router.post("/readings/{reading_id}/decisions", responses=problem_responses(403, 404, 409, 422))
def create_decision(
    reading_id: int,
    body: ReviewDecisionCreate,
    user: CurrentUserDep,
    scope: ScopeDep,
    session: SessionDep,
) -> DecisionPublic:
    """Confirm, correct or mark unreadable one reading; the form's rules are re-checked.

    ``version`` must be the reading's current version, else 409 ``version_conflict``
    (someone decided first; reload and decide again). The re-check may change other
    readings' flags (a corrected addend clears the total's ``sum_mismatch``); they are
    listed in ``rechecked`` with their new versions. 409 ``submission_not_reviewable``
    while the submission is still being processed. The decider is the signed-in user;
    an uploader's decision is marked ``decided_by_uploader``.
    """
    decision = review.Decision(
        action=review.Action(body.action),
        value=body.value,
        version=body.version,
        actor=user.username,
        reason=body.reason,
        is_by_uploader=user.role == Role.UPLOADER,
    )
    outcome = review.decide(session, reading_id, decision, scope=scope)
    session.commit()
    return DecisionPublic(
        reading=ReadingPublic.of(outcome.reading),
        rechecked=[ReadingPublic.of(r) for r in outcome.rechecked],
        submission_status=outcome.submission_status,
    )


@router.get("/readings/{reading_id}/audit", responses=problem_responses(404, 422))
def reading_audit(reading_id: int, session: SessionDep, scope: ScopeDep) -> list[AuditEventPublic]:
    """Every change of this reading, oldest first (append-only)."""
    review.get_reading(session, reading_id, scope=scope)
    return [AuditEventPublic.of(e) for e in review.audit_events(session, reading_id=reading_id)]


@router.get("/submissions/{submission_id}/audit", responses=problem_responses(404, 422))
def submission_audit(
    submission_id: int, session: SessionDep, scope: ScopeDep
) -> list[AuditEventPublic]:
    """Every event of the submission and its readings, oldest first (append-only)."""
    store.get_submission(session, submission_id, scope=scope)
    return [
        AuditEventPublic.of(e) for e in review.audit_events(session, submission_id=submission_id)
    ]
