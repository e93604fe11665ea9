"""Who may read reports, and about which unit: the checks the API and the pages share."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service import store
from service.auth import ForbiddenError
from service.errors import NotFoundError
from service.models import Role, Unit, User
from service.scope import Scope


def require_analyst(user: User) -> User:
    """``user`` if it may read totals and exports (admins and reviewers), else 403."""
    if user.role == Role.UPLOADER:
        raise ForbiddenError("Totals and exports are for reviewers and admins.")
    return user


def unit_in_scope(session: Session, scope: Scope, code: str | None) -> Unit | None:
    """The unit a report is about (None: not named); out of scope answers as unknown."""
    if code is None:
        return None
    unit = store.get_unit_by_code(session, code)
    if unit is None or not scope.allows(unit.id):
        raise NotFoundError(f"No unit {code!r}.")
    return unit
