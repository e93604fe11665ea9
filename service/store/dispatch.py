"""The dispatcher's bookkeeping: which jobs are due a message, and the right to send one.

What was sent is recorded on the job (``dispatched_attempt``, ``dispatched_at``); the
right to send is a conditional UPDATE, so of several API processes only one sends each
message. The broker side (sending, asking the queue's length) is in
``service.jobs.dispatch``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Row, and_, or_, select, update
from sqlalchemy.orm import Session

from service.db import rows_changed
from service.models import Job, JobState
from service.store.jobs import claimable


def jobs_to_send(
    session: Session, *, now: datetime, resend_before: datetime
) -> Sequence[Row[int, int, int]]:
    """``(id, submission_id, attempt)`` of the jobs due a message now.

    Due: claimable jobs not sent under their current attempt, and running jobs whose
    message went out before ``resend_before`` (their worker died).
    """
    return session.execute(
        select(Job.id, Job.submission_id, Job.attempt).where(
            _due(now),
            or_(
                _not_sent(),
                and_(Job.state == JobState.RUNNING, _sent_before(resend_before)),
            ),
        )
    ).all()


def queued_sent_before(
    session: Session, *, now: datetime, resend_before: datetime
) -> Sequence[Row[int, int, int]]:
    """``(id, submission_id, attempt)`` of queued jobs whose message went out long ago."""
    return session.execute(
        select(Job.id, Job.submission_id, Job.attempt).where(
            _due(now), Job.state == JobState.QUEUED, _sent_before(resend_before)
        )
    ).all()


def take_send(
    session: Session, *, job_id: int, attempt: int, now: datetime, resend_before: datetime
) -> bool:
    """Record that this process sends attempt ``attempt`` now; False when another did."""
    taken = rows_changed(
        session,
        update(Job)
        .where(
            Job.id == job_id,
            Job.attempt == attempt,
            or_(_not_sent(), _sent_before(resend_before)),
        )
        .values(dispatched_attempt=attempt, dispatched_at=now)
        .execution_options(synchronize_session=False),
    )
    return taken == 1


def _due(now: datetime) -> ColumnElement[bool]:
    """Claimable now, with an attempt left."""
    return and_(Job.attempt < Job.attempt_limit, claimable(now))


def _not_sent() -> ColumnElement[bool]:
    """No message under the job's current attempt (every claim makes a new attempt)."""
    return or_(Job.dispatched_attempt.is_(None), Job.dispatched_attempt != Job.attempt)


def _sent_before(moment: datetime) -> ColumnElement[bool]:
    """A message under the current attempt went out before ``moment``."""
    return and_(Job.dispatched_attempt == Job.attempt, Job.dispatched_at < moment)
