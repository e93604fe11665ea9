"""Every route, every role: who may see and do what, on SQLite and PostgreSQL.

The tree: province P -> districts A, B -> schools A1, A2 (in A) and B1 (in B), one
processed submission per school with readings written directly (no OCR). Routes act
on A1's submission: the reviewer of A and the uploader of A1 reach it, the reviewer
of B gets 404 as if it did not exist, an anonymous request 401. ``ROUTE_CASES`` must
name every route of the app, so a new route without a case here fails.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from service import store
from service.app import create_app
from service.models import Job, JobState, Page, Reading, Role, Submission, SubmissionStatus
from service.page_images import encode_png
from tests.service.conftest import (
    TEST_PASSWORD,
    _postgres_schema_url,
    add_user,
    bearer_token,
    make_settings,
)

ROLES = ("admin", "reviewer_a", "reviewer_b", "uploader_a1", "anonymous")
SCHOOLS = {"A1": "A", "A2": "A", "B1": "B"}
USERS = {
    "admin": (Role.ADMIN, None),
    "reviewer_a": (Role.REVIEWER, "A"),
    "reviewer_b": (Role.REVIEWER, "B"),
    "uploader_a1": (Role.UPLOADER, "A1"),
}


@dataclass
class World:
    client: TestClient
    sessions: sessionmaker[Session]
    tokens: dict[str, str]
    campaign_id: int
    submission_ids: dict[str, int]  # by school code
    reading_ids: dict[str, int]
    job_ids: dict[str, int]
    counter: Iterator[int]

    def headers(self, role: str) -> dict[str, str]:
        return {} if role == "anonymous" else {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp_path = tmp_path_factory.mktemp("scope")
    urls: Iterator[str]
    if request.param == "sqlite":
        urls = iter([f"sqlite:///{tmp_path / 'formscan.db'}"])
    else:
        urls = _postgres_schema_url()
    url = next(urls)
    settings = make_settings(tmp_path, url, is_runner_enabled=False)
    try:
        with TestClient(create_app(settings)) as client:
            yield build_world(client)
    finally:
        for _ in urls:  # runs the PostgreSQL schema clean-up
            pass


def build_world(client: TestClient) -> World:
    sessions: sessionmaker[Session] = client.app.state.sessions  # type: ignore[attr-defined]
    blobs = client.app.state.store  # type: ignore[attr-defined]
    rows = [store.UnitRow("P", "Sở GD&ĐT", "province", None)]
    rows += [store.UnitRow(d, f"Phòng {d}", "district", "P") for d in ("A", "B")]
    rows += [store.UnitRow(s, f"Trường {s}", "school", d) for s, d in SCHOOLS.items()]
    page_png = blobs.put_bytes(encode_png(np.full((200, 300), 255, dtype=np.uint8)))
    with sessions.begin() as session:
        store.import_units(session, rows)
        campaign = store.create_campaign(
            session,
            name="c",
            layout_id="llw-summary-2022",
            year=2022,
            deadline=None,
            expected_unit_codes=list(SCHOOLS),
        )
        campaign_id = campaign.id
        ids = {s: processed_submission(session, s, campaign_id, page_png) for s in SCHOOLS}
    tokens = {}
    for name, (role, unit) in USERS.items():
        add_user(sessions, name, role, unit_code=unit)
        tokens[name] = bearer_token(sessions, name)
    return World(
        client=client,
        sessions=sessions,
        tokens=tokens,
        campaign_id=campaign_id,
        submission_ids={s: v[0] for s, v in ids.items()},
        reading_ids={s: v[1] for s, v in ids.items()},
        job_ids={s: v[2] for s, v in ids.items()},
        counter=itertools.count(),
    )


def processed_submission(
    session: Session, school: str, campaign_id: int, page_png: str
) -> tuple[int, int, int]:
    """A submission in needs_review with one page and one flagged reading, and a failed job."""
    files = [store.StoredFile(f"{school}.pdf", "0" * 64, "application/pdf", 10)]
    submission, _ = store.create_submission(
        session, unit_code=school, campaign_id=campaign_id, files=files, attempt_limit=1
    )
    submission.status = SubmissionStatus.NEEDS_REVIEW
    session.add(
        Page(
            submission_id=submission.id,
            page_index=0,
            source="x",
            dpi=200,
            width_px=300,
            height_px=200,
            image_sha256=page_png,
        )
    )
    reading = Reading(
        submission_id=submission.id,
        position=0,
        row_key="1.total",
        field="count",
        value=13,
        text="13",
        confidence=0.5,
        status="needs_review",
        reasons=["low_confidence"],
        page_index=0,
        box=[50, 50, 40, 20],
    )
    session.add(reading)
    assert submission.job is not None
    submission.job.state, submission.job.attempt = JobState.FAILED, 1
    session.flush()
    return submission.id, reading.id, submission.job.id


# --- the cases ------------------------------------------------------------------------

Request = tuple[str, dict[str, Any]]  # url, keyword arguments of client.request
OK = {"GET": 200, "POST": 200, "DELETE": 204}


def _a1_submission(w: World, role: str) -> Request:
    return f"/api/submissions/{w.submission_ids['A1']}", {}


def _reading_version(w: World) -> int:
    with w.sessions() as session:
        return session.get_one(Reading, w.reading_ids["A1"]).version


def _failed_job(w: World) -> None:
    with w.sessions.begin() as session:
        session.execute(update(Job).where(Job.id == w.job_ids["A1"]).values(state=JobState.FAILED))


def _reviewable(w: World) -> None:
    """The retry case sets the submission back to received: make it reviewable again."""
    with w.sessions.begin() as session:
        session.execute(
            update(Submission)
            .where(Submission.id == w.submission_ids["A1"])
            .values(status=SubmissionStatus.NEEDS_REVIEW)
        )


def _fresh_admin_token_id(w: World) -> int:
    response = w.client.post("/api/tokens", json={"name": "x"}, headers=w.headers("admin"))
    return int(response.json()["id"])


def _upload(w: World, role: str) -> Request:
    data = b"%PDF-1.4\n" + str(next(w.counter)).encode() * 20
    return "/api/submissions", {
        "data": {"unit": "A1", "campaign": str(w.campaign_id)},
        "files": [("files", ("a.pdf", data, "application/pdf"))],
    }


def _session_body(w: World, role: str) -> Request:
    username = "admin" if role == "anonymous" else role
    password = "wrong password" if role == "anonymous" else TEST_PASSWORD
    return "/api/session", {"json": {"username": username, "password": password}}


SCOPED = {"admin": 200, "reviewer_a": 200, "reviewer_b": 404, "uploader_a1": 200, "anonymous": 401}
SIGNED_IN = {r: 200 for r in ROLES} | {"anonymous": 401}
ADMIN_ONLY = {
    "admin": 201,
    "reviewer_a": 403,
    "reviewer_b": 403,
    "uploader_a1": 403,
    "anonymous": 401,
}
OWN = {"admin": 204, "reviewer_a": 404, "reviewer_b": 404, "uploader_a1": 404, "anonymous": 401}

# Analysts' views cover the reviewer's own subtree (B's reviewer sees B's figures);
# a unit named outside it answers 404; uploaders may not see other units' figures.
ANALYST = {"admin": 200, "reviewer_a": 200, "reviewer_b": 200, "uploader_a1": 403, "anonymous": 401}
ANALYST_SUBTREE = ANALYST | {"reviewer_b": 404}


def with_status(expected: dict[str, int], status: int) -> dict[str, int]:
    return {r: status if s == 200 else s for r, s in expected.items()}


@dataclass(frozen=True)
class Case:
    request: Callable[[World, str], Request]
    expected: dict[str, int]
    prepare: Callable[[World], object] | None = None


def _url(template: str) -> Callable[[World, str], Request]:
    def build(w: World, role: str) -> Request:
        return template.format(
            s=w.submission_ids["A1"], r=w.reading_ids["A1"], j=w.job_ids["A1"], c=w.campaign_id
        ), {}

    return build


ROUTE_CASES: dict[tuple[str, str], Case] = {
    ("GET", "/healthz"): Case(_url("/healthz"), {r: 200 for r in ROLES}),
    ("POST", "/api/session"): Case(_session_body, SIGNED_IN),
    ("GET", "/api/session"): Case(_url("/api/session"), SIGNED_IN),
    ("DELETE", "/api/session"): Case(_url("/api/session"), with_status(SIGNED_IN, 204)),
    ("POST", "/api/tokens"): Case(
        lambda w, r: ("/api/tokens", {"json": {"name": "t"}}), with_status(SIGNED_IN, 201)
    ),
    ("GET", "/api/tokens"): Case(_url("/api/tokens"), SIGNED_IN),
    ("DELETE", "/api/tokens/{token_id}"): Case(
        lambda w, r: (f"/api/tokens/{w.token_to_delete}", {}),  # type: ignore[attr-defined]
        OWN,
        prepare=lambda w: setattr(w, "token_to_delete", _fresh_admin_token_id(w)),
    ),
    ("POST", "/api/units"): Case(
        lambda w, r: (
            "/api/units",
            {
                "json": {
                    "code": f"N{next(w.counter)}",
                    "name": "n",
                    "kind": "school",
                    "parent_code": "A",
                }
            },
        ),
        ADMIN_ONLY,
    ),
    ("GET", "/api/units"): Case(_url("/api/units"), SIGNED_IN),
    ("POST", "/api/campaigns"): Case(
        lambda w, r: ("/api/campaigns", {"json": {"name": "n", "year": 2023}}), ADMIN_ONLY
    ),
    ("GET", "/api/campaigns"): Case(_url("/api/campaigns"), SIGNED_IN),
    ("GET", "/api/campaigns/{campaign_id}"): Case(_url("/api/campaigns/{c}"), SIGNED_IN),
    ("POST", "/api/submissions"): Case(
        _upload,
        {"admin": 202, "reviewer_a": 202, "reviewer_b": 422, "uploader_a1": 202, "anonymous": 401},
    ),
    ("GET", "/api/submissions"): Case(_url("/api/submissions"), SIGNED_IN),
    ("GET", "/api/submissions/{submission_id}"): Case(_a1_submission, SCOPED),
    ("GET", "/api/submissions/{submission_id}/readings"): Case(
        _url("/api/submissions/{s}/readings"), SCOPED
    ),
    ("GET", "/api/submissions/{submission_id}/audit"): Case(
        _url("/api/submissions/{s}/audit"), SCOPED
    ),
    ("GET", "/api/submissions/{submission_id}/pages/{page_no}.png"): Case(
        _url("/api/submissions/{s}/pages/1.png?overlay=1"), SCOPED
    ),
    ("GET", "/api/jobs/{job_id}"): Case(_url("/api/jobs/{j}"), SCOPED),
    ("POST", "/api/jobs/{job_id}/retry"): Case(
        _url("/api/jobs/{j}/retry"), with_status(SCOPED, 202), prepare=_failed_job
    ),
    ("GET", "/api/review/queue"): Case(_url("/api/review/queue"), SIGNED_IN),
    # Operators' views of the job queue: admins only.
    ("GET", "/api/queue"): Case(_url("/api/queue"), ADMIN_ONLY | {"admin": 200}),
    ("GET", "/metrics"): Case(_url("/metrics"), ADMIN_ONLY | {"admin": 200}),
    ("GET", "/api/readings/{reading_id}"): Case(_url("/api/readings/{r}"), SCOPED),
    ("GET", "/api/readings/{reading_id}/audit"): Case(_url("/api/readings/{r}/audit"), SCOPED),
    ("GET", "/api/readings/{reading_id}/crop.png"): Case(
        _url("/api/readings/{r}/crop.png"), SCOPED
    ),
    ("POST", "/api/readings/{reading_id}/decisions"): Case(
        lambda w, r: (
            f"/api/readings/{w.reading_ids['A1']}/decisions",
            {"json": {"action": "confirm", "version": _reading_version(w)}},
        ),
        SCOPED,
        prepare=_reviewable,
    ),
    # Aggregation and exports: admins and reviewers (their subtree), never uploaders.
    ("GET", "/api/aggregates/{campaign_id}"): Case(
        _url("/api/aggregates/{c}?include_unreviewed=true"), ANALYST
    ),
    ("GET", "/api/aggregates/{campaign_id}/{unit_code}/{row_key}/{field}/sources"): Case(
        _url("/api/aggregates/{c}/A/1.total/count/sources"), ANALYST_SUBTREE
    ),
    ("GET", "/api/campaigns/{campaign_id}/completeness"): Case(
        _url("/api/campaigns/{c}/completeness?level=district"), ANALYST
    ),
    ("GET", "/api/campaigns/{campaign_id}/charts/{row_key}.png"): Case(
        _url("/api/campaigns/{c}/charts/1.total.png"), ANALYST
    ),
    ("GET", "/api/exports/{campaign_id}.xlsx"): Case(
        _url("/api/exports/{c}.xlsx?level=district&unit=A"), ANALYST_SUBTREE
    ),
    ("GET", "/api/exports/{campaign_id}.csv"): Case(
        _url("/api/exports/{c}.csv?level=district&unit=A&include_unreviewed=true"),
        ANALYST_SUBTREE,
    ),
}


def app_routes(app: Any) -> set[tuple[str, str]]:
    routes = set()
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue  # the OpenAPI document and its viewers
        if context.original_route.endpoint.__module__ == "service.web.pages":
            continue  # HTML pages: same user and scope resolution, tested in tests/web
        for method in context.methods or ():
            routes.add((method, context.path))
    return routes


def test_route_cases_cover_every_route() -> None:
    assert app_routes(create_app(make_settings(Path("/nonexistent"), "sqlite://"))) == set(
        ROUTE_CASES
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(ROUTE_CASES), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_scope(world: World, route: tuple[str, str], role: str) -> None:
    case = ROUTE_CASES[route]
    if case.prepare is not None:
        case.prepare(world)
    url, kwargs = case.request(world, role)
    headers = {} if route == ("POST", "/api/session") else world.headers(role)
    world.client.cookies.clear()
    response = world.client.request(route[0], url, headers=headers, **kwargs)
    assert response.status_code == case.expected[role], response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
    if response.status_code == 401:
        assert response.json()["code"] == "not_authenticated"
        assert response.json()["fix"]


LISTED = {
    "admin": {"A1", "A2", "B1"},
    "reviewer_a": {"A1", "A2"},
    "reviewer_b": {"B1"},
    "uploader_a1": {"A1"},
}


@pytest.mark.parametrize("role", list(LISTED))
def test_lists_only_scope(world: World, role: str) -> None:
    get = lambda url: world.client.get(url, headers=world.headers(role)).json()  # noqa: E731
    expected = LISTED[role]
    original = {world.submission_ids[s] for s in expected}
    listed = {s["id"] for s in get("/api/submissions?limit=200")["items"]}
    assert original <= listed
    assert not {world.submission_ids[s] for s in set(SCHOOLS) - expected} & listed
    queue = get("/api/review/queue?limit=200")["items"]
    # A1's original may have been replaced by an upload case (the queue lists the latest).
    assert expected - {"A1"} <= {i["unit"]["code"] for i in queue} <= expected
    units = {u["code"] for u in get("/api/units")}
    assert expected <= units and not (set(SCHOOLS) - expected) & units
    campaign = get(f"/api/campaigns/{world.campaign_id}")
    assert set(campaign["expected_unit_codes"]) == expected


def test_upload_outside_scope_refused_as_unknown(world: World) -> None:
    data = b"%PDF-1.4\n uploader-elsewhere"
    response = world.client.post(
        "/api/submissions",
        data={"unit": "A2", "campaign": str(world.campaign_id)},
        files=[("files", ("a.pdf", data, "application/pdf"))],
        headers=world.headers("uploader_a1"),
    )
    assert (response.status_code, response.json()["code"]) == (422, "unknown_unit")


def test_decision_by_uploader_recorded(world: World) -> None:
    _reviewable(world)
    reading_id = world.reading_ids["A1"]
    body = {"action": "confirm", "version": _reading_version(world)}
    response = world.client.post(
        f"/api/readings/{reading_id}/decisions", json=body, headers=world.headers("uploader_a1")
    )
    assert response.status_code == 200, response.text
    reading = response.json()["reading"]
    assert (reading["decided_by"], reading["decided_by_uploader"]) == ("uploader_a1", True)
