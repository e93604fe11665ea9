"""The embedded job runner: a thread in the API process feeding a process pool.

With ``workers=0`` (``FORMSCAN_WORKERS=0``) the pool is one thread of the API process
instead: for tests and tiny installs, where starting a worker process (spawn, then
importing the OCR stack) costs more than the job. Claims, leases, fencing and retries
are the same; but a crash or a hang in the reader then takes the API process with it,
and no ``worker_lost`` is ever recorded because there is no worker to lose.

It holds no job state of its own; the database does (see ``service.store``).
The thread loops: claim due jobs while a worker is free, submit ``jobs.run_job`` to
the pool, renew the leases of running attempts, and collect finished futures. A
worker process that dies (SIGKILL, out of memory, a segfault in a native library)
breaks the whole ``ProcessPoolExecutor``; the runner then records ``worker_lost``
(``service.jobs.policy.WORKER_LOST``) for every attempt that was in the pool (each is
retried with backoff, within its attempts) and builds a new pool. A stopped or killed
service leaves its attempts ``running``; their leases run out and the next runner
takes them over (``requeue_expired_jobs`` at start, ``claim_job`` any time).

Celery (or any other runner) would replace only this module: claim, call
``run_job(submission_id, attempt, settings, reader=...)``, renew the lease.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from service import store
from service.jobs import policy
from service.jobs.lease import renew_all, renewal_interval_s
from service.jobs.process import configure_worker_process
from service.jobs.run import DEFAULT_READER, FormReader, run_job
from service.settings import Settings

log = logging.getLogger(__name__)

# Threads running jobs when ``workers`` is 0. One: OCR is CPU-bound and holds the GIL
# for much of a page, so a second thread would mostly slow the API's requests.
IN_PROCESS_THREADS = 1


@dataclass
class _InFlight:
    claim: store.ClaimedJob
    future: Future[str]
    pool: Executor


class EmbeddedRunner:
    """Run queued jobs in a local process pool until ``stop`` is called."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        reader: FormReader = DEFAULT_READER,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.reader = reader
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:embedded"
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: Executor | None = None
        self._in_flight: dict[int, _InFlight] = {}
        self._last_renewal = 0.0

    def start(self) -> None:
        """Re-queue attempts whose leases ran out, then start the pool and the loop."""
        with self.sessions.begin() as session:
            count = store.requeue_expired_jobs(session)
        if count:
            log.info("re-queued %d job(s) left running with expired leases", count)
        self._pool = self._new_pool()
        self._thread = threading.Thread(target=self._loop, name="formscan-runner", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """Look for work now (called after an upload or a retry)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming and let running attempts finish (each records its own result).

        A runner killed instead of stopped leaves its attempts ``running``; their
        leases run out and a later runner takes them over.
        """
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    @property
    def pool_pids(self) -> list[int]:
        """Worker process ids (for monitoring, and for tests that kill one)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return sorted(processes)

    @property
    def capacity(self) -> int:
        """Attempts run at once: ``workers``, or the single thread when it is 0."""
        return self.settings.workers or IN_PROCESS_THREADS

    def _new_pool(self) -> Executor:
        if self.settings.workers == 0:
            # No worker initializer: its thread limits would apply to the API process.
            return ThreadPoolExecutor(
                max_workers=IN_PROCESS_THREADS, thread_name_prefix="formscan-job"
            )
        # "spawn": forking a process that runs threads (uvicorn, this runner) can copy
        # a held lock into the child; a fresh interpreter per worker cannot.
        return ProcessPoolExecutor(
            max_workers=self.settings.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=configure_worker_process,
        )

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._collect()
                self._renew_leases()
                self._fill()
            except Exception:  # the runner must outlive a database hiccup
                log.exception("runner iteration failed; retrying")
            self._wake.wait(self.settings.poll_seconds)
            self._wake.clear()

    def _fill(self) -> None:
        while len(self._in_flight) < self.capacity and not self._stopping.is_set():
            with self.sessions.begin() as session:
                claim = store.claim_job(
                    session,
                    worker_id=self.worker_id,
                    lease_seconds=self.settings.lease_seconds,
                )
            if claim is None:
                return
            pool = self._pool
            assert pool is not None
            log.info("submission %d: attempt %d started", claim.submission_id, claim.attempt)
            try:
                future = pool.submit(
                    run_job, claim.submission_id, claim.attempt, self.settings, reader=self.reader
                )
            except BrokenProcessPool:
                self._in_flight[claim.job_id] = _InFlight(claim, _broken_future(), pool)
                return
            future.add_done_callback(lambda _f: self._wake.set())
            self._in_flight[claim.job_id] = _InFlight(claim, future, pool)

    def _collect(self) -> None:
        is_broken = False
        for job_id, item in list(self._in_flight.items()):
            if not item.future.done():
                continue
            del self._in_flight[job_id]
            exc = item.future.exception()
            if isinstance(exc, BrokenProcessPool):
                # Futures of an already replaced pool fail late; rebuild only once.
                is_broken = is_broken or item.pool is self._pool
                self._record_lost(item.claim)
            elif exc is not None:
                log.error("submission %d: job raised", item.claim.submission_id, exc_info=exc)
            else:
                log.info("submission %d: %s", item.claim.submission_id, item.future.result())
        if is_broken:
            self._rebuild_pool()

    def _record_lost(self, claim: store.ClaimedJob) -> None:
        log.error(
            "submission %d: worker process died during attempt %d",
            claim.submission_id,
            claim.attempt,
            extra={"submission_id": claim.submission_id, "attempt": claim.attempt},
        )
        policy.record_failure(
            self.sessions,
            submission_id=claim.submission_id,
            attempt=claim.attempt,
            failure=policy.WORKER_LOST,
            settings=self.settings,
        )

    def _rebuild_pool(self) -> None:
        log.warning("rebuilding the worker pool")
        old, self._pool = self._pool, self._new_pool()
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    def _renew_leases(self) -> None:
        now = time.monotonic()
        if now - self._last_renewal < renewal_interval_s(self.settings.lease_seconds):
            return
        self._last_renewal = now
        claims = [item.claim for item in self._in_flight.values()]
        renew_all(self.sessions, claims, lease_seconds=self.settings.lease_seconds)


def _broken_future() -> Future[str]:
    future: Future[str] = Future()
    future.set_exception(BrokenProcessPool("the worker pool was broken at submit time"))
    return future
