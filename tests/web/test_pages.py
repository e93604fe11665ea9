"""Every page, every role, without a browser: sign-in redirect, scope, 404 page."""

from __future__ import annotations

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


PAGES = ["/upload", "/submissions", "/submissions/{s}", "/review", "/overview"]
SCOPED = {"admin": 200, "reviewer_a": 200, "reviewer_b": 404, "uploader_a1": 200}


def test_every_page_listed() -> None:
    app = create_app(make_settings(Path("/nonexistent"), "sqlite://"))
    web = {path for method, path in app_routes_all(app) if method == "GET"}
    assert web == {"/login", "/", *(p.replace("{s}", "{submission_id}") for p in PAGES)}


def app_routes_all(app: object) -> set[tuple[str, str]]:
    """Every (method, path) of the pages module: those the API's scope test leaves out."""
    return {
        (m, c.path)
        for c in iter_route_contexts(app.routes)  # type: ignore[attr-defined]
        if isinstance(c.original_route, APIRoute)
        and c.original_route.endpoint.__module__ == "service.web"
        for m in c.methods or ()
    } - app_routes(app)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", PAGES)
def test_page_scope(world: World, path: str, role: str) -> None:
    url = path.format(s=world.submission_ids["A1"])
    world.client.cookies.clear()
    response = world.client.get(url, headers=world.headers(role), follow_redirects=False)
    if role == "anonymous":
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={url}"
        return
    expected = SCOPED[role] if "{s}" in path else 200
    assert response.status_code == expected
    assert response.headers["content-type"].startswith("text/html")
    if expected == 404:
        assert "Không tìm thấy" in response.text


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
