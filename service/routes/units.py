"""Units: the reporting tree (schools, communes, districts, provinces); admins add them."""

from __future__ import annotations

from fastapi import APIRouter, Response

from service import store
from service.deps import AdminDep, ScopeDep, SessionDep
from service.errors import problem_responses
from service.schemas import UnitCreate, UnitPublic

router = APIRouter(prefix="/api/units", tags=["units"])


@router.post("", status_code=201, responses=problem_responses(403, 409, 422))
def create_unit(
    body: UnitCreate, _admin: AdminDep, session: SessionDep, response: Response
) -> UnitPublic:
    """Register a unit (admins); the same rules as ``formscan unit add``."""
    unit = store.create_unit(
        session, code=body.code, name=body.name, kind=body.kind, parent_code=body.parent_code
    )
    session.commit()
    response.headers["Location"] = f"/api/units/{unit.id}"
    return UnitPublic.of(unit)


@router.get("", responses=problem_responses())
def list_units(session: SessionDep, scope: ScopeDep) -> list[UnitPublic]:
    """The units in the signed-in user's scope."""
    return [UnitPublic.of(u) for u in store.list_units(session, scope=scope)]
