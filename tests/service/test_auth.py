"""Sign-in, CSRF, bearer tokens, password hashes and the secret key."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from service import auth
from service.models import Role, User
from service.settings import Settings
from tests.service.conftest import TEST_PASSWORD, add_user, make_settings


def browser(client: TestClient) -> TestClient:
    """Another client of the same running app, without the admin's bearer token."""
    return TestClient(client.app)


def test_create_session_cookie_and_csrf(client: TestClient) -> None:
    add_user(client.app.state.sessions, "rev", Role.ADMIN)  # type: ignore[attr-defined]
    web = browser(client)
    response = web.post("/api/session", json={"username": "rev", "password": TEST_PASSWORD})
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    csrf = response.json()["csrf_token"]
    assert web.get("/api/tokens").status_code == 200  # safe method: the cookie suffices

    refused = web.post("/api/tokens", json={"name": "x"})
    assert (refused.status_code, refused.json()["code"]) == (403, "csrf_failed")
    wrong = web.post("/api/tokens", json={"name": "x"}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    created = web.post("/api/tokens", json={"name": "script"}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    assert web.get("/api/session").json()["csrf_token"] == csrf

    token = created.json()["token"]
    script = browser(client)
    bearer = {"Authorization": f"Bearer {token}"}
    response = script.post("/api/tokens", json={"name": "no csrf"}, headers=bearer)
    assert response.status_code == 201  # a bearer request needs no CSRF token
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        stored = session.scalars(select(auth.ApiToken.token_sha256)).all()
    assert token not in stored and auth.sha256_hex(token) in stored

    assert web.delete("/api/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    web.cookies.clear()
    assert web.get("/api/session").status_code == 401


def test_create_session_wrong_password_inactive_unknown_401(client: TestClient) -> None:
    sessions = client.app.state.sessions  # type: ignore[attr-defined]
    with sessions.begin() as session:
        auth.create_user(
            session, username="up", password="a long password", role=Role.ADMIN, unit_code=None
        )
    add_user(sessions, "gone", Role.ADMIN, is_active=False)
    with sessions() as session:
        stored = session.scalars(select(User.password_hash).where(User.username == "up")).one()
    assert stored.startswith("$argon2id$")
    web = browser(client)
    for username, password in (("up", "wrong"), ("gone", TEST_PASSWORD), ("nobody", "x")):
        response = web.post("/api/session", json={"username": username, "password": password})
        assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    good = web.post("/api/session", json={"username": "up", "password": "a long password"})
    assert good.status_code == 200


def test_current_user_forged_cookie_and_bad_token_401(client: TestClient) -> None:
    web = browser(client)
    web.cookies.set(auth.SESSION_COOKIE, "abc.def")
    assert web.get("/api/submissions").status_code == 401
    response = web.get("/api/units", headers={"Authorization": "Bearer fst_nope"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_load_secret_key_generated_once_or_from_settings(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite://")
    key = auth.load_secret_key(settings)
    assert len(key) >= 32
    assert auth.load_secret_key(settings) == key
    assert (settings.data_dir / auth.SECRET_KEY_FILE).stat().st_mode & 0o077 == 0
    configured = Settings(data_dir=tmp_path, secret_key="s" * 32)  # type: ignore[arg-type]
    assert auth.load_secret_key(configured) == b"s" * 32
