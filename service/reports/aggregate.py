"""What goes into a campaign's totals: units, their latest submissions, readings, completeness.

This module reads the database and returns plain values (``Facts``); the arithmetic on
them (pandas) and the file formats live in ``service.reports.export``. The rules:

- **Whose data.** The campaign's expected units (every unit that submitted when the
  campaign expects none) below the report's target unit and inside the user's scope.
- **Which version.** Only the latest version of each unit's submission counts. It
  enters the totals when it is ``clean``; with ``include_unreviewed`` also when it is
  ``needs_review`` (totals then say ``includes_unreviewed``). An older clean version is
  never used in place of a newer one: the unit replaced it on purpose.
- **Districts.** A unit's district is its nearest ancestor (or itself) of kind
  ``district``; a unit the province manages directly has no district and is grouped
  under its parent. Its province is the nearest ancestor of kind ``province``.
- **Late.** A unit is late when its *first* submission arrived after the deadline's
  day ended in Vietnam (UTC+7); a later correction does not make it late.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

from sqlalchemy.orm import Session

from service import store
from service.errors import InvalidRequestError, NotFoundError
from service.models import Campaign, SubmissionStatus, Unit
from service.scope import Scope, descendants
from service.store import reports as reports_store

# Deadlines are calendar days of the Vietnamese administration (Asia/Ho_Chi_Minh has no
# daylight saving time, so a fixed offset is exact).
VIETNAM_TZ = timezone(timedelta(hours=7))
DISTRICT_KIND = "district"
PROVINCE_KIND = "province"


class Level(StrEnum):
    """The groups totals are made by: districts or provinces."""

    DISTRICT = "district"
    PROVINCE = "province"


@dataclass(frozen=True)
class UnitInfo:
    """A unit with its district and province, as reports group it."""

    id: int
    code: str
    name: str
    kind: str
    district_code: str  # the district, or the parent of a unit managed by the province
    district_name: str
    province_code: str
    province_name: str


@dataclass(frozen=True)
class SubmissionInfo:
    """What reports need of a unit's latest submission."""

    id: int
    unit_id: int
    version: int
    status: str
    first_at: datetime  # when the unit first submitted (version 1)


@dataclass(frozen=True)
class ReadingInfo:
    """What reports need of one reading of an included submission."""

    id: int
    submission_id: int
    unit_id: int
    position: int
    row_key: str
    field: str
    value: int | None
    status: str
    has_box: bool


@dataclass(frozen=True)
class Facts:
    """Everything a report on ``target`` (None: the user's whole scope) is computed from."""

    campaign_id: int
    campaign_name: str
    year: int
    layout_id: str
    deadline: date | None
    target: UnitInfo | None
    units: tuple[UnitInfo, ...]  # expected, in scope, below target; by district then code
    latest: dict[int, SubmissionInfo]  # by unit id: the latest version, any status
    readings: tuple[ReadingInfo, ...]  # of the included submissions only
    include_unreviewed: bool

    def is_included(self, submission: SubmissionInfo) -> bool:
        """Whether ``submission`` counts in the totals (clean, or under review on request)."""
        allowed = {SubmissionStatus.CLEAN.value}
        if self.include_unreviewed:
            allowed.add(SubmissionStatus.NEEDS_REVIEW.value)
        return submission.status in allowed


def deadline_end(deadline: date) -> datetime:
    """The first instant after the deadline's day (Vietnamese time)."""
    return datetime.combine(deadline + timedelta(days=1), time(0), tzinfo=VIETNAM_TZ)


def is_late(first_at: datetime, deadline: date | None) -> bool:
    """Whether a first submission at ``first_at`` came after the deadline's day ended."""
    return deadline is not None and first_at >= deadline_end(deadline)


