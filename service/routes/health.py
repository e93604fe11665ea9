"""``GET /healthz``: the process answers and its database does too (no sign-in needed)."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import SessionDep
from service.errors import problem_responses
from service.schemas import HealthPublic
from service.store import accounts

router = APIRouter(tags=["health"])


@router.get("/healthz", responses=problem_responses(is_public=True))
def healthz(session: SessionDep) -> HealthPublic:
    """Answers only when the database does: a load balancer stops sending otherwise."""
    accounts.database_answers(session)
    return HealthPublic(status="ok", database=session.get_bind().dialect.name)
