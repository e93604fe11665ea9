"""The web pages: sign in, upload, submissions, review queue, overview (HTML + small JS).

Pages are Jinja2 shells rendered here; their scripts (``static/app.js``) call the JSON
API with the session cookie and the CSRF token put in each page. Every page resolves
the signed-in user through ``deps.get_current_user`` and ``auth.scope_of``, exactly
as the API does, and reads through the same scoped repository functions: a
submission outside the user's scope renders the 404 page, as the API answers 404.
Without a session a page redirects to ``/login``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ocr.errors import OcrError
from ocr.layout import load_layout
from service import auth, i18n, repository
from service.deps import SecretKeyDep, SessionDep, get_current_user
from service.errors import NotFoundError
from service.models import Campaign, Reading, Role, Submission, SubmissionStatus, User
from service.review import OPEN_STATUSES

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
    user: User
    scope: auth.Scope
    csrf_token: str | None
    lang: str


def get_viewer(request: Request, session: SessionDep, key: SecretKeyDep) -> Viewer:
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
    safe_next = next if next.startswith("/") and not next.startswith("//") else "/"
    return _render(request, "login.html", None, page_data={"next": safe_next})


@router.get("/")
def home(viewer: ViewerDep) -> RedirectResponse:
    target = {Role.UPLOADER: "/upload", Role.REVIEWER: "/review"}.get(
        Role(viewer.user.role), "/overview"
    )
    return RedirectResponse(target, status_code=303)


@router.get("/upload")
def upload_page(request: Request, viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
    units = [u for u in repository.list_units(session, scope=viewer.scope)]
    campaigns = [
        c for c in repository.list_campaigns(session) if viewer.scope.units_in(c.expected_units)
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


def flagged_counts(session: Session, submission_ids: Sequence[int]) -> dict[int, int]:
    if not submission_ids:
        return {}
    query = (
        select(Reading.submission_id, func.count())
        .where(Reading.submission_id.in_(submission_ids), Reading.status.in_(OPEN_STATUSES))
        .group_by(Reading.submission_id)
    )
    return {sid: int(n) for sid, n in session.execute(query).all()}


@router.get("/submissions")
def submissions_page(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    status: Annotated[str | None, Query()] = None,
    unit: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    status = status if status in set(SubmissionStatus) else None
    items, total = repository.list_submissions(
        session,
        campaign_id=None,
        unit_code=unit or None,
        status=status,
        limit=200,
        offset=0,
        scope=viewer.scope,
    )
    counts = flagged_counts(session, [s.id for s in items])
    campaigns = {c.id: c for c in repository.list_campaigns(session)}
    return _render(
        request,
        "submissions.html",
        viewer,
        items=items,
        total=total,
        counts=counts,
        campaigns=campaigns,
        units=repository.list_units(session, scope=viewer.scope),
        statuses=list(SubmissionStatus),
        status=status or "",
        unit=unit or "",
    )


@router.get("/submissions/{submission_id}")
def submission_page(
    request: Request, submission_id: int, viewer: ViewerDep, session: SessionDep
) -> HTMLResponse:
    try:
        submission = repository.get_submission(session, submission_id, scope=viewer.scope)
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
    return _render(request, "review.html", viewer)


@dataclass(frozen=True)
class CampaignProgress:
    campaign: Campaign
    expected: int
    submitted: int
    clean: int
    late: int


def campaign_progress(
    session: Session, campaign: Campaign, scope: auth.Scope, today: date
) -> CampaignProgress:
    """Expected units in scope, and how many submitted, are clean (latest), are late.

    Late: past the deadline without a submission, or first submitted after it.
    """
    expected_ids = {u.id for u in scope.units_in(campaign.expected_units)}
    rows = session.execute(
        select(Submission.unit_id, Submission.version, Submission.status, Submission.created_at)
        .where(Submission.campaign_id == campaign.id, scope.clause(Submission.unit_id))
        .order_by(Submission.unit_id, Submission.version)
    ).all()
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


@router.get("/overview")
def overview_page(request: Request, viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
    today = datetime.now(UTC).date()
    progress = [
        campaign_progress(session, c, viewer.scope, today)
        for c in repository.list_campaigns(session)
    ]
    return _render(request, "overview.html", viewer, progress=progress)
