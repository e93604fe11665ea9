"""Accounts, their sign-in sessions and their API tokens.

Only hashes of session and token secrets are stored, so every lookup here takes the
SHA-256 hex digest; ``service.auth`` owns hashing and the rules of who gets what.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import ApiToken, User, UserSession


def username_taken(session: Session, username: str) -> bool:
    """Whether an account (active or not) already has this username."""
    return session.scalars(select(User.id).where(User.username == username)).first() is not None


def has_users(session: Session) -> bool:
    """Whether any account exists: the first start creates the administrator."""
    return session.scalars(select(User.id).limit(1)).first() is not None


def user_by_username(session: Session, username: str) -> User | None:
    """The account with this username, active or not (sign-in checks ``is_active``)."""
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def session_by_hash(session: Session, token_sha256: str) -> UserSession | None:
    """The sign-in whose token hashes to ``token_sha256``, expired or not."""
    query = select(UserSession).where(UserSession.token_sha256 == token_sha256)
    return session.scalars(query).one_or_none()


def api_token_by_hash(session: Session, token_sha256: str) -> ApiToken | None:
    """The API token whose secret hashes to ``token_sha256``."""
    query = select(ApiToken).where(ApiToken.token_sha256 == token_sha256)
    return session.scalars(query).one_or_none()


def api_tokens_of(session: Session, user_id: int) -> Sequence[ApiToken]:
    """A user's tokens in the order they were made."""
    query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
    return session.scalars(query).all()


def api_token_of(session: Session, user_id: int, token_id: int) -> ApiToken | None:
    """Token ``token_id`` if it is ``user_id``'s: another user's token is not found."""
    row = session.get(ApiToken, token_id)
    return row if row is not None and row.user_id == user_id else None


def database_answers(session: Session) -> None:
    """A round trip to the database; raises when it does not answer (for ``/healthz``)."""
    session.execute(select(1))
