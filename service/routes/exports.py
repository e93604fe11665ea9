"""Aggregation, completeness, charts and exports of a campaign: views for analysts.

Admins and reviewers only: an uploader gets 403 (these are other units' figures).
A reviewer sees the units of its subtree: totals, completeness and charts cover only
them, and naming a unit outside it answers 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from ocr.layout import Layout, Row, load_layout
from service import aggregate, export, store
from service.aggregate import Level
from service.auth import ForbiddenError
from service.deps import CurrentUserDep, ScopeDep, SessionDep
from service.errors import NotFoundError, problem_responses
from service.models import Role, Unit, User
from service.schemas import (
    AggregatePublic,
    CompletenessGroupPublic,
    CompletenessPublic,
    MissingUnitPublic,
    SourcePublic,
    SourcesPublic,
    TotalPublic,
)

router = APIRouter(prefix="/api", tags=["aggregation and exports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
PNG = "image/png"


def require_analyst(user: CurrentUserDep) -> User:
    if user.role == Role.UPLOADER:
        raise ForbiddenError("Totals and exports are for reviewers and admins.")
    return user


AnalystDep = Annotated[User, Depends(require_analyst)]
UnreviewedQuery = Annotated[
    bool, Query(description="Also count submissions still under review (marked so).")
]
UnitQuery = Annotated[str | None, Query(description="Code of the unit whose subtree is covered.")]


def _unit_in_scope(session: SessionDep, scope: ScopeDep, code: str | None) -> Unit | None:
    if code is None:
        return None
    unit = store.get_unit_by_code(session, code)
    if unit is None or not scope.allows(unit.id):
        raise NotFoundError(f"No unit {code!r}.")
    return unit


def _layout_row(layout: Layout, row_key: str) -> Row:
    row = next((r for r in layout.rows if r.key == row_key and r.fields), None)
    if row is None:
        raise NotFoundError(f"No numeric row {row_key!r} in layout {layout.id}.")
    return row


def _binary(media_type: str) -> dict[int | str, dict[str, object]]:
    return {
        200: {"content": {media_type: {"schema": {"type": "string", "format": "binary"}}}},
        **problem_responses(403, 404, 422),
    }


@router.get("/aggregates/{campaign_id}", responses=problem_responses(403, 404, 422))
def aggregates(
    campaign_id: int,
    _user: AnalystDep,
    session: SessionDep,
    scope: ScopeDep,
    level: Level = Level.DISTRICT,
    unit: UnitQuery = None,
    include_unreviewed: UnreviewedQuery = False,
) -> AggregatePublic:
    """Totals of every row and field per district (or province), in the layout's order."""
    target = _unit_in_scope(session, scope, unit)
    facts = aggregate.collect(
        session, campaign_id, scope=scope, target=target, include_unreviewed=include_unreviewed
    )
    frame = export.totals(facts, load_layout(facts.layout_id), by=level.value)
    items = [
        TotalPublic(
            group=group,
            row_key=row_key,
            field=field,
            total=int(t["total"]) if t["n_reported"] else None,
            n_reported=int(t["n_reported"]),
            n_submitted=int(t["n_submitted"]),
            n_expected=int(t["n_expected"]),
            includes_unreviewed=bool(t["includes_unreviewed"]),
            sources_url=f"/api/aggregates/{campaign_id}/{group}/{row_key}/{field}/sources"
            + ("?include_unreviewed=true" if include_unreviewed else ""),
        )
        for (group, row_key, field), t in frame.iterrows()
    ]
    return AggregatePublic(
        campaign_id=campaign_id,
        level=level.value,
        unit_code=unit,
        include_unreviewed=include_unreviewed,
        totals=items,
    )


@router.get(
    "/aggregates/{campaign_id}/{unit_code}/{row_key}/{field}/sources",
    responses=problem_responses(403, 404, 422),
)
def aggregate_sources(
    campaign_id: int,
    unit_code: str,
    row_key: str,
    field: str,
    _user: AnalystDep,
    session: SessionDep,
    scope: ScopeDep,
    include_unreviewed: UnreviewedQuery = False,
) -> SourcesPublic:
    """The submissions and readings behind one figure of ``unit_code`` (any unit, its subtree).

    Every expected unit's latest submission is listed with its reading of the field and
    whether it is in the total (``is_included``); ``crop_url`` shows the cell image.
    """
    target = _unit_in_scope(session, scope, unit_code)
    facts = aggregate.collect(
        session, campaign_id, scope=scope, target=target, include_unreviewed=include_unreviewed
    )
    layout = load_layout(facts.layout_id)
    if field not in _layout_row(layout, row_key).fields:
        raise NotFoundError(f"Row {row_key!r} has no field {field!r}.")
    readings = {
        r.submission_id: r for r in facts.readings if (r.row_key, r.field) == (row_key, field)
    }
    readings |= aggregate.readings_of(
        session, [s.id for s in facts.latest.values() if not facts.is_included(s)], row_key, field
    )
    sources = [
        _source(unit, facts.latest[unit.id], readings, facts)
        for unit in facts.units
        if unit.id in facts.latest
    ]
    counted = [s.value for s in sources if s.is_included and s.value is not None]
    return SourcesPublic(
        campaign_id=campaign_id,
        unit_code=unit_code,
        row_key=row_key,
        field=field,
        total=sum(counted) if counted else None,
        n_reported=len(counted),
        n_expected=len(facts.units),
        include_unreviewed=include_unreviewed,
        sources=sources,
        missing_unit_codes=[u.code for u in facts.units if u.id not in facts.latest],
    )


