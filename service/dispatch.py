"""Celery mode: the dispatcher in the API process and the claim a Celery task makes.

With ``FORMSCAN_BROKER_URL`` set the API runs no OCR. ``Dispatcher`` is a thread that
claims nothing: it sends the ``formscan.process`` task for every due queued job it
has not sent yet (under the job's current attempt), sends it again for a running job
whose database lease ran out (its worker died), and fails a job whose last allowed
attempt lost its worker. The database lease, not the
broker, is the record of truth, so a duplicate message is harmless: the task claims
the job like the embedded runner does (``claim_submission``) and returns without
work when it cannot. What was sent is remembered in memory only; a restarted API
sends every queued job once more, and those duplicates are refused the same way. A
queued job whose message the broker lost (a Redis restarted without persistence) is
sent again once the broker's queue runs empty.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime

from celery import Celery
from kombu.exceptions import ChannelError
from sqlalchemy import ColumnElement, Row, and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from service import repository
from service.models import Job, JobState, utc_now
from service.settings import Settings

log = logging.getLogger(__name__)

PROCESS_TASK = "formscan.process"


def claim_submission(
    session: Session, *, submission_id: int, worker_id: str, lease_seconds: float
) -> repository.ClaimedJob | None:
    """Claim the job of one submission (``repository.claim_job`` with that filter).

    None when the job is not claimable: done, failed, not yet due, or running under
    a lease that has not run out. The caller commits.
    """
    return repository.claim_job(
        session, worker_id=worker_id, lease_seconds=lease_seconds, submission_id=submission_id
    )


def _claimable(now: datetime) -> ColumnElement[bool]:
    queued = and_(
        Job.state == JobState.QUEUED, or_(Job.not_before.is_(None), Job.not_before <= now)
    )
    expired = and_(Job.state == JobState.RUNNING, Job.lease_until < now)
    return or_(queued, expired)


class Dispatcher:
    """Send due jobs to the Celery workers until ``stop`` is called."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], app: Celery) -> None:
        self.settings = settings
        self.sessions = sessions
        self.app = app
        # job id -> (attempt it was sent under, monotonic time of the send)
        self._sent: dict[int, tuple[int, float]] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="formscan-dispatch", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """Look for work now (called after an upload or a retry)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.dispatch()
            except Exception:  # the dispatcher must outlive a database or broker hiccup
                log.exception("dispatch failed; retrying")
            self._wake.wait(self.settings.poll_seconds)
            self._wake.clear()

    def dispatch(self) -> int:
        """Send what is due; returns the number of messages sent."""
        now = utc_now()
        with self.sessions.begin() as session:
            # A job whose last allowed attempt lost its worker is failed, not re-sent.
            repository.fail_abandoned_jobs(session, now=now)
        with self.sessions() as session:
            rows = session.execute(
                select(Job.id, Job.submission_id, Job.attempt, Job.state).where(
                    Job.attempt < Job.attempt_limit, _claimable(now)
                )
            ).all()
        due = {job_id for job_id, *_ in rows}
        for job_id in list(self._sent):
            if job_id not in due:
                del self._sent[job_id]
        sent = 0
        lost = self._lost_messages(rows)
        for job_id, submission_id, attempt, state in rows:
            if not (self._should_send(job_id, attempt, state) or job_id in lost):
                continue
            self.app.send_task(PROCESS_TASK, args=[submission_id], queue=self.settings.celery_queue)
            self._sent[job_id] = (attempt, time.monotonic())
            sent += 1
            log.info("submission %d: sent to the workers (attempt %d)", submission_id, attempt)
        return sent

    def _lost_messages(self, rows: Sequence[Row[tuple[int, int, int, str]]]) -> set[int]:
        """Queued jobs whose message the broker no longer holds: send them again.

        A Redis that restarts without persistence (or is flushed) forgets its queue,
        while the database still says ``queued``. A job sent more than a lease period
        ago, still queued while the broker's queue is empty, was lost that way: a
        worker takes a message within moments of it reaching an empty queue. Asked
        only when such jobs exist, so a healthy backlog costs no broker round trip.
        """
        now = time.monotonic()
        stale = {
            job_id
            for job_id, _, attempt, state in rows
            if state == JobState.QUEUED
            and (previous := self._sent.get(job_id)) is not None
            and previous[0] == attempt
            and now - previous[1] >= self.settings.lease_seconds
        }
        if not stale or self._queue_length() > 0:
            return set()
        log.warning("the broker lost %d queued job(s); sending them again", len(stale))
        return stale

    def _queue_length(self) -> int:
        """Messages waiting in the Celery queue (0 when the broker has no such queue)."""
        with self.app.connection_for_read() as connection:
            try:
                declared = connection.default_channel.queue_declare(
                    queue=self.settings.celery_queue, passive=True
                )
            except ChannelError:  # an empty Redis list does not exist
                return 0
        return int(declared.message_count)

    def _should_send(self, job_id: int, attempt: int, state: str) -> bool:
        previous = self._sent.get(job_id)
        if previous is None or previous[0] != attempt:
            return True
        if state == JobState.RUNNING:
            # Lease ran out: its worker is gone. Send again, at most once per lease
            # period, so a job nobody picks up does not flood the queue.
            return time.monotonic() - previous[1] >= self.settings.lease_seconds
        return False
