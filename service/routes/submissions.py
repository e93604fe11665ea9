"""Submissions: upload a unit's scanned form, follow its processing, list its readings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from service import store
from service.deps import (
    CurrentUserDep,
    RunnerDep,
    ScopeDep,
    SessionDep,
    SessionsDep,
    SettingsDep,
    StoreDep,
)
from service.errors import problem_responses
from service.models import SubmissionStatus
from service.schemas import ReadingPublic, ReadingsPublic, SubmissionPagePublic, SubmissionPublic
from service.upload import accept_upload, receive_upload

router = APIRouter(prefix="/api/submissions", tags=["submissions"])

MAX_PAGE_SIZE = 200

# The body is parsed by service.upload (streamed, size-limited), so FastAPI cannot
# derive its schema from parameters; it is declared here for the OpenAPI document.
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["unit", "campaign", "files"],
                    "properties": {
                        "unit": {"type": "string", "description": "The unit's code."},
                        "campaign": {"type": "integer", "description": "The campaign's id."},
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "The pages, in order: PDF, JPEG, PNG or TIFF.",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=202,
    response_model=SubmissionPublic,
    openapi_extra=_UPLOAD_BODY,
    responses={
        200: {
            "model": SubmissionPublic,
            "description": "The same files were already uploaded for this unit and campaign: "
            "the existing submission (no new job).",
        },
        **problem_responses(403, 413, 415, 422),
    },
)
async def create_submission(
    request: Request,
    user: CurrentUserDep,
    scope: ScopeDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    blobs: StoreDep,
    runner: RunnerDep,
) -> JSONResponse:
    """Upload the pages of one form; it is read in the background.

    Answers 202 with ``Location`` at once; poll the submission until its status is
    ``needs_review``, ``clean`` or ``failed``. A different upload for the same unit and
    campaign is a new version that replaces the previous one (kept). An uploader may
    upload only for its unit, a reviewer for the units of its subtree; any other unit
    is refused like an unknown one (422 ``unknown_unit``).
    """
    form = await receive_upload(
        request, max_bytes=settings.max_upload_bytes, tmp_dir=settings.tmp_dir
    )
    try:
        submission_id, is_new = await run_in_threadpool(
            accept_upload,
            form,
            sessions=sessions,
            blobs=blobs,
            attempt_limit=settings.max_attempts,
            uploaded_by=user.id,
            scope=scope,
        )
    finally:
        form.cleanup()
    if is_new and runner is not None:
        runner.notify()
    with sessions() as session:
        body = SubmissionPublic.of(store.get_submission(session, submission_id))
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=202 if is_new else 200,
        headers={"Location": body.links.self},
    )


@router.get("", responses=problem_responses(422))
def list_submissions(
    session: SessionDep,
    scope: ScopeDep,
    campaign: Annotated[int | None, Query(description="Campaign id.")] = None,
    unit: Annotated[str | None, Query(description="Unit code.")] = None,
    status: Annotated[SubmissionStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SubmissionPagePublic:
    """A page of the submissions in the caller's scope, oldest first, with the total count."""
    items, total = store.list_submissions(
        session,
        campaign_id=campaign,
        unit_code=unit,
        status=None if status is None else str(status),
        limit=limit,
        offset=offset,
        scope=scope,
    )
    return SubmissionPagePublic(
        items=[SubmissionPublic.of(s) for s in items], total=total, limit=limit, offset=offset
    )


@router.get("/{submission_id}", responses=problem_responses(404, 422))
def get_submission(submission_id: int, session: SessionDep, scope: ScopeDep) -> SubmissionPublic:
    """One submission with its status, error and links (404 outside scope, as if absent)."""
    return SubmissionPublic.of(store.get_submission(session, submission_id, scope=scope))


@router.get("/{submission_id}/readings", responses=problem_responses(404, 422))
def list_readings(submission_id: int, session: SessionDep, scope: ScopeDep) -> ReadingsPublic:
    """The extraction in the CLI's JSON shape; ``fields`` is empty until processed."""
    submission = store.get_submission(session, submission_id, scope=scope)
    return ReadingsPublic(
        submission_id=submission.id,
        status=submission.status,
        layout=submission.layout_id,
        files=[f.name for f in submission.files],
        pages=submission.pages_total,
        seconds=submission.processing_seconds,
        fields=[ReadingPublic.of(r) for r in store.list_readings(session, submission_id)],
        warnings=[str(w) for w in submission.warnings],
    )
