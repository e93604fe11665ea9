"""Every page, every role, without a browser: sign-in redirect, scope, 404 page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from service.app import create_app
from tests.service.conftest import make_settings
from tests.service.test_scope import ROLES, World, app_routes, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp_path = tmp_path_factory.mktemp("pages")
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'formscan.db'}", is_runner_enabled=False
    )
    with TestClient(create_app(settings)) as client:
        yield build_world(client)


SOURCES = "/campaigns/{campaign_id}/sources/{unit_code}/{row_key}/{field}"
PAGES = ["/upload", "/submissions", "/submissions/{s}", "/review", "/overview", SOURCES]
SCOPED = {"admin": 200, "reviewer_a": 200, "reviewer_b": 404, "uploader_a1": 200}
# The sources page answers as its API does: uploaders 403, out of scope 404.
SCOPED_BY_PAGE = {SOURCES: {**SCOPED, "uploader_a1": 403}}
ROUTE_OF = {"/submissions/{s}": "/submissions/{submission_id}"}


def page_url(world: World, path: str) -> str:
    if path == SOURCES:
        return f"/campaigns/{world.campaign_id}/sources/A/1.total/count"
    return path.format(s=world.submission_ids["A1"])


def test_every_page_listed() -> None:
    app = create_app(make_settings(Path("/nonexistent"), "sqlite://"))
    web = {path for method, path in app_routes_all(app) if method == "GET"}
    assert web == {"/login", "/", *(ROUTE_OF.get(p, p) for p in PAGES)}


def app_routes_all(app: object) -> set[tuple[str, str]]:
    """Every (method, path) of the pages module: those the API's scope test leaves out."""
    return {
        (m, c.path)
        for c in iter_route_contexts(app.routes)  # type: ignore[attr-defined]
        if isinstance(c.original_route, APIRoute)
        and c.original_route.endpoint.__module__ == "service.web.pages"
        for m in c.methods or ()
    } - app_routes(app)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", PAGES)
def test_page_scope(world: World, path: str, role: str) -> None:
    url = page_url(world, path)
    world.client.cookies.clear()
    response = world.client.get(url, headers=world.headers(role), follow_redirects=False)
    if role == "anonymous":
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={url}"
        return
    scoped = SCOPED_BY_PAGE.get(path, SCOPED)
    expected = scoped[role] if "{" in path else 200
    assert response.status_code == expected
    assert response.headers["content-type"].startswith("text/html")
    if expected == 404:
        assert "Không tìm thấy" in response.text
    if expected == 403:
        assert "Không được phép" in response.text


def test_lists_only_scope(world: World) -> None:
    response = world.client.get("/submissions", headers=world.headers("reviewer_b"))
    assert "Trường B1" in response.text
    assert "Trường A1" not in response.text


def test_language_cookie(world: World) -> None:
    world.client.cookies.set("formscan_lang", "en")
    response = world.client.get("/login")
    world.client.cookies.clear()
    assert "Sign in" in response.text
    assert "Đăng nhập" in world.client.get("/login").text


# --- overview totals and the sources page ------------------------------------------------
# Every school of the world has one submission in needs_review with 1.total count = 13.


def _get(world: World, role: str, url: str) -> str:
    world.client.cookies.clear()
    response = world.client.get(url, headers=world.headers(role))
    assert response.status_code == 200, response.text
    return response.text


def _cell(html: str, row_key: str, field: str, group: str) -> str:
    """The text of a totals cell in the main table (the column of ``group``)."""
    table = html.split('class="list totals main"')[1].split("</table>")[0]
    heads = [*re.findall(r'data-group="([^"]+)"', table.split("</thead>")[0]), "*"]
    row = table.split(f'data-row="{row_key}" data-field="{field}"')[1].split("</tr>")[0]
    cells = re.findall(r"<td class=\"num[^\"]*\"[^>]*>(.*?)</td>", row, flags=re.S)
    return re.sub(r"<[^>]+>", " ", cells[heads.index(group)]).split()[0]


