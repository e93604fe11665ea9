"""The web pages: sign in, upload, submissions, review queue, overview, sources (HTML + JS).

Pages are Jinja2 shells rendered here; their scripts (``static/app.js``) call the JSON
API with the session cookie and the CSRF token put in each page. Every page resolves
the signed-in user through ``deps.get_current_user`` and ``auth.scope_of``, exactly
as the API does, and reads through the same scoped store functions: a
submission outside the user's scope renders the 404 page, as the API answers 404.
Without a session a page redirects to ``/login``. The overview's district totals and
the sources page read through ``service.reports.aggregate`` with the same scope as the
aggregation API (``service.routes.exports``): for admins and reviewers only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from ocr.errors import OcrError
from ocr.layout import load_layout
from service import auth, store
from service.deps import SecretKeyDep, SessionDep, get_current_user
from service.errors import NotFoundError
from service.models import Campaign, Role, SubmissionStatus, Unit, User
from service.reports import aggregate, export
from service.reports.access import require_analyst
from service.reports.aggregate import Level
from service.reports.figures import totals_of
from service.reports.sources import sources_of
from service.scope import Scope
from service.store import reports as reports_store
from service.web import i18n

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False, tags=["web"])


class SignInRequiredError(Exception):
    """A page was asked for without a valid session: answered by a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Viewer:
    """Who looks at a page: the user, what they may see, the CSRF token the page's scripts send."""

    user: User
    scope: Scope
    csrf_token: str | None
    lang: str


def get_viewer(request: Request, session: SessionDep, key: SecretKeyDep) -> Viewer:
    """The signed-in viewer; a page without one redirects to the sign-in page instead of a 401."""
    try:
        user = get_current_user(request, session, key)
    except auth.NotAuthenticatedError:
        raise SignInRequiredError(request.url.path) from None
    scope = auth.scope_of(session, user)
    session.commit()
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    token = None if cookie is None else auth.token_from_cookie(key, cookie)
    csrf = None if token is None else auth.csrf_token(key, token)
    return Viewer(user=user, scope=scope, csrf_token=csrf, lang=i18n.language_of(request))


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def install(app: FastAPI) -> None:
    """Mount the pages, their static files and the sign-in redirect on ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    async def _sign_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequiredError)
        return RedirectResponse(f"/login?next={exc.next_path}", status_code=303)

    app.add_exception_handler(SignInRequiredError, _sign_in)


def _render(
    request: Request,
    name: str,
    viewer: Viewer | None,
    *,
    status_code: int = 200,
    page_data: dict[str, Any] | None = None,
    **context: Any,
) -> HTMLResponse:
    lang = viewer.lang if viewer else i18n.language_of(request)
    client = {
        "lang": lang,
        "csrf": viewer.csrf_token if viewer else None,
        "strings": i18n.strings(lang),
        "problems": i18n.problems(lang),
        "page": page_data or {},
    }
    return templates.TemplateResponse(
        request,
        name,
        {
            "viewer": viewer,
            "lang": lang,
            "t": lambda key: i18n.t(lang, key),
            "client_json": json.dumps(client, ensure_ascii=False).replace("</", "<\\/"),
            **context,
        },
        status_code=status_code,
    )


def _layout_rows(layout_id: str) -> list[dict[str, Any]]:
    """The layout's rows as the pages' scripts need them (labels, unit, fields)."""
    try:
        layout = load_layout(layout_id)
    except OcrError:
        return []
    return [
        {"key": r.key, "kind": r.kind, "label": r.label, "unit": r.unit, "number": r.number}
        for r in layout.rows
    ]


@router.get("/login")
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    """The sign-in form; ``next`` is kept only when it is a path of this site (no open redirect)."""
    safe_next = next if next.startswith("/") and not next.startswith("//") else "/"
    return _render(request, "login.html", None, page_data={"next": safe_next})


@router.get("/")
def home(viewer: ViewerDep) -> RedirectResponse:
    """Each role's first page: uploaders upload, reviewers review, admins see the overview."""
    target = {Role.UPLOADER: "/upload", Role.REVIEWER: "/review"}.get(
        Role(viewer.user.role), "/overview"
    )
    return RedirectResponse(target, status_code=303)


