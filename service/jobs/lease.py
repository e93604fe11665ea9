"""Keeping a claimed attempt's lease alive while it runs: the one renewer of both runners.

A claim (``service.store.claim_job``) leases the job for ``lease_seconds``; a runner
renews it while the attempt runs, so a lease runs out only when the process holding
it died, and then another runner takes the job over. The embedded runner renews all
its attempts from its loop (``renew_due``); a Celery task renews its own attempt from
a thread (``lease_kept``). Both renew ``RENEWALS_PER_LEASE`` times per lease period.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from service import store

log = logging.getLogger(__name__)

# Leases are renewed this many times per lease period, so one missed renewal (a slow
# database, a busy thread) does not let a healthy attempt's lease run out.
RENEWALS_PER_LEASE = 3


def renewal_interval_s(lease_seconds: float) -> float:
    """Seconds between two renewals of one lease."""
    return lease_seconds / RENEWALS_PER_LEASE


def renew(
    sessions: sessionmaker[Session], claim: store.ClaimedJob, *, lease_seconds: float
) -> bool:
    """Extend ``claim``'s lease; False when the attempt is no longer the job's current one."""
    with sessions.begin() as session:
        return store.renew_lease(
            session, job_id=claim.job_id, attempt=claim.attempt, lease_seconds=lease_seconds
        )


def renew_all(
    sessions: sessionmaker[Session], claims: Iterable[store.ClaimedJob], *, lease_seconds: float
) -> None:
    """Extend the lease of every claim (the embedded runner's attempts in flight)."""
    for claim in claims:
        renew(sessions, claim, lease_seconds=lease_seconds)


@contextmanager
def lease_kept(
    sessions: sessionmaker[Session], claim: store.ClaimedJob, *, lease_seconds: float
) -> Iterator[None]:
    """Renew ``claim``'s lease from a thread while the ``with`` block runs.

    A failed renewal is logged and tried again at the next interval (the lease has
    slack for it); renewing stops once the attempt has been taken over.
    """
    done = threading.Event()

    def keep() -> None:
        while not done.wait(renewal_interval_s(lease_seconds)):
            try:
                is_current = renew(sessions, claim, lease_seconds=lease_seconds)
            except Exception:  # a missed renewal is retried; the lease has slack
                log.exception("submission %d: lease renewal failed", claim.submission_id)
                continue
            if not is_current:
                return

    renewer = threading.Thread(target=keep, name="formscan-lease", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()