def test_overview_totals_by_district_admin(world: World) -> None:
    clean = _get(world, "admin", "/overview")
    assert 'class="list totals main"' in clean and "Tổng hợp theo huyện" in clean
    assert _cell(clean, "1.total", "count", "A") == "—"  # nothing clean yet
    html = _get(world, "admin", "/overview?include_unreviewed=true")
    assert _cell(html, "1.total", "count", "A") == "26"
    assert _cell(html, "1.total", "count", "B") == "13"
    assert _cell(html, "1.total", "count", "*") == "39"
    cid = world.campaign_id
    for row in ("1.total", "2", "4.3", "10.1", "10.2"):
        assert f'data-row="{row}"' in html
        assert f"/api/campaigns/{cid}/charts/{row}.png?include_unreviewed=true" in html
    assert f'href="/campaigns/{cid}/sources/A/1.total/count?include_unreviewed=true"' in html
    assert f'href="/campaigns/{cid}/sources/P/1.total/count?include_unreviewed=true"' in html
    assert f"/api/exports/{cid}.xlsx?level=province&amp;unit=P" in html
    assert f"/api/exports/{cid}.csv?level=district&amp;unit=B" in html
    assert 'data-row="1.05"' in html.split('class="list totals every"')[1]  # every row


def test_overview_totals_scoped_and_hidden_from_uploaders(world: World) -> None:
    html = _get(world, "reviewer_b", "/overview?include_unreviewed=true")
    assert _cell(html, "1.total", "count", "B") == "13"
    assert _cell(html, "1.total", "count", "*") == "13"
    assert 'data-group="A"' not in html and "/sources/A/" not in html
    assert f"/api/exports/{world.campaign_id}.xlsx?level=district&amp;unit=B" in html
    uploader = _get(world, "uploader_a1", "/overview")
    assert "campaign-totals" not in uploader and "/api/exports/" not in uploader
    english = _get_english(world, "/overview")
    assert "Totals by district" in english and "Every row" in english


def _get_english(world: World, url: str) -> str:
    world.client.cookies.clear()
    world.client.cookies.set("formscan_lang", "en")
    try:
        return world.client.get(url, headers=world.headers("admin")).text
    finally:
        world.client.cookies.clear()


def test_sources_page_lists_submissions_crops_and_links(world: World) -> None:
    cid = world.campaign_id
    html = _get(world, "reviewer_a", f"/campaigns/{cid}/sources/A/1.total/count")
    assert 'id="figure-total" class="num">—' in html  # needs_review is not counted
    for school in ("A1", "A2"):
        assert f'data-unit="{school}" class="excluded"' in html
        assert f'href="/submissions/{world.submission_ids[school]}"' in html
        assert f'src="/api/readings/{world.reading_ids[school]}/crop.png"' in html
    assert 'data-unit="B1"' not in html
    html = _get(world, "admin", f"/campaigns/{cid}/sources/P/1.total/count?include_unreviewed=1")
    assert 'id="figure-total" class="num">39' in html and ">3/3<" in html
    assert html.count('class="included"') == 3
    assert "Tất cả đơn vị đã nộp." in html
    crop = world.client.get(
        f"/api/readings/{world.reading_ids['A1']}/crop.png", headers=world.headers("reviewer_a")
    )
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/png"
    english = _get_english(world, f"/campaigns/{cid}/sources/A/1.total/count")
    assert "Sources of a figure" in english and "Each unit&#39;s latest submission" in english


def test_sources_page_refusals_match_the_api(world: World) -> None:
    cid = world.campaign_id
    cases = [
        ("reviewer_a", f"/campaigns/{cid}/sources/B/1.total/count"),  # out of scope
        ("reviewer_a", f"/campaigns/{cid}/sources/NOPE/1.total/count"),
        ("admin", f"/campaigns/{cid + 99}/sources/P/1.total/count"),
        ("admin", f"/campaigns/{cid}/sources/P/1.total/value"),  # no such field
        ("admin", f"/campaigns/{cid}/sources/P/99/value"),
        ("uploader_a1", f"/campaigns/{cid}/sources/A1/1.total/count"),
    ]
    for role, url in cases:
        world.client.cookies.clear()
        page = world.client.get(url, headers=world.headers(role))
        api = world.client.get(
            "/api/aggregates/"
            + url.removeprefix("/campaigns/").replace("/sources", "")
            + "/sources",
            headers=world.headers(role),
        )
        assert page.status_code == api.status_code, (role, url, api.text)
        assert page.status_code in {403, 404}
