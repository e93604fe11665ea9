"""Service errors and the one handler that renders every error as RFC 9457 problem+json.

::

    ServiceError                 status   code
    ├─ auth.NotAuthenticatedError 401     not_authenticated (no or bad credentials)
    ├─ auth.ForbiddenError       403      forbidden (the role may not do this)
    ├─ auth.CsrfError            403      csrf_failed (cookie without X-CSRF-Token)
    ├─ NotFoundError             404      not_found (unit, campaign, submission, job)
    ├─ ConflictError             409      e.g. job_not_failed, unit_exists
    │  └─ VersionConflictError   409      version_conflict (a decision on a stale version)
    ├─ UploadTooLargeError       413      upload_too_large
    ├─ InvalidRequestError       422      e.g. unknown_unit, no_files
    └─ StaleAttemptError         (never reaches HTTP: a fenced job write was refused)

``ocr.errors.OcrError`` is rendered by the same handler: ``UnsupportedFileTypeError``
-> 415, other ``InputError`` and ``LayoutError`` -> 422, ``EngineError`` -> 503.
Request validation errors and Starlette's own 404/405 become problem+json too, so a
client parses one error shape. Users never see tracebacks; an unexpected exception is
logged and answered with a bare 500 ``internal_error`` problem.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ocr.errors import EngineError, InputError, OcrError, UnsupportedFileTypeError

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ServiceError(Exception):
    """An error a client can act on: ``code`` is stable, ``fix`` says what to do."""

    status = 400
    code = "bad_request"
    fix = ""
    headers: dict[str, str] | None = None

    def __init__(self, detail: str, *, code: str | None = None, fix: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if fix is not None:
            self.fix = fix


class NotFoundError(ServiceError):
    """No such resource in the caller's scope (404); outside scope is answered the same way."""

    status = 404
    code = "not_found"
    fix = "Check the id; list the collection to find it."


class ConflictError(ServiceError):
    """The request contradicts the current state (409), e.g. a duplicate or a wrong state."""

    status = 409
    code = "conflict"


class VersionConflictError(ConflictError):
    """A decision named a reading version that is no longer current: someone decided first."""

    code = "version_conflict"
    fix = "Reload the reading, look at the decision already taken, and decide again if needed."


class UploadTooLargeError(ServiceError):
    """The upload exceeds ``FORMSCAN_MAX_UPLOAD_BYTES`` (413), refused while streaming."""

    status = 413
    code = "upload_too_large"
    fix = "Upload only the form's pages, scanned at 200-300 dpi, in grayscale if possible."


class InvalidRequestError(ServiceError):
    """A request the service understood but cannot accept (422), with a code and a fix."""

    status = 422
    code = "invalid_request"


class StaleAttemptError(ServiceError):
    """A job attempt tried to write after its lease was taken over by a newer attempt."""

    status = 409
    code = "stale_attempt"


def problem_type(code: str) -> str:
    """The problem+json ``type`` of a code: a stable URN clients can match on."""
    return f"urn:formscan:problem:{code}"


def problem_response(
    status: int, *, code: str, detail: str, fix: str = "", headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A problem+json response (RFC 9457) with formscan's ``code`` and ``fix`` members."""
    body = {
        "type": problem_type(code),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "fix": fix,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def ocr_error_status(exc: OcrError) -> int:
    """The HTTP status of an engine error: the client's file (4xx) or our engine (503)."""
    if isinstance(exc, UnsupportedFileTypeError):
        return 415
    if isinstance(exc, EngineError):
        return 503
    if isinstance(exc, InputError):
        return 422
    return 422  # LayoutError: the request named a layout that does not exist


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return problem_response(
        exc.status, code=exc.code, detail=exc.detail, fix=exc.fix, headers=exc.headers
    )


async def _ocr_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OcrError)
    return problem_response(ocr_error_status(exc), code=exc.code, detail=exc.message, fix=exc.fix)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return problem_response(
        422,
        code="validation_error",
        detail="; ".join(parts) or "The request is invalid.",
        fix="Correct the request as the OpenAPI document describes.",
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return problem_response(exc.status_code, code=code, detail=str(exc.detail), headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        500,
        code="internal_error",
        detail="The server failed to handle the request.",
        fix="Retry later; if it persists, contact the administrator.",
    )


def install_error_handlers(app: FastAPI) -> None:
    """Answer every service, engine and validation error as problem+json, never a traceback."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(OcrError, _ocr_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


_DESCRIPTIONS = {
    401: "Not signed in (problem+json, code not_authenticated).",
    403: "Not allowed: the role may not do this (forbidden), or a cookie-authenticated "
    "request lacks X-CSRF-Token (csrf_failed).",
    404: "Not found (problem+json, code not_found).",
    409: "Conflict with the current state (problem+json; e.g. version_conflict).",
    413: "Upload over the size limit (problem+json, code upload_too_large).",
    415: "Not a PDF, PNG, JPEG or TIFF file (problem+json, code unsupported_file_type).",
    422: "Invalid request or file (problem+json; code e.g. validation_error, empty_file).",
    500: "Unexpected server error (problem+json, code internal_error).",
    503: "Database or OCR engine unavailable (problem+json).",
}


def problem_responses(
    *statuses: int, is_public: bool = False
) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` for a route: each listed error (plus 500) as problem+json.

    Routes that need a signed-in user (all but ``is_public`` ones) also answer 401.
    ``create_app`` moves their schema under ``application/problem+json``.
    """
    from service.schemas import ProblemPublic

    always = {500} if is_public else {401, 500}
    return {
        status: {"model": ProblemPublic, "description": _DESCRIPTIONS[status]}
        for status in sorted({*statuses, *always})
    }
