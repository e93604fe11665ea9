"""Signing in and out of a browser session (an HttpOnly cookie plus a CSRF token)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from service import auth
from service.deps import CurrentUserDep, SecretKeyDep, SessionDep, SettingsDep
from service.errors import problem_responses
from service.schemas import SessionCreate, SessionPublic, UserPublic

router = APIRouter(prefix="/api/session", tags=["session"])


@router.post("", responses=problem_responses(401, 422, is_public=True))
def sign_in(
    body: SessionCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    key: SecretKeyDep,
) -> SessionPublic:
    """Check the password and set the session cookie; keep ``csrf_token`` for later.

    Unsafe requests (POST, DELETE...) authenticated by the cookie must send the token
    in ``X-CSRF-Token``, else 403 ``csrf_failed``. 401 for any wrong credentials.
    """
    user = auth.authenticate(session, body.username, body.password)
    lifetime = timedelta(hours=settings.session_hours)
    token = auth.start_session(session, user, lifetime=lifetime)
    session.commit()
    response.set_cookie(
        auth.SESSION_COOKIE,
        auth.cookie_value(key, token),
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return SessionPublic(user=UserPublic.of(user), csrf_token=auth.csrf_token(key, token))


@router.get("", responses=problem_responses())
def current_session(request: Request, user: CurrentUserDep, key: SecretKeyDep) -> SessionPublic:
    """The signed-in user, and the CSRF token again (for a page reloaded in the browser)."""
    token = _cookie_token(request, key)
    csrf = (
        None if token is None or "authorization" in request.headers else auth.csrf_token(key, token)
    )
    return SessionPublic(user=UserPublic.of(user), csrf_token=csrf)


@router.delete("", status_code=204, responses=problem_responses(403))
def sign_out(
    request: Request, user: CurrentUserDep, session: SessionDep, key: SecretKeyDep
) -> Response:
    """End the browser session (the cookie stops working at once, everywhere)."""
    token = _cookie_token(request, key)
    if token is not None:
        auth.end_session(session, token)
        session.commit()
    response = Response(status_code=204)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


def _cookie_token(request: Request, key: bytes) -> str | None:
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    return None if cookie is None else auth.token_from_cookie(key, cookie)
