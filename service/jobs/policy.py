"""The retry policy of jobs, in one place: what retries, how often, how long to wait.

Two kinds of retry exist, at two levels:

- **Attempts** (the database's record): a job gets ``Settings.max_attempts`` attempts.
  A failed attempt is queued again after ``retry_delay_seconds`` when its error is
  ours and may pass (an engine timeout, a crash, a worker lost); a problem of the
  document or of the layout (``InputError``, ``LayoutError``) fails the job at once,
  since reading it again gives the same answer. ``failure_of`` decides which.
- **Deliveries** (the broker's): a Celery task that cannot reach the database to claim
  its job is redelivered (``CELERY_TASK_RETRY``); no attempt is used, because none was
  claimed.

A worker process that dies mid-attempt is recorded as ``worker_lost``
(``WORKER_LOST``), retryable like any error of ours; one whose lease runs out on its
last attempt is failed by the lease side with the same code
(``store.fail_abandoned_jobs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ocr.errors import InputError, LayoutError, OcrError
from service import store
from service.errors import StaleAttemptError
from service.settings import Settings
from service.store.jobs import WORKER_LOST_CODE, WORKER_LOST_FIX

INTERNAL_ERROR_FIX = "Retry later; if it persists, contact the administrator."
# Celery's redelivery when the database is unreachable at claim time: exponential
# backoff with jitter, capped at two minutes and eight tries (about ten minutes in
# all), long enough to ride out a database restart, short enough to surface an outage.
CELERY_TASK_RETRY: dict[str, Any] = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 8,
}


@dataclass(frozen=True)
class Failure:
    """What a failed attempt records, and whether the job gets another attempt."""

    code: str
    detail: str
    fix: str
    is_retryable: bool


WORKER_LOST = Failure(
    code=WORKER_LOST_CODE,
    detail="The process reading this submission stopped unexpectedly.",
    fix=WORKER_LOST_FIX,
    is_retryable=True,
)


def failure_of(exc: Exception) -> Failure:
    """The record of an attempt that raised ``exc``; only engine-side errors retry.

    An exception that is not an ``OcrError`` is a bug or an outage on our side: it is
    recorded as ``internal_error`` (its text stays in the log, not in the answer).
    """
    if isinstance(exc, InputError | LayoutError):
        return Failure(exc.code, exc.message, exc.fix, is_retryable=False)
    if isinstance(exc, OcrError):  # EngineError: our side, may pass (a timeout, a restart)
        return Failure(exc.code, exc.message, exc.fix, is_retryable=True)
    return Failure(
        "internal_error",
        "Processing failed because of an error on the server.",
        INTERNAL_ERROR_FIX,
        is_retryable=True,
    )


def retry_delay_seconds(settings: Settings, attempt: int) -> float:
    """Wait before the attempt after ``attempt``: doubling from the configured base."""
    return float(settings.retry_backoff_seconds * 2 ** (attempt - 1))


def record_failure(
    sessions: sessionmaker[Session],
    *,
    submission_id: int,
    attempt: int,
    failure: Failure,
    settings: Settings,
) -> str:
    """Record ``failure`` for the attempt (fenced); the job's new state, or ``stale``."""
    try:
        with sessions.begin() as session:
            return store.record_failure(
                session,
                submission_id=submission_id,
                attempt=attempt,
                code=failure.code,
                detail=failure.detail,
                fix=failure.fix,
                is_retryable=failure.is_retryable,
                retry_delay_seconds=retry_delay_seconds(settings, attempt),
            )
    except StaleAttemptError:
        return "stale"
