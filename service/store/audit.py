"""The append-only audit trail: every event names its submission, actor and action.

The database refuses to update or delete audit rows (migration 0002), so this module
only ever adds them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import AuditEvent

# The actor of events recorded by processing, not by a person.
SYSTEM_ACTOR = "system:ocr"


def add_event(
    session: Session,
    submission_id: int,
    action: str,
    *,
    old: dict[str, object] | None = None,
    new: dict[str, object] | None = None,
    actor: str = SYSTEM_ACTOR,
) -> None:
    """Record one event in the session's transaction (it commits with the change it describes)."""
    session.add(
        AuditEvent(submission_id=submission_id, actor=actor, action=action, old=old, new=new)
    )


def audit_events(
    session: Session, *, submission_id: int | None = None, reading_id: int | None = None
) -> Sequence[AuditEvent]:
    """Audit events of a submission or of one reading, oldest first."""
    query = select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)
    if submission_id is not None:
        query = query.where(AuditEvent.submission_id == submission_id)
    if reading_id is not None:
        query = query.where(AuditEvent.reading_id == reading_id)
    return session.scalars(query).all()
