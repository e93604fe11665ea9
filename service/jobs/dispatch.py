"""Celery mode: the dispatcher in the API process and the claim a Celery task makes.

With ``FORMSCAN_BROKER_URL`` set the API runs no OCR. ``Dispatcher`` is a thread that
claims nothing: it sends the ``formscan.process`` task for every due queued job not
yet sent under its current attempt, sends it again for a running job whose database
lease ran out (its worker died; at most once per lease period), and fails a job whose
last allowed attempt lost its worker. The database lease, not the broker, is the
record of truth, so a duplicate message is harmless: the task claims the job like the
embedded runner does (``claim_submission``) and returns without work when it cannot.

What was sent is recorded on the job (``dispatched_attempt``, ``dispatched_at``), and
the right to send is taken with a conditional UPDATE in the transaction that sends: of
several API processes only one sends each message, and a restarted API sends nothing
twice. A queued job whose message the broker lost (a Redis restarted without
persistence) is sent again once the broker's queue is empty.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from celery import Celery
from kombu.exceptions import ChannelError
from sqlalchemy import Row
from sqlalchemy.orm import Session, sessionmaker

from service import store
from service.models import utc_now
from service.settings import Settings
from service.store import dispatch as dispatch_store

log = logging.getLogger(__name__)

PROCESS_TASK = "formscan.process"


def claim_submission(
    session: Session, *, submission_id: int, worker_id: str, lease_seconds: float
) -> store.ClaimedJob | None:
    """Claim the job of one submission (``store.claim_job`` with that filter).

    None when the job is not claimable: done, failed, not yet due, or running under
    a lease that has not run out. The caller commits.
    """
    return store.claim_job(
        session, worker_id=worker_id, lease_seconds=lease_seconds, submission_id=submission_id
    )


class Dispatcher:
    """Send due jobs to the Celery workers until ``stop`` is called."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], app: Celery) -> None:
        self.settings = settings
        self.sessions = sessions
        self.app = app
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the dispatch thread."""
        self._thread = threading.Thread(target=self._loop, name="formscan-dispatch", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """Look for work now (called after an upload or a retry)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop dispatching; queued jobs stay queued for the next dispatcher."""
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
        # A message sent this long ago and still not taken by a worker is sent again.
        resend_before = now - timedelta(seconds=self.settings.lease_seconds)
        with self.sessions.begin() as session:
            # A job whose last allowed attempt lost its worker is failed, not re-sent.
            store.fail_abandoned_jobs(session, now=now)
        with self.sessions() as session:
            jobs = dispatch_store.jobs_to_send(session, now=now, resend_before=resend_before)
            lost = self._lost_messages(session, now=now, resend_before=resend_before)
        sent = 0
        for job_id, submission_id, attempt in [*jobs, *lost]:
            sent += self._send(job_id, submission_id, attempt, now=now, resend_before=resend_before)
        return sent

    def _send(
        self,
        job_id: int,
        submission_id: int,
        attempt: int,
        *,
        now: datetime,
        resend_before: datetime,
    ) -> bool:
        """Take the right to send (one API process wins), send, record; False if taken.

        The message goes out inside the transaction that records it: a failed send
        rolls the record back, and a crash after the send leaves it unrecorded, so the
        job is sent again (a duplicate the claim refuses), never lost.
        """
        with self.sessions.begin() as session:
            if not dispatch_store.take_send(
                session, job_id=job_id, attempt=attempt, now=now, resend_before=resend_before
            ):
                return False
            self.app.send_task(PROCESS_TASK, args=[submission_id], queue=self.settings.celery_queue)
        log.info("submission %d: sent to the workers (attempt %d)", submission_id, attempt)
        return True

    def _lost_messages(
        self, session: Session, *, now: datetime, resend_before: datetime
    ) -> Sequence[Row[int, int, int]]:
        """Queued jobs whose message the broker no longer holds: send them again.

        A Redis that restarts without persistence (or is flushed) forgets its queue,
        while the database still says ``queued``. A job sent more than a lease period
        ago, still queued while the broker's queue is empty, was lost that way: a
        worker takes a message within moments of it reaching an empty queue. The
        broker is asked only when such jobs exist, so a healthy backlog costs nothing.
        """
        stale = dispatch_store.queued_sent_before(session, now=now, resend_before=resend_before)
        if not stale or self._queue_length() > 0:
            return []
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