def _source(
    unit: aggregate.UnitInfo,
    submission: aggregate.SubmissionInfo,
    readings: dict[int, aggregate.ReadingInfo],
    facts: aggregate.Facts,
) -> SourcePublic:
    reading = readings.get(submission.id)
    return SourcePublic(
        unit_code=unit.code,
        unit_name=unit.name,
        district=unit.district_code,
        submission_id=submission.id,
        submission_version=submission.version,
        submission_status=submission.status,
        is_included=facts.is_included(submission),
        reading_id=None if reading is None else reading.id,
        value=None if reading is None else reading.value,
        status=None if reading is None else reading.status,
        crop_url=None
        if reading is None or not reading.has_box
        else f"/api/readings/{reading.id}/crop.png",
        reading_url=None if reading is None else f"/api/readings/{reading.id}",
    )


@router.get("/campaigns/{campaign_id}/completeness", responses=problem_responses(403, 404, 422))
def campaign_completeness(
    campaign_id: int,
    _user: AnalystDep,
    session: SessionDep,
    scope: ScopeDep,
    level: Level = Level.DISTRICT,
    unit: UnitQuery = None,
) -> CompletenessPublic:
    """Expected, submitted, clean, late and missing units per district or province."""
    target = _unit_in_scope(session, scope, unit)
    facts = aggregate.collect(session, campaign_id, scope=scope, target=target)
    groups, whole = aggregate.completeness(facts, level)
    return CompletenessPublic(
        campaign_id=campaign_id,
        level=level.value,
        deadline=facts.deadline,
        groups=[_completeness(g) for g in groups],
        total=_completeness(whole),
    )


def _completeness(group: aggregate.Completeness) -> CompletenessGroupPublic:
    return CompletenessGroupPublic(
        unit_code=group.unit_code,
        unit_name=group.unit_name,
        expected=group.expected,
        submitted=group.submitted,
        clean=group.clean,
        needs_review=group.needs_review,
        failed=group.failed,
        late=group.late,
        missing=[
            MissingUnitPublic(code=u.code, name=u.name, district=u.district_code)
            for u in group.missing
        ],
    )


@router.get(
    "/campaigns/{campaign_id}/charts/{row_key}.png",
    response_class=Response,
    responses=_binary(PNG),
)
def campaign_chart(
    campaign_id: int,
    row_key: str,
    _user: AnalystDep,
    session: SessionDep,
    scope: ScopeDep,
    unit: UnitQuery = None,
    include_unreviewed: UnreviewedQuery = False,
) -> Response:
    """Totals of one row by district, as a bar chart (PNG)."""
    target = _unit_in_scope(session, scope, unit)
    facts = aggregate.collect(
        session, campaign_id, scope=scope, target=target, include_unreviewed=include_unreviewed
    )
    layout = load_layout(facts.layout_id)
    png = export.chart_png(facts, layout, _layout_row(layout, row_key))
    return Response(png, media_type=PNG, headers={"Cache-Control": "private, no-cache"})


def _export_facts(
    session: SessionDep,
    scope: ScopeDep,
    user: User,
    campaign_id: int,
    *,
    level: Level,
    unit: str | None,
    include_unreviewed: bool,
) -> aggregate.Facts:
    campaign = store.get_campaign(session, campaign_id)
    target = aggregate.resolve_target(
        session,
        campaign,
        level=level,
        unit_code=unit,
        home_unit_id=user.unit_id if user.role == Role.REVIEWER else None,
        scope=scope,
    )
    return aggregate.collect(
        session, campaign_id, scope=scope, target=target, include_unreviewed=include_unreviewed
    )


def _attachment(campaign_id: int, facts: aggregate.Facts, extension: str) -> dict[str, str]:
    target = "all" if facts.target is None else facts.target.code
    name = f"formscan-{campaign_id}-{target}.{extension}"
    # Unit codes are free text: keep the header ASCII and unambiguous.
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
    return {"Content-Disposition": f'attachment; filename="{safe}"'}


@router.get("/exports/{campaign_id}.xlsx", response_class=Response, responses=_binary(XLSX))
def export_xlsx(
    campaign_id: int,
    user: AnalystDep,
    session: SessionDep,
    scope: ScopeDep,
    level: Level = Level.PROVINCE,
    unit: UnitQuery = None,
    include_unreviewed: UnreviewedQuery = False,
) -> Response:
    """The official summary table of a district or the province, a sheet per unit, and
    the missing units; ``unit`` defaults to the reviewer's own unit (or the province).
    """
    facts = _export_facts(
        session,
        scope,
        user,
        campaign_id,
        level=level,
        unit=unit,
        include_unreviewed=include_unreviewed,
    )
    body = export.to_xlsx(facts, load_layout(facts.layout_id))
    return Response(body, media_type=XLSX, headers=_attachment(campaign_id, facts, "xlsx"))


@router.get("/exports/{campaign_id}.csv", response_class=Response, responses=_binary(CSV))
def export_csv(
    campaign_id: int,
    user: AnalystDep,
    session: SessionDep,
    scope: ScopeDep,
    level: Level = Level.PROVINCE,
    unit: UnitQuery = None,
    include_unreviewed: UnreviewedQuery = False,
) -> Response:
    """Every included value in long format (columns in the README), UTF-8 with BOM."""
    facts = _export_facts(
        session,
        scope,
        user,
        campaign_id,
        level=level,
        unit=unit,
        include_unreviewed=include_unreviewed,
    )
    return Response(
        export.to_csv(facts), media_type=CSV, headers=_attachment(campaign_id, facts, "csv")
    )
