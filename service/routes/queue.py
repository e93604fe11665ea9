"""The job queue as operators see it: ``GET /api/queue`` (JSON) and ``GET /metrics``.

Both read the ``job`` table (``service.store.queue``), the record of truth in every
mode (embedded runner or Celery workers), so they show the same numbers whichever
process answers.

* Waiting jobs are ``queued`` ones; a job waits since it was queued (created or
  retried) or, for an automatic retry, since its backoff ended (``not_before``).
* Pages per minute count the pages of the submissions whose job finished ``done``
  within the window, divided by the window's minutes.

``/metrics`` is the Prometheus text format (version 0.0.4). It needs an admin (a
bearer token, as a scraper sends it) unless ``FORMSCAN_METRICS_PUBLIC=true``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from service import auth
from service.deps import AdminDep, SecretKeyDep, SessionDep, SettingsDep, get_current_user
from service.errors import problem_responses
from service.models import Role
from service.store.queue import QueueStats, queue_stats

router = APIRouter(tags=["queue"])

PROMETHEUS_MEDIA_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class QueueJobs(BaseModel):
    """Jobs by state: how much work waits, runs, or needs an operator."""

    queued: int = Field(description="waiting for a worker")
    running: int
    failed: int = Field(description="failed for good (retry them with POST /api/jobs/…/retry)")
    done: int


class PagesPerMinute(BaseModel):
    """Pages read per minute recently: whether the workers keep up with uploads."""

    last_5_minutes: float
    last_60_minutes: float


class QueuePublic(BaseModel):
    """The processing queue at a glance, for an operator deciding to add workers."""

    jobs: QueueJobs
    oldest_queued_seconds: float = Field(
        description="how long the longest-waiting job has waited; 0 when none waits"
    )
    pages_per_minute: PagesPerMinute
    measured_at: datetime


@router.get("/api/queue", responses=problem_responses(403))
def get_queue(session: SessionDep, admin: AdminDep) -> QueuePublic:
    """Jobs waiting, running, failed and done; the longest wait; pages read per minute."""
    stats = queue_stats(session)
    return QueuePublic(
        jobs=QueueJobs(**stats.jobs),
        oldest_queued_seconds=stats.oldest_queued_seconds,
        pages_per_minute=PagesPerMinute(
            last_5_minutes=stats.pages_per_minute[5], last_60_minutes=stats.pages_per_minute[60]
        ),
        measured_at=stats.measured_at,
    )


def require_metrics_reader(
    request: Request, session: SessionDep, key: SecretKeyDep, settings: SettingsDep
) -> None:
    """Anyone when ``FORMSCAN_METRICS_PUBLIC=true``; otherwise an admin."""
    if settings.metrics_public:
        return
    user = get_current_user(request, session, key)
    if user.role != Role.ADMIN:
        raise auth.ForbiddenError("Only an admin may read the metrics.")


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses=problem_responses(403) | {200: {"content": {PROMETHEUS_MEDIA_TYPE: {}}}},
)
def get_metrics(
    session: SessionDep, _reader: Annotated[None, Depends(require_metrics_reader)]
) -> PlainTextResponse:
    """The queue in the Prometheus text format (see the README for the metric names)."""
    return PlainTextResponse(
        prometheus_text(queue_stats(session)), media_type=PROMETHEUS_MEDIA_TYPE
    )


def prometheus_text(stats: QueueStats) -> str:
    """The queue's figures in Prometheus' text format, so a scraper needs no JSON adapter."""
    lines = [
        "# HELP formscan_jobs Processing jobs by state.",
        "# TYPE formscan_jobs gauge",
        *(f'formscan_jobs{{state="{s}"}} {n}' for s, n in sorted(stats.jobs.items())),
        "# HELP formscan_oldest_queued_seconds How long the longest-waiting job has waited.",
        "# TYPE formscan_oldest_queued_seconds gauge",
        f"formscan_oldest_queued_seconds {stats.oldest_queued_seconds}",
        "# HELP formscan_pages_read_total Pages of the submissions whose job is done.",
        "# TYPE formscan_pages_read_total counter",
        f"formscan_pages_read_total {stats.pages_read_total}",
        # By *current* status: a submission moves between statuses, so per label this
        # can go down, and it is exposed as a gauge (the sum over labels only grows).
        "# HELP formscan_submissions_total Submissions received, by current status.",
        "# TYPE formscan_submissions_total gauge",
        *(
            f'formscan_submissions_total{{status="{s}"}} {n}'
            for s, n in sorted(stats.submissions.items())
        ),
    ]
    return "\n".join(lines) + "\n"
