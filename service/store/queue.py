"""Figures of the job queue for operators: counts by state, the longest wait, page rates.

They are read from the ``job`` and ``submission`` tables, the record of truth in every
mode, so every API process answers with the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models import Job, JobState, Submission, SubmissionStatus, utc_now

# The windows of the pages-per-minute rates: a short one to see a stall at once, an
# hour to smooth the bursts of uploads.
RATE_WINDOWS_MINUTES = (5, 60)


@dataclass(frozen=True)
class QueueStats:
    """The queue's figures at ``measured_at``, as the API and the metrics show them."""

    jobs: dict[str, int]
    oldest_queued_seconds: float
    pages_per_minute: dict[int, float]  # by window in minutes
    pages_read_total: int
    submissions: dict[str, int]  # by status
    measured_at: datetime


def queue_stats(session: Session, *, now: datetime | None = None) -> QueueStats:
    """Counts of jobs by state, the longest wait, page rates and totals, in a few queries."""
    now = now or utc_now()
    jobs = {state.value: 0 for state in JobState}
    for state, count in session.execute(select(Job.state, func.count()).group_by(Job.state)):
        jobs[state] = count
    waiting_since = session.scalar(
        select(func.min(func.coalesce(Job.not_before, Job.updated_at))).where(
            Job.state == JobState.QUEUED
        )
    )
    oldest = 0.0 if waiting_since is None else max(0.0, (now - waiting_since).total_seconds())
    pages = func.coalesce(func.sum(func.coalesce(Submission.pages_total, 0)), 0)
    done_pages = select(pages).join(Job, Job.submission_id == Submission.id)
    done_pages = done_pages.where(Job.state == JobState.DONE)
    rates = {}
    for minutes in RATE_WINDOWS_MINUTES:
        since = now - timedelta(minutes=minutes)
        count = session.scalar(done_pages.where(Job.finished_at >= since)) or 0
        rates[minutes] = round(count / minutes, 3)
    submissions = {status.value: 0 for status in SubmissionStatus}
    for status, count in session.execute(
        select(Submission.status, func.count()).group_by(Submission.status)
    ):
        submissions[status] = count
    return QueueStats(
        jobs=jobs,
        oldest_queued_seconds=round(oldest, 3),
        pages_per_minute=rates,
        pages_read_total=int(session.scalar(done_pages) or 0),
        submissions=submissions,
        measured_at=now,
    )
