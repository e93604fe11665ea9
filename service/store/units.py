"""Units and campaigns: the unit tree (imports, loop check, subtree walks) and campaigns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ocr.errors import UnknownLayoutError
from ocr.layout import available_layouts
from service.errors import ConflictError, InvalidRequestError, NotFoundError
from service.models import (
    Campaign,
    Unit,
)
from service.scope import EVERYTHING, Scope, descendants, units_in_loops


def get_unit_by_code(session: Session, code: str) -> Unit | None:
    """The unit with ``code``, or None."""
    return session.scalars(select(Unit).where(Unit.code == code)).one_or_none()


def create_unit(
    session: Session, *, code: str, name: str, kind: str, parent_code: str | None
) -> Unit:
    """Register a unit under ``parent_code``; a taken code is 409, an unknown parent 422."""
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
    """The units in ``scope``, by code."""
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
    """What an import did: units created, updated and left unchanged."""

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
    edges = [(uid, pid) for uid, pid in session.execute(select(Unit.id, Unit.parent_id))]
    looped = units_in_loops(edges)
    if not looped:
        return
    start = next(unit_id for unit_id, _ in edges if unit_id in looped)
    code = session.scalar(select(Unit.code).where(Unit.id == start))
    raise InvalidRequestError(f"Unit {code!r} would be its own ancestor.", code="unit_loop")


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
    """The campaign ``campaign_id``, or 404."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"No campaign {campaign_id}.")
    return campaign


def list_campaigns(session: Session) -> Sequence[Campaign]:
    """Every campaign, oldest first."""
    return session.scalars(select(Campaign).order_by(Campaign.id)).all()


def subtree_ids(session: Session, root_id: int) -> list[int]:
    """``root_id`` and every unit below it (see ``service.scope.descendants``)."""
    edges = [(uid, pid) for uid, pid in session.execute(select(Unit.id, Unit.parent_id))]
    return descendants(edges, root_id)


def subtree_ids_of_code(session: Session, code: str) -> list[int]:
    """The unit with ``code`` and every unit below it (an empty list for an unknown code)."""
    root = session.scalar(select(Unit.id).where(Unit.code == code))
    return [] if root is None else subtree_ids(session, root)


def unit_names(session: Session, codes: Sequence[str]) -> dict[str, str]:
    """The name of each unit in ``codes`` that exists, by code."""
    query = select(Unit.code, Unit.name).where(Unit.code.in_(codes))
    return {code: name for code, name in session.execute(query).all()}
