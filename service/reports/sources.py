"""What is behind one figure: every expected unit's latest submission and its reading."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ocr.layout import Layout, Row, load_layout
from service.errors import NotFoundError
from service.reports import aggregate
from service.reports.access import unit_in_scope
from service.schemas import SourcePublic, SourcesPublic
from service.scope import Scope


def layout_row(layout: Layout, row_key: str) -> Row:
    """The numeric row ``row_key`` of ``layout``, or 404."""
    row = next((r for r in layout.rows if r.key == row_key and r.fields), None)
    if row is None:
        raise NotFoundError(f"No numeric row {row_key!r} in layout {layout.id}.")
    return row


def sources_of(
    session: Session,
    campaign_id: int,
    unit_code: str,
    row_key: str,
    field: str,
    *,
    scope: Scope,
    include_unreviewed: bool,
) -> SourcesPublic:
    """The submissions and readings behind one figure of ``unit_code`` (its subtree).

    The API answers with it and the sources page renders it, so both show the same.
    """
    target = unit_in_scope(session, scope, unit_code)
    facts = aggregate.collect(
        session, campaign_id, scope=scope, target=target, include_unreviewed=include_unreviewed
    )
    layout = load_layout(facts.layout_id)
    if field not in layout_row(layout, row_key).fields:
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
