"""Aggregation, completeness, charts and exports of a campaign: views for analysts.

Admins and reviewers only: an uploader gets 403 (these are other units' figures).
A reviewer sees the units of its subtree: totals, completeness and charts cover only
them, and naming a unit outside it answers 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from ocr.layout import load_layout
from service.deps import CurrentUserDep, ScopeDep, SessionDep
from service.errors import problem_responses
from service.models import Role, User
from service.reports import aggregate, export
from service.reports.access import require_analyst, unit_in_scope
from service.reports.aggregate import Level
from service.reports.figures import totals_of
from service.reports.sources import layout_row, sources_of
from service.schemas import (
    AggregatePublic,
    CompletenessGroupPublic,
    CompletenessPublic,
    MissingUnitPublic,
    SourcesPublic,
    TotalPublic,
)

router = APIRouter(prefix="/api", tags=["aggregation and exports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
PNG = "image/png"


def _analyst(user: CurrentUserDep) -> User:
    return require_analyst(user)


AnalystDep = Annotated[User, Depends(_analyst)]
UnreviewedQuery = Annotated[
    bool, Query(description="Also count submissions still under review (marked so).")
]
UnitQuery = Annotated[str | None, Query(description="Code of the unit whose subtree is covered.")]


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
    target = unit_in_scope(session, scope, unit)
    facts = aggregate.collect(
        session, campaign_id, scope=scope, target=target, include_unreviewed=include_unreviewed
    )
    items = [
        TotalPublic(
            group=t.group,
            row_key=t.row_key,
            field=t.field,
            total=t.total,
            n_reported=t.n_reported,
            n_submitted=t.n_submitted,
            n_expected=t.n_expected,
            includes_unreviewed=t.includes_unreviewed,
            sources_url=f"/api/aggregates/{campaign_id}/{t.group}/{t.row_key}/{t.field}/sources"
            + ("?include_unreviewed=true" if include_unreviewed else ""),
        )
        for t in totals_of(facts, load_layout(facts.layout_id), by=level.value)
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
    return sources_of(
        session,
        campaign_id,
        unit_code,
        row_key,
        field,
        scope=scope,
        include_unreviewed=include_unreviewed,
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
    target = unit_in_scope(session, scope, unit)
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
    target = unit_in_scope(session, scope, unit)
    facts = aggregate.collect(
        session, campaign_id, scope=scope, target=target, include_unreviewed=include_unreviewed
    )
    layout = load_layout(facts.layout_id)
    png = export.chart_png(facts, layout, layout_row(layout, row_key))
    return Response(png, media_type=PNG, headers={"Cache-Control": "private, no-cache"})


def _export_facts(
    campaign_id: int,
    user: AnalystDep,
    session: SessionDep,
    scope: ScopeDep,
    level: Level = Level.PROVINCE,
    unit: UnitQuery = None,
    include_unreviewed: UnreviewedQuery = False,
) -> aggregate.Facts:
    """The facts an export covers, from its query; a reviewer's defaults to its own unit.

    A dependency rather than a helper: both export routes take the same query, and
    FastAPI documents its parameters once for each.
    """
    return aggregate.report_facts(
        session,
        campaign_id,
        scope=scope,
        level=level,
        unit_code=unit,
        home_unit_id=user.unit_id if user.role == Role.REVIEWER else None,
        include_unreviewed=include_unreviewed,
    )


ExportFactsDep = Annotated[aggregate.Facts, Depends(_export_facts)]


def _attachment(campaign_id: int, facts: aggregate.Facts, extension: str) -> dict[str, str]:
    target = "all" if facts.target is None else facts.target.code
    name = f"formscan-{campaign_id}-{target}.{extension}"
    # Unit codes are free text: keep the header ASCII and unambiguous.
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
    return {"Content-Disposition": f'attachment; filename="{safe}"'}


def _export_response(
    facts: aggregate.Facts, campaign_id: int, *, file_format: str, media_type: str
) -> Response:
    """The file of ``facts`` as an attachment named after the campaign and its unit."""
    body = export.export_file(facts, file_format=file_format)
    headers = _attachment(campaign_id, facts, file_format)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/exports/{campaign_id}.xlsx", response_class=Response, responses=_binary(XLSX))
def export_xlsx(campaign_id: int, facts: ExportFactsDep) -> Response:
    """The official summary table of a district or the province, as XLSX.

    Also a sheet per unit and the missing units; ``unit`` defaults to the reviewer's
    own unit (or the province).
    """
    return _export_response(facts, campaign_id, file_format="xlsx", media_type=XLSX)


@router.get("/exports/{campaign_id}.csv", response_class=Response, responses=_binary(CSV))
def export_csv(campaign_id: int, facts: ExportFactsDep) -> Response:
    """Every included value in long format (columns in the README), UTF-8 with BOM."""
    return _export_response(facts, campaign_id, file_format="csv", media_type=CSV)
