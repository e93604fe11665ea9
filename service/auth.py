"""Accounts: passwords, browser sessions, bearer tokens, and the unit scope of a user.

Two ways to prove who you are:

- **Browsers** sign in with ``POST /api/session`` and get a cookie holding a random
  session token and its HMAC (the service's secret key), ``HttpOnly`` and
  ``SameSite=Lax``. The database keeps only the token's SHA-256, with an expiry;
  signing out deletes the row. Unsafe methods authenticated by the cookie must send
  ``X-CSRF-Token``: an HMAC of the session token that only the sign-in answer (or
  ``GET /api/session``) reveals, which another site's page cannot read.
- **Scripts** send ``Authorization: Bearer <token>``, a named token created by a
  signed-in user and shown once; only its SHA-256 is stored. A header another site
  cannot make a browser send needs no CSRF token.

Passwords are hashed with argon2id (pwdlib's recommended parameters: 64 MiB, t=3).

Scope: an admin sees every unit; a reviewer the subtree under its unit (a province
or a district); an uploader its one unit. Whatever lies outside a user's scope is
answered as if it did not exist (404), so ids do not reveal other units' work.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import re
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from pwdlib import PasswordHash
from sqlalchemy.orm import Session

from service.errors import ConflictError, InvalidRequestError, ServiceError
from service.models import ApiToken, Role, Unit, User, UserSession, utc_now
from service.scope import Scope
from service.settings import Settings
from service.store import accounts, get_unit_by_code, subtree_ids

log = logging.getLogger(__name__)

SESSION_COOKIE = "formscan_session"
CSRF_HEADER = "X-CSRF-Token"
SECRET_KEY_FILE = "secret_key"
# 32 random bytes: beyond guessing, and short enough for a header or a cookie.
TOKEN_BYTES = 32
# Bearer tokens start with this, so a leaked one is recognisable in logs and scanners.
TOKEN_PREFIX = "fst_"
MIN_PASSWORD_CHARS = 8
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class NotAuthenticatedError(ServiceError):
    """No valid sign-in or token: the client must sign in (401), whatever was wrong."""

    status = 401
    code = "not_authenticated"
    fix = (
        "Sign in with POST /api/session (username, password), or send "
        "'Authorization: Bearer <token>' with a token from POST /api/tokens."
    )
    headers = {"WWW-Authenticate": "Bearer"}  # noqa: RUF012 (read-only)


class ForbiddenError(ServiceError):
    """Signed in, but the role may not do this (403); outside-scope data answers 404 instead."""

    status = 403
    code = "forbidden"
    fix = "Ask an administrator to do this, or for an account with that role."


class CsrfError(ServiceError):
    """A cookie-authenticated change without the CSRF token: other sites cannot post."""

    status = 403
    code = "csrf_failed"
    fix = (
        f"Send the csrf_token from POST /api/session (or GET /api/session) in the "
        f"{CSRF_HEADER} header, or authenticate with a bearer token."
    )


# --- secrets and hashes ---------------------------------------------------------------


@functools.cache
def password_hasher() -> PasswordHash:
    """The recommended hasher of pwdlib (Argon2), built once: it holds tuned parameters."""
    return PasswordHash.recommended()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown: both cases take as long."""
    return password_hasher().hash(secrets.token_hex(8))


def hash_password(password: str) -> str:
    """The Argon2 hash stored for an account; the password itself is never kept."""
    return password_hasher().hash(password)


def sha256_hex(token: str) -> str:
    """The hash a session or API token is stored as: a leaked table holds no secret."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A random URL-safe secret for a sign-in session or an API token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def load_secret_key(settings: Settings) -> bytes:
    """``FORMSCAN_SECRET_KEY``, else the key under the data directory, made on first start.

    There is no built-in default: a key known from the source would let anyone sign a
    cookie. The generated file is readable by its owner only.
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = settings.data_dir / SECRET_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, secrets.token_urlsafe(48))
        log.info("generated a secret key in %s", path)
    return path.read_text(encoding="ascii").strip().encode()


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(text, encoding="ascii")
    tmp.replace(path)


def _mac(key: bytes, purpose: str, token: str) -> str:
    digest = hmac.new(key, f"{purpose}:{token}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def cookie_value(key: bytes, token: str) -> str:
    """The session cookie: the token and its HMAC, so a forged one is refused unread."""
    return f"{token}.{_mac(key, 'session', token)}"


def token_from_cookie(key: bytes, value: str) -> str | None:
    """The session token of a cookie whose signature holds, else None."""
    token, _, signature = value.rpartition(".")
    if not token or not hmac.compare_digest(signature, _mac(key, "session", token)):
        return None
    return token


def csrf_token(key: bytes, session_token: str) -> str:
    """The CSRF token of a session, derived (HMAC) rather than stored: nothing to keep in sync."""
    return _mac(key, "csrf", session_token)


def is_csrf_valid(key: bytes, session_token: str, sent: str | None) -> bool:
    """Whether ``sent`` is the session's CSRF token, compared in constant time."""
    return sent is not None and hmac.compare_digest(sent, csrf_token(key, session_token))


# --- users ----------------------------------------------------------------------------


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    unit_code: str | None,
    display_name: str | None = None,
) -> User:
    """A new active account; the scope unit must fit the role (see module docstring)."""
    if not USERNAME_PATTERN.match(username):
        raise InvalidRequestError(
            f"Invalid username {username!r}.",
            code="invalid_username",
            fix="Use 1-64 lowercase letters, digits, '.', '_' or '-', starting with a "
            "letter or digit.",
        )
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidRequestError(
            f"The password is shorter than {MIN_PASSWORD_CHARS} characters.",
            code="weak_password",
            fix="Choose a longer password (a few words are easy to remember).",
        )
    if accounts.username_taken(session, username):
        raise ConflictError(f"A user named {username!r} exists.", code="user_exists")
    unit = _scope_unit(session, role, unit_code)
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        unit=unit,
        is_active=True,
    )
    session.add(user)
    session.flush()
    return user


