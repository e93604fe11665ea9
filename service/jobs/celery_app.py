"""The Celery application of ``formscan worker`` and its one task, ``formscan.process``.

The task holds no business logic: it claims the submission's job in the database with
a lease and a new attempt (``service.jobs.dispatch.claim_submission``, as the embedded
runner claims), renews the lease while ``service.jobs.run.run_job`` runs, and returns. A
message for a job that is done, or leased by a live worker, does nothing.

Delivery is at least once (``acks_late``, ``reject_on_worker_lost``, prefetch 1; a
hard time limit well below the broker's visibility timeout, so Redis never hands a
running task to a second worker); the attempt fence makes it exactly once in effect.
The worker is configured from the ``FORMSCAN_*`` environment (``service.settings``).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from service.jobs.lease import lease_kept
from service.jobs.policy import CELERY_TASK_RETRY
from service.jobs.process import configure_worker_process
from service.settings import Settings, get_settings

log = logging.getLogger(__name__)


def create_celery_app(settings: Settings) -> Celery:
    """A Celery app for ``settings`` (broker, queue, time limits)."""
    app = Celery("formscan", broker=settings.broker_url or None, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.task_time_limit_seconds,
        task_soft_time_limit=settings.task_time_limit_seconds * 0.9,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_seconds},
        task_default_queue=settings.celery_queue,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


app = create_celery_app(get_settings())


@worker_process_init.connect
def _init_worker_process(**_: Any) -> None:
    configure_worker_process()
    # The OCR stack (OpenCV, Tesseract bindings, layouts) loads here, once per process,
    # not in the first job's time.
    import service.jobs.run  # noqa: F401


@app.task(name="formscan.process", bind=True, **CELERY_TASK_RETRY)
def process(self: Any, submission_id: int) -> str:
    """Claim the submission's job and run it; ``not_claimed`` when it was not ours."""
    settings = get_settings()
    worker_id = f"{self.request.hostname or 'celery'}:{os.getpid()}"
    return execute(submission_id, settings, worker_id=worker_id)


def execute(submission_id: int, settings: Settings, *, worker_id: str) -> str:
    """The task body, callable without Celery."""
    from service.db import make_session_factory, shared_engine
    from service.jobs.dispatch import claim_submission
    from service.jobs.run import run_job

    sessions = make_session_factory(shared_engine(settings.database_url))
    with sessions.begin() as session:
        claim = claim_submission(
            session,
            submission_id=submission_id,
            worker_id=worker_id,
            lease_seconds=settings.lease_seconds,
        )
    if claim is None:
        log.info("submission %d: not claimable (done or leased); nothing to do", submission_id)
        return "not_claimed"
    with lease_kept(sessions, claim, lease_seconds=settings.lease_seconds):
        outcome = run_job(claim.submission_id, claim.attempt, settings)
    log.info("submission %d attempt %d: %s", submission_id, claim.attempt, outcome)
    return outcome
