"""Jobs: the processing record of a submission; failed ones can be retried."""

from __future__ import annotations

from fastapi import APIRouter

from service import store
from service.deps import RunnerDep, ScopeDep, SessionDep, SettingsDep
from service.errors import problem_responses
from service.schemas import JobPublic

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


@router.get("/{job_id}", responses=problem_responses(404, 422))
def get_job(job_id: int, session: SessionDep, scope: ScopeDep) -> JobPublic:
    """A job's state, attempts and error, for polling an upload's progress (404 outside scope)."""
    return JobPublic.of(store.get_job(session, job_id, scope=scope))


@router.post("/{job_id}/retry", status_code=202, responses=problem_responses(403, 404, 409, 422))
def retry_job(
    job_id: int, session: SessionDep, scope: ScopeDep, settings: SettingsDep, runner: RunnerDep
) -> JobPublic:
    """Queue a failed job again with ``FORMSCAN_MAX_ATTEMPTS`` more attempts."""
    job = store.retry_job(session, job_id=job_id, max_attempts=settings.max_attempts, scope=scope)
    session.commit()
    if runner is not None:
        runner.notify()
    return JobPublic.of(job)