@router.get("/upload")
def upload_page(request: Request, viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
    """The upload form, offering only the units in scope and the campaigns that expect them."""
    units = [u for u in store.list_units(session, scope=viewer.scope)]
    campaigns = [
        c for c in store.list_campaigns(session) if viewer.scope.units_in(c.expected_units)
    ]
    rows = {c.layout_id: _layout_rows(c.layout_id) for c in campaigns}
    return _render(
        request,
        "upload.html",
        viewer,
        units=units,
        campaigns=campaigns,
        page_data={"rows": rows, "campaignLayouts": {c.id: c.layout_id for c in campaigns}},
    )


@router.get("/submissions")
def submissions_page(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    status: Annotated[str | None, Query()] = None,
    unit: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """The submissions in scope with their status and how many readings wait for review."""
    status = status if status in set(SubmissionStatus) else None
    items, total = store.list_submissions(
        session,
        campaign_id=None,
        unit_code=unit or None,
        status=status,
        limit=200,
        offset=0,
        scope=viewer.scope,
    )
    counts = store.open_reading_counts(session, [s.id for s in items])
    campaigns = {c.id: c for c in store.list_campaigns(session)}
    return _render(
        request,
        "submissions.html",
        viewer,
        items=items,
        total=total,
        counts=counts,
        campaigns=campaigns,
        units=store.list_units(session, scope=viewer.scope),
        statuses=list(SubmissionStatus),
        status=status or "",
        unit=unit or "",
    )


@router.get("/submissions/{submission_id}")
def submission_page(
    request: Request, submission_id: int, viewer: ViewerDep, session: SessionDep
) -> HTMLResponse:
    """One submission: its pages, readings and status (the not-found page outside scope)."""
    try:
        submission = store.get_submission(session, submission_id, scope=viewer.scope)
    except NotFoundError:
        return _render(request, "notfound.html", viewer, status_code=404)
    campaign = session.get(Campaign, submission.campaign_id)
    return _render(
        request,
        "submission.html",
        viewer,
        submission=submission,
        campaign=campaign,
        page_data={
            "submissionId": submission.id,
            "pages": submission.pages_total or 0,
            "rows": {submission.layout_id: _layout_rows(submission.layout_id)},
            "layoutId": submission.layout_id,
        },
    )


@router.get("/review")
def review_page(request: Request, viewer: ViewerDep) -> HTMLResponse:
    """The review queue's shell; its script reads the queue from the API."""
    return _render(request, "review.html", viewer)


@dataclass(frozen=True)
class CampaignProgress:
    """How far a campaign has come in the viewer's scope, for the overview's progress bars."""

    campaign: Campaign
    expected: int
    submitted: int
    clean: int
    late: int


def campaign_progress(
    session: Session, campaign: Campaign, scope: Scope, today: date
) -> CampaignProgress:
    """Expected units in scope, and how many submitted, are clean (latest), are late.

    Late: past the deadline without a submission, or first submitted after it.
    """
    expected_ids = {u.id for u in scope.units_in(campaign.expected_units)}
    rows = reports_store.campaign_versions_in(session, campaign.id, scope)
    latest: dict[int, str] = {}
    first: dict[int, datetime] = {}
    for unit_id, _version, status, created in rows:
        latest[unit_id] = status
        first.setdefault(unit_id, created)
    submitted = expected_ids & latest.keys()
    late = 0
    if campaign.deadline is not None:
        for uid in expected_ids:
            if uid not in first:
                late += today > campaign.deadline
            else:
                late += first[uid].date() > campaign.deadline
    return CampaignProgress(
        campaign=campaign,
        expected=len(expected_ids),
        submitted=len(submitted),
        clean=sum(latest[u] == SubmissionStatus.CLEAN for u in submitted),
        late=late,
    )


# Rows whose district totals the overview shows first (every row is one click away).
MAIN_ROWS = ("1.total", "2", "4.3", "10.1", "10.2")


@dataclass(frozen=True)
class Figure:
    """One total on the overview, with how many units it counts out of those expected."""

    total: int | None  # None: nobody reported the field
    n_reported: int
    n_expected: int
    includes_unreviewed: bool
    sources_url: str | None


@dataclass(frozen=True)
class FigureRow:
    """One (row, field) of the layout on the overview, with its figure per district."""

    key: str
    number: str
    label: str
    unit: str
    field: str
    is_main: bool
    by_group: dict[str, Figure]  # by district code
    whole: Figure


@dataclass(frozen=True)
class DistrictTotals:
    """The overview's table: the layout's rows by district, and which rows get a chart."""

    groups: list[tuple[str, str]]  # (code, name) of each district, in code order
    rows: list[FigureRow]  # every (row, field) of the layout, in its order
    charts: list[tuple[str, str]]  # (row key, label) of the main rows
    whole_code: str | None  # the unit the "all" column is about, when there is one
    whole_kind: str | None
    include_unreviewed: bool

    @property
    def main_rows(self) -> list[FigureRow]:
        """The rows with a chart: the main figures, not their breakdowns."""
        return [r for r in self.rows if r.is_main]


def sources_path(
    campaign_id: int, unit_code: str, row_key: str, field: str, unreviewed: bool
) -> str:
    """The page listing the submissions behind one figure (``unreviewed``: counted too)."""
    path = f"/campaigns/{campaign_id}/sources/{quote(unit_code, safe='')}/{row_key}/{field}"
    return path + ("?include_unreviewed=true" if unreviewed else "")


def district_totals(
    session: Session, campaign: Campaign, viewer: Viewer, include_unreviewed: bool
) -> DistrictTotals | None:
    """The campaign's totals per district in the viewer's scope (None for an uploader)."""
    if viewer.user.role == Role.UPLOADER:
        return None
    facts = aggregate.collect(
        session, campaign.id, scope=viewer.scope, include_unreviewed=include_unreviewed
    )
    try:
        layout = load_layout(facts.layout_id)
    except OcrError:
        return None
    names = export.group_names(facts)
    figures: dict[tuple[str, str], dict[str, Figure]] = {}
    for t in totals_of(facts, layout, by=Level.DISTRICT.value):
        figures.setdefault((t.row_key, t.field), {})[t.group] = Figure(
            total=t.total,
            n_reported=t.n_reported,
            n_expected=t.n_expected,
            includes_unreviewed=t.includes_unreviewed,
            sources_url=sources_path(campaign.id, t.group, t.row_key, t.field, include_unreviewed),
        )
    groups = sorted({u.district_code for u in facts.units})
    whole = _whole_unit(session, viewer, facts)
    whole_code = None if whole is None else whole.code
    rows = []
    for row in layout.rows:
        for field in row.fields:
            by_group = figures.get((row.key, field), {})
            rows.append(
                FigureRow(
                    key=row.key,
                    number=row.number or "",
                    label=row.label,
                    unit=row.unit or "",
                    field=field,
                    is_main=row.key in MAIN_ROWS,
                    by_group=by_group,
                    whole=_sum(
                        list(by_group.values()),
                        None
                        if whole_code is None
                        else sources_path(
                            campaign.id, whole_code, row.key, field, include_unreviewed
                        ),
                    ),
                )
            )
    return DistrictTotals(
        groups=[(g, names.get(g, g)) for g in groups],
        rows=rows,
        charts=[(r.key, r.label) for r in layout.rows if r.key in MAIN_ROWS and r.fields],
        whole_code=whole_code,
        whole_kind=None if whole is None else whole.kind,
        include_unreviewed=include_unreviewed,
    )


def _sum(figures: list[Figure], sources_url: str | None) -> Figure:
    reported = [f.total for f in figures if f.total is not None]
    return Figure(
        total=sum(reported) if reported else None,
        n_reported=sum(f.n_reported for f in figures),
        n_expected=sum(f.n_expected for f in figures),
        includes_unreviewed=any(f.includes_unreviewed for f in figures),
        sources_url=sources_url,
    )


def _whole_unit(session: Session, viewer: Viewer, facts: aggregate.Facts) -> Unit | None:
    """The unit whose subtree is all the viewer sees of the campaign, if there is one.

    That is a reviewer's own unit, else the only province (or the only district) of
    the units.
    """
    if viewer.user.role == Role.REVIEWER:
        return viewer.user.unit
    for codes in ({u.province_code for u in facts.units}, {u.district_code for u in facts.units}):
        if len(codes) == 1:
            unit = store.get_unit_by_code(session, codes.pop())
            if unit is not None and unit.kind in {Level.PROVINCE.value, Level.DISTRICT.value}:
                return unit
    return None


def export_links(totals: DistrictTotals) -> list[dict[str, str]]:
    """Downloads of the whole (a reviewer's unit, or the only province) and per district."""
    suffix = "&include_unreviewed=true" if totals.include_unreviewed else ""
    links = []
    level = totals.whole_kind
    if totals.whole_code is not None and level in {Level.PROVINCE.value, Level.DISTRICT.value}:
        query = f"?level={level}&unit={_q(totals.whole_code)}{suffix}"
        links.append({"code": totals.whole_code, "query": query})
    for code, _name in totals.groups:
        if code != totals.whole_code:
            links.append({"code": code, "query": f"?level=district&unit={_q(code)}{suffix}"})
    return links


def _q(text: str) -> str:
    return quote(text, safe="")


@router.get("/overview")
def overview_page(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    include_unreviewed: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    """The totals by district of the campaign, its progress and charts, for analysts."""
    today = datetime.now(UTC).date()
    progress = [
        campaign_progress(session, c, viewer.scope, today) for c in store.list_campaigns(session)
    ]
    totals = {
        p.campaign.id: district_totals(session, p.campaign, viewer, include_unreviewed)
        for p in progress
    }
    return _render(
        request,
        "overview.html",
        viewer,
        progress=progress,
        totals=totals,
        downloads={cid: export_links(t) for cid, t in totals.items() if t is not None},
        include_unreviewed=include_unreviewed,
    )


@router.get("/campaigns/{campaign_id}/sources/{unit_code}/{row_key}/{field}")
def sources_page(
    request: Request,
    campaign_id: int,
    unit_code: str,
    row_key: str,
    field: str,
    viewer: ViewerDep,
    session: SessionDep,
    include_unreviewed: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    """What is behind one figure, with exactly the API's answer (403 uploader, 404 scope)."""
    try:
        require_analyst(viewer.user)
        sources = sources_of(
            session,
            campaign_id,
            unit_code,
            row_key,
            field,
            scope=viewer.scope,
            include_unreviewed=include_unreviewed,
        )
    except auth.ForbiddenError:
        return _render(request, "forbidden.html", viewer, status_code=403)
    except NotFoundError:
        return _render(request, "notfound.html", viewer, status_code=404)
    campaign = session.get_one(Campaign, campaign_id)
    row = next(r for r in load_layout(campaign.layout_id).rows if r.key == row_key)
    codes = [unit_code, *sources.missing_unit_codes]
    names = store.unit_names(session, codes)
    return _render(
        request,
        "sources.html",
        viewer,
        campaign=campaign,
        sources=sources,
        row=row,
        unit_name=names.get(unit_code, unit_code),
        missing=[(c, names.get(c, c)) for c in sources.missing_unit_codes],
        toggle_url=sources_path(campaign_id, unit_code, row_key, field, not include_unreviewed),
        overview_url="/overview" + ("?include_unreviewed=true" if include_unreviewed else ""),
    )