def collect(
    session: Session,
    campaign_id: int,
    *,
    scope: Scope,
    target: Unit | None = None,
    include_unreviewed: bool = False,
) -> Facts:
    """Read the units, latest submissions and included readings of a report."""
    campaign = store.get_campaign(session, campaign_id)
    tree = _Tree(session)
    expected_ids = [u.id for u in campaign.expected_units] or reports_store.submitting_unit_ids(
        session, campaign_id
    )
    below = None if target is None else set(tree.subtree(target.id))
    ids = [i for i in expected_ids if scope.allows(i) and (below is None or i in below)]
    units = sorted((tree.info(i) for i in ids), key=lambda u: (u.district_code, u.code))
    latest = _latest_submissions(session, campaign_id, [u.id for u in units])
    facts = Facts(
        campaign_id=campaign.id,
        campaign_name=campaign.name,
        year=campaign.year,
        layout_id=campaign.layout_id,
        deadline=campaign.deadline,
        target=None if target is None else tree.info(target.id),
        units=tuple(units),
        latest=latest,
        readings=(),
        include_unreviewed=include_unreviewed,
    )
    included = {s.id: s.unit_id for s in latest.values() if facts.is_included(s)}
    readings = _readings(session, included)
    return Facts(**{**facts.__dict__, "readings": readings})


def _latest_submissions(
    session: Session, campaign_id: int, unit_ids: list[int]
) -> dict[int, SubmissionInfo]:
    if not unit_ids:
        return {}
    rows = reports_store.submission_versions(session, campaign_id, unit_ids)
    first: dict[int, datetime] = {}
    latest: dict[int, SubmissionInfo] = {}
    for sid, unit_id, version, status, created_at in rows:
        first.setdefault(unit_id, created_at)
        latest[unit_id] = SubmissionInfo(sid, unit_id, version, status, first[unit_id])
    return latest


def _readings(session: Session, unit_of: dict[int, int]) -> tuple[ReadingInfo, ...]:
    if not unit_of:
        return ()
    rows = reports_store.reading_values(session, sorted(unit_of))
    return tuple(
        ReadingInfo(rid, sid, unit_of[sid], pos, row_key, field, value, status, box is not None)
        for rid, sid, pos, row_key, field, value, status, box in rows
    )


class _Tree:
    """The whole unit tree in memory (a province has a few thousand units at most)."""

    def __init__(self, session: Session) -> None:
        rows = reports_store.unit_tree_rows(session)
        self.rows = {r.id: r for r in rows}

    def subtree(self, root_id: int) -> list[int]:
        return descendants(((r.id, r.parent_id) for r in self.rows.values()), root_id)

    def _ancestor(self, uid: int, kind: str) -> int | None:
        seen: set[int] = set()
        current: int | None = uid
        while current is not None and current not in seen:
            seen.add(current)
            if self.rows[current].kind == kind:
                return current
            current = self.rows[current].parent_id
        return None

    def info(self, uid: int) -> UnitInfo:
        row = self.rows[uid]
        district = self._ancestor(uid, DISTRICT_KIND)
        if district is None:  # managed directly by the province: grouped under its parent
            district = row.parent_id if row.parent_id is not None else uid
        province = self._ancestor(uid, PROVINCE_KIND) or district
        return UnitInfo(
            id=uid,
            code=row.code,
            name=row.name,
            kind=row.kind,
            district_code=self.rows[district].code,
            district_name=self.rows[district].name,
            province_code=self.rows[province].code,
            province_name=self.rows[province].name,
        )

    def provinces_of(self, unit_ids: list[int]) -> set[int]:
        return {p for i in unit_ids if (p := self._ancestor(i, PROVINCE_KIND)) is not None}


# --- the target of a report -----------------------------------------------------------


