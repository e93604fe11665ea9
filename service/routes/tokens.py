"""Bearer tokens for scripts: a signed-in user names one, sees it once, may revoke it."""

from __future__ import annotations

from fastapi import APIRouter, Response

from service import auth
from service.deps import CurrentUserDep, SessionDep
from service.errors import NotFoundError, problem_responses
from service.schemas import TokenCreate, TokenCreatedPublic, TokenPublic
from service.store import accounts

router = APIRouter(prefix="/api/tokens", tags=["tokens"])


@router.post("", status_code=201, responses=problem_responses(403, 422))
def create_token(
    body: TokenCreate, user: CurrentUserDep, session: SessionDep
) -> TokenCreatedPublic:
    """A new token acting as the signed-in user; ``token`` is shown only in this answer."""
    row, secret = auth.create_api_token(session, user, name=body.name)
    session.commit()
    return TokenCreatedPublic(**TokenPublic.of(row).model_dump(), token=secret)


@router.get("", responses=problem_responses())
def list_tokens(user: CurrentUserDep, session: SessionDep) -> list[TokenPublic]:
    """The signed-in user's tokens (names and dates; the secrets are not kept)."""
    return [TokenPublic.of(r) for r in accounts.api_tokens_of(session, user.id)]


@router.delete("/{token_id}", status_code=204, responses=problem_responses(403, 404, 422))
def revoke_token(token_id: int, user: CurrentUserDep, session: SessionDep) -> Response:
    """Revoke one of the signed-in user's tokens (another user's answers 404)."""
    row = accounts.api_token_of(session, user.id, token_id)
    if row is None:
        raise NotFoundError(f"No token {token_id}.")
    session.delete(row)
    session.commit()
    return Response(status_code=204)
