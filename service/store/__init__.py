"""All SQL of the service, one module per aggregate.

- ``units``: the unit tree and campaigns;
- ``submissions``: submissions, their files, pages and readings;
- ``jobs``: the job protocol (claim, lease, fence, progress, failure, retry);
- ``audit``: the append-only event trail;
- ``accounts``: users, their sign-in sessions and API tokens;
- ``review``: what review reads and locks (a reading's unit, the open readings);
- ``reports``: the plain-column reads behind a report;
- ``readings`` and ``queue``: the one Reading mapping, the queue's figures.

Nothing here imports a use case (review, reports, routes, jobs): persistence sits
below them, and takes plain values (a ``service.scope.Scope``, ids, codes). The
names are re-exported here, so callers write ``store.claim_job(...)``.
"""

from service.store.audit import SYSTEM_ACTOR, add_event
from service.store.jobs import (
    ClaimedJob,
    PageInfo,
    claim_job,
    claimable,
    fail_abandoned_jobs,
    get_job,
    persist_extraction,
    record_failure,
    record_pages,
    record_progress,
    renew_lease,
    requeue_expired_jobs,
    retry_job,
)
from service.store.submissions import (
    StoredFile,
    create_submission,
    files_fingerprint,
    get_page,
    get_submission,
    list_readings,
    list_submissions,
    open_reading_counts,
    resolve_upload_target,
)
from service.store.units import (
    ImportCounts,
    UnitRow,
    create_campaign,
    create_unit,
    get_campaign,
    get_unit_by_code,
    import_units,
    list_campaigns,
    list_units,
    subtree_ids,
    subtree_ids_of_code,
    unit_names,
)

__all__ = [
    "SYSTEM_ACTOR",
    "ClaimedJob",
    "ImportCounts",
    "PageInfo",
    "StoredFile",
    "UnitRow",
    "add_event",
    "claim_job",
    "claimable",
    "create_campaign",
    "create_submission",
    "create_unit",
    "fail_abandoned_jobs",
    "files_fingerprint",
    "get_campaign",
    "get_job",
    "get_page",
    "get_submission",
    "get_unit_by_code",
    "import_units",
    "list_campaigns",
    "list_readings",
    "list_submissions",
    "list_units",
    "open_reading_counts",
    "persist_extraction",
    "record_failure",
    "record_pages",
    "record_progress",
    "renew_lease",
    "requeue_expired_jobs",
    "resolve_upload_target",
    "retry_job",
    "subtree_ids",
    "subtree_ids_of_code",
    "unit_names",
]