def resolve_target(
    session: Session,
    campaign: Campaign,
    *,
    level: Level,
    unit_code: str | None,
    home_unit_id: int | None,
    scope: Scope,
) -> Unit:
    """The unit a report is about.

    It is ``unit_code``, else the user's own unit, else the campaign's only province.
    Outside ``scope`` it does not exist (404); it must be of the ``level``'s kind (422
    otherwise).
    """
    if unit_code is not None:
        unit = store.get_unit_by_code(session, unit_code)
        if unit is None or not scope.allows(unit.id):
            raise NotFoundError(f"No unit {unit_code!r}.")
    elif home_unit_id is not None:
        unit = session.get_one(Unit, home_unit_id)
    else:
        tree = _Tree(session)
        expected = [u.id for u in campaign.expected_units] or reports_store.submitting_unit_ids(
            session, campaign.id
        )
        provinces = tree.provinces_of(expected)
        if len(provinces) != 1 or level != Level.PROVINCE:
            raise InvalidRequestError(
                "Name the unit the report is about.",
                code="unit_required",
                fix="Add unit=<code of a district or province>.",
            )
        unit = session.get_one(Unit, provinces.pop())
    if unit.kind != level.value:
        raise InvalidRequestError(
            f"Unit {unit.code!r} is a {unit.kind}, not a {level.value}.",
            code="unit_level_mismatch",
            fix=f"Name a {level.value} with unit=, or change level.",
        )
    return unit


# --- completeness ---------------------------------------------------------------------


@dataclass(frozen=True)
class Completeness:
    """One group (a district or a province, or everything) of a campaign's reporting."""

    unit_code: str
    unit_name: str
    expected: int
    submitted: int  # units with at least one submission (any status)
    clean: int  # units whose latest submission is clean
    needs_review: int
    failed: int
    late: int  # units whose first submission came after the deadline
    missing: tuple[UnitInfo, ...]  # expected units without any submission


def completeness(facts: Facts, level: Level) -> tuple[list[Completeness], Completeness]:
    """Per group of ``level``, and the whole (``unit_code`` empty), in code order."""
    groups: dict[str, list[UnitInfo]] = defaultdict(list)
    names: dict[str, str] = {}
    for unit in facts.units:
        if level == Level.DISTRICT:
            key, names[unit.district_code] = unit.district_code, unit.district_name
        else:
            key, names[unit.province_code] = unit.province_code, unit.province_name
        groups[key].append(unit)
    per_group = [_count(facts, code, names[code], groups[code]) for code in sorted(groups)]
    return per_group, _count(facts, "", "", list(facts.units))


def _count(facts: Facts, code: str, name: str, units: list[UnitInfo]) -> Completeness:
    latest = [facts.latest[u.id] for u in units if u.id in facts.latest]
    statuses = [s.status for s in latest]
    return Completeness(
        unit_code=code,
        unit_name=name,
        expected=len(units),
        submitted=len(latest),
        clean=statuses.count(SubmissionStatus.CLEAN),
        needs_review=statuses.count(SubmissionStatus.NEEDS_REVIEW),
        failed=statuses.count(SubmissionStatus.FAILED),
        late=sum(is_late(s.first_at, facts.deadline) for s in latest),
        missing=tuple(u for u in units if u.id not in facts.latest),
    )


def readings_of(
    session: Session, submission_ids: list[int], row_key: str, field: str
) -> dict[int, ReadingInfo]:
    """One field's reading in each of ``submission_ids`` (those not in the totals)."""
    if not submission_ids:
        return {}
    rows = reports_store.field_readings(session, submission_ids, row_key, field)
    return {
        r.submission_id: ReadingInfo(
            r.id,
            r.submission_id,
            unit_id,
            r.position,
            r.row_key,
            r.field,
            r.value,
            r.status,
            r.box is not None,
        )
        for r, unit_id in rows
    }


def report_facts(
    session: Session,
    campaign_id: int,
    *,
    scope: Scope,
    level: Level,
    unit_code: str | None,
    home_unit_id: int | None,
    include_unreviewed: bool,
) -> Facts:
    """The facts of a report about ``unit_code`` (see ``resolve_target``) at ``level``.

    The exports of the API and of ``formscan export`` both start here; ``home_unit_id``
    is a reviewer's own unit, the default target (None for an admin or the CLI).
    """
    campaign = store.get_campaign(session, campaign_id)
    target = resolve_target(
        session,
        campaign,
        level=level,
        unit_code=unit_code,
        home_unit_id=home_unit_id,
        scope=scope,
    )
    return collect(
        session, campaign.id, scope=scope, target=target, include_unreviewed=include_unreviewed
    )