FIRST_ADMIN = "admin"
FIRST_ADMIN_PASSWORD_FILE = "initial-admin-password"


def ensure_first_admin(session: Session, settings: Settings) -> Path | None:
    """On a database without accounts, create the administrator ``admin``.

    Its password is random and written once to a file only the service's user can
    read under the data directory (the path is returned), so that a fresh set-up can
    be signed into without typing secrets on a command line. Returns None when
    accounts already exist.
    """
    if count_users(session) > 0:
        return None
    password = secrets.token_urlsafe(12)
    create_user(
        session,
        username=FIRST_ADMIN,
        password=password,
        role=Role.ADMIN,
        unit_code=None,
        display_name="Administrator",
    )
    path = Path(settings.data_dir) / FIRST_ADMIN_PASSWORD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_private(path, password + "\n")
    return path


def _scope_unit(session: Session, role: Role, unit_code: str | None) -> Unit | None:
    if role == Role.ADMIN:
        if unit_code is not None:
            raise InvalidRequestError(
                "An admin has no unit.", code="unit_not_allowed", fix="Leave out the unit."
            )
        return None
    if unit_code is None:
        raise InvalidRequestError(
            f"A {role} needs a unit.",
            code="unit_required",
            fix="Give the code of the district or province (reviewer) or the unit (uploader).",
        )
    unit = get_unit_by_code(session, unit_code)
    if unit is None:
        raise InvalidRequestError(f"No unit with code {unit_code!r}.", code="unknown_unit")
    return unit


def count_users(session: Session) -> int:
    """0 when no account exists yet (the first start then creates an administrator), else 1."""
    return int(accounts.has_users(session))


def authenticate(session: Session, username: str, password: str) -> User:
    """The active user with this password, else ``NotAuthenticatedError`` (same for all)."""
    user = accounts.user_by_username(session, username)
    hasher = password_hasher()
    if user is None:
        hasher.verify(password, _dummy_hash())
        is_valid = False
    else:
        is_valid = hasher.verify(password, user.password_hash)
    if user is None or not is_valid or not user.is_active:
        raise NotAuthenticatedError(
            "Unknown username, wrong password, or a disabled account.",
            fix="Check the username and password; ask an administrator if it persists.",
        )
    return user


# --- sessions and tokens --------------------------------------------------------------


def start_session(session: Session, user: User, *, lifetime: timedelta) -> str:
    """A new sign-in for ``user``; returns its token (kept only as a hash)."""
    token = new_token()
    now = utc_now()
    session.add(
        UserSession(
            user_id=user.id,
            token_sha256=sha256_hex(token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return token


def end_session(session: Session, token: str) -> None:
    """Sign out: delete the session, so its cookie stops working at once (no-op if gone)."""
    row = accounts.session_by_hash(session, sha256_hex(token))
    if row is not None:
        session.delete(row)


def user_of_session(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The user signed in with ``token``, or None when it is unknown or expired."""
    row = accounts.session_by_hash(session, sha256_hex(token))
    if row is None or row.expires_at <= (now or utc_now()):
        return None
    return session.get(User, row.user_id)


def create_api_token(session: Session, user: User, *, name: str) -> tuple[ApiToken, str]:
    """A named bearer token for ``user``; the secret is returned here and never again."""
    secret = TOKEN_PREFIX + new_token()
    row = ApiToken(user_id=user.id, name=name, token_sha256=sha256_hex(secret))
    session.add(row)
    session.flush()
    return row, secret


def user_of_api_token(session: Session, secret: str) -> User | None:
    """The user of a bearer token, or None; its last use is recorded for the token list."""
    row = accounts.api_token_by_hash(session, sha256_hex(secret))
    if row is None:
        return None
    row.last_used_at = utc_now()
    return session.get(User, row.user_id)


# --- scope ----------------------------------------------------------------------------


def scope_of(session: Session, user: User) -> Scope:
    """The units ``user`` may see: all (admin), its subtree (reviewer), its unit (uploader)."""
    if user.role == Role.ADMIN:
        return Scope(None)
    if user.unit_id is None:  # a non-admin without a unit sees nothing
        return Scope(frozenset())
    if user.role == Role.UPLOADER:
        return Scope(frozenset({user.unit_id}))
    return Scope(frozenset(subtree_ids(session, user.unit_id)))
