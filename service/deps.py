"""``Annotated`` dependencies of the routes: settings, sessions, blob store, runner, user.

Everything comes from ``app.state`` (filled by ``create_app``), never from module
globals, so each app (and each test) has its own database, store and runner.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from service import auth
from service.models import Role, User
from service.scope import Scope
from service.settings import Settings
from service.storage import BlobStore


def get_app_settings(request: Request) -> Settings:
    """The settings ``create_app`` was given, not the environment's: tests pass their own."""
    settings: Settings = request.app.state.settings
    return settings


def get_sessions(request: Request) -> sessionmaker[Session]:
    """The app's session factory, for routes that open transactions of their own."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


def get_session(
    sessions: Annotated[sessionmaker[Session], Depends(get_sessions)],
) -> Iterator[Session]:
    """A session per request; handlers that write call ``commit`` before answering."""
    with sessions() as session:
        yield session


def get_store(request: Request) -> BlobStore:
    """The app's blob store, where uploads and page images live."""
    store: BlobStore = request.app.state.store
    return store


class JobNotifier(Protocol):
    """What routes need of whichever runner is in use: a nudge that new work is queued.

    The runner is the embedded pool or the Celery dispatcher.
    """

    def notify(self) -> None:
        """Look for work now rather than at the next poll."""


def get_runner(request: Request) -> JobNotifier | None:
    """Whom to tell about new work: the embedded runner or the dispatcher (None: neither)."""
    runner: JobNotifier | None = request.app.state.runner
    return runner


def get_secret_key(request: Request) -> bytes:
    """The key that signs session cookies and CSRF tokens."""
    key: bytes = request.app.state.secret_key
    return key


# Methods that change nothing: a cookie alone may authenticate them (no CSRF token).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_current_user(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    key: Annotated[bytes, Depends(get_secret_key)],
) -> User:
    """The signed-in user: a bearer token, else the session cookie (with CSRF check).

    Raises:
        NotAuthenticatedError: no credentials, unknown or expired ones, an inactive user.
        CsrfError: cookie authentication of an unsafe method without a valid token.
    """
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    user: User | None = None
    if scheme.lower() == "bearer" and secret.strip():
        user = auth.user_of_api_token(session, secret.strip())
    elif cookie := request.cookies.get(auth.SESSION_COOKIE):
        token = auth.token_from_cookie(key, cookie)
        user = None if token is None else auth.user_of_session(session, token)
        if user is not None and request.method not in SAFE_METHODS:
            assert token is not None
            if not auth.is_csrf_valid(key, token, request.headers.get(auth.CSRF_HEADER)):
                raise auth.CsrfError(f"Missing or wrong {auth.CSRF_HEADER} header.")
    if user is None or not user.is_active:
        raise auth.NotAuthenticatedError("Sign in first: this needs an account.")
    # End the transaction (and keep the token's last use): on SQLite a transaction holds
    # the write lock, and the upload route writes through sessions of its own.
    session.commit()
    return user


CurrentUserDep = Annotated[User, Depends(get_current_user)]


def get_scope(user: CurrentUserDep, session: Annotated[Session, Depends(get_session)]) -> Scope:
    """The units the signed-in user may see, resolved once per request."""
    scope = auth.scope_of(session, user)
    session.commit()  # as in get_current_user: hold no transaction
    return scope


def require_admin(user: CurrentUserDep) -> User:
    """The user if an admin, else 403: for routes that change the unit tree or campaigns."""
    if user.role != Role.ADMIN:
        raise auth.ForbiddenError("Only an admin may do this.")
    return user


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[BlobStore, Depends(get_store)]
RunnerDep = Annotated[JobNotifier | None, Depends(get_runner)]
SecretKeyDep = Annotated[bytes, Depends(get_secret_key)]
ScopeDep = Annotated[Scope, Depends(get_scope)]
AdminDep = Annotated[User, Depends(require_admin)]
