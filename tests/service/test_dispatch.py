"""The Celery dispatcher against the real Redis, on SQLite and PostgreSQL.

Messages are counted in the Redis list of a queue unique to each test. No worker runs:
what is tested is what the API side sends, and when.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service import store
from service.db import create_db_engine, make_session_factory, upgrade_database
from service.jobs.celery_app import create_celery_app
from service.jobs.dispatch import Dispatcher
from service.models import Job
from service.settings import Settings
from tests.service.conftest import make_settings, open_campaign, queue_submission

JOBS = 5
LEASE_S = 0.5


@pytest.fixture
def settings(tmp_path: Path, db_url: str, broker_url: str) -> Iterator[Settings]:
    settings = make_settings(
        tmp_path,
        db_url,
        broker_url=broker_url,
        celery_queue=f"formscan-test-{uuid.uuid4().hex[:12]}",
        lease_seconds=LEASE_S,
    )
    yield settings
    client = redis.Redis.from_url(broker_url)
    client.delete(settings.celery_queue)
    client.close()


@pytest.fixture
def sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(settings.database_url)
    upgrade_database(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        campaign = open_campaign(session)
        for i in range(JOBS):
            code = f"S{i}"
            store.create_unit(session, code=code, name=code, kind="school", parent_code=None)
            queue_submission(session, unit_code=code, campaign_id=campaign, sha256=f"{i:064x}")
    yield factory
    engine.dispose()


def dispatcher(settings: Settings) -> Dispatcher:
    """A dispatcher as one API process has it: its own engine and Celery app."""
    engine = create_db_engine(settings.database_url)
    return Dispatcher(settings, make_session_factory(engine), create_celery_app(settings))


def queued_messages(settings: Settings) -> int:
    client = redis.Redis.from_url(str(settings.broker_url))
    try:
        return int(client.llen(settings.celery_queue))
    finally:
        client.close()


def test_dispatch_several_api_processes_send_each_job_once(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    apis = [dispatcher(settings) for _ in range(3)]
    counts: list[int] = []
    start = threading.Barrier(len(apis))

    def run(api: Dispatcher) -> None:
        start.wait()
        counts.append(api.dispatch())

    threads = [threading.Thread(target=run, args=(api,)) for api in apis]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == JOBS
    assert queued_messages(settings) == JOBS
    assert dispatcher(settings).dispatch() == 0  # a restarted API sends nothing again
    with sessions() as session:
        assert set(session.scalars(select(Job.dispatched_attempt))) == {0}


def test_dispatch_lost_messages_sent_again_only_when_queue_empty(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    api = dispatcher(settings)
    assert api.dispatch() == JOBS
    time.sleep(LEASE_S + 0.1)
    assert api.dispatch() == 0  # still waiting in Redis: a backlog, not a loss
    client = redis.Redis.from_url(str(settings.broker_url))
    client.delete(settings.celery_queue)  # as a Redis restarted without persistence
    client.close()
    assert api.dispatch() == JOBS
    assert queued_messages(settings) == JOBS
    assert api.dispatch() == 0  # sent a moment ago: not again before a lease period


def test_dispatch_expired_lease_resent_once_per_lease(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    api = dispatcher(settings)
    assert api.dispatch() == JOBS
    with sessions.begin() as session:
        claimed = store.claim_job(session, worker_id="gone", lease_seconds=LEASE_S)
    assert claimed is not None
    assert api.dispatch() == 0  # running under a live lease
    time.sleep(LEASE_S + 0.1)
    assert api.dispatch() == 1  # its worker stopped renewing: send it again
    assert api.dispatch() == 0
    time.sleep(LEASE_S + 0.1)
    assert api.dispatch() == 1  # nobody took it: once more, a lease period later
    assert queued_messages(settings) == JOBS + 2


def test_dispatch_failed_then_retried_job_sent_again(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    api = dispatcher(settings)
    assert api.dispatch() == JOBS
    with sessions.begin() as session:
        claimed = store.claim_job(session, worker_id="w", lease_seconds=60)
        assert claimed is not None
        store.record_failure(
            session,
            submission_id=claimed.submission_id,
            attempt=claimed.attempt,
            code="unreadable_document",
            detail="bad file",
            fix="rescan",
            is_retryable=False,
            retry_delay_seconds=0,
        )
    assert api.dispatch() == 0
    with sessions.begin() as session:
        store.retry_job(session, job_id=claimed.job_id, max_attempts=2)
    assert api.dispatch() == 1
