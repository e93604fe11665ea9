"""The append-only audit trail: every event names its submission, actor and action.

The database refuses to update or delete audit rows (migration 0002), so this module
only ever adds them.
"""

from __future__ import annotations

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
