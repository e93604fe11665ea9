"""Running jobs: one job function, the runners that execute it, and their shared policy.

- ``run``: ``run_job`` (load -> read -> persist, fenced by the claimed attempt), the
  ``FormReader`` seam and which errors are retried;
- ``lease``: keeping a claimed attempt's lease alive while it runs (both runners);
- ``embedded``: the default runner, a thread of the API process feeding a process pool;
- ``dispatch``: the API side of the distributed mode, sending queued jobs to Celery;
- ``celery_app``: the Celery application and task of ``formscan worker``;
- ``process``: what every worker process sets up before its first job.

The job protocol itself (claim, renew, fence, record a failure, retry) is persistence:
``service.store.jobs``.
"""
