"""API models: ``...Create`` is what a client sends, ``...Public`` what it receives.

``ReadingPublic`` extends the CLI's field JSON (``ocr.result.reading_json``) with the
reading's ``status`` and ``version`` (the optimistic lock a review decision names).
Conversions from database rows live here, next to the shapes they produce.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ocr.result import reading_json
from service.models import ApiToken, AuditEvent, Campaign, Job, Reading, Submission, Unit, User
from service.store.readings import ocr_reading_of


class ProblemPublic(BaseModel):
    """RFC 9457 problem details, extended with a stable ``code`` and a ``fix``."""

    type: str = Field(examples=["urn:formscan:problem:encrypted_pdf"])
    title: str = Field(examples=["Unprocessable Content"])
    status: int = Field(examples=[422])
    detail: str
    code: str = Field(examples=["encrypted_pdf"])
    fix: str = ""


class HealthPublic(BaseModel):
    """The answer of ``/healthz``: the process and its database answer."""

    status: str = Field(examples=["ok"])
    database: str = Field(examples=["sqlite"])


class SessionCreate(BaseModel):
    """A sign-in: username and password, nothing else accepted."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1000)


class UserPublic(BaseModel):
    """An account as shown to clients: never its password hash."""

    id: int
    username: str
    display_name: str
    role: str = Field(examples=["admin", "reviewer", "uploader"])
    unit_code: str | None = Field(
        description="The scope: a reviewer's subtree, an uploader's unit."
    )

    @classmethod
    def of(cls, user: User) -> UserPublic:
        """The public view of ``user``, its unit named by code."""
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            unit_code=None if user.unit is None else user.unit.code,
        )


class SessionPublic(BaseModel):
    """The signed-in user; ``csrf_token`` goes in ``X-CSRF-Token`` on unsafe requests."""

    user: UserPublic
    csrf_token: str | None = Field(description="Null when authenticated by a bearer token.")


class TokenCreate(BaseModel):
    """A new API token's name, so its owner can tell tokens apart and revoke one."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["nightly export"])


class TokenPublic(BaseModel):
    """An API token as listed: its name and dates, never the secret."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenPublic:
        """The public view of ``token``."""
        return cls(
            id=token.id,
            name=token.name,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
        )


class TokenCreatedPublic(TokenPublic):
    """A token just made: the only answer that carries its secret."""

    token: str = Field(description="Send as 'Authorization: Bearer <token>'. Shown only now.")


class UnitCreate(BaseModel):
    """A unit to register; the same validation serves the API, the CLI and unit files."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    name: str = Field(min_length=1, max_length=300)
    kind: str = Field(min_length=1, max_length=32, examples=["school", "district", "province"])
    parent_code: str | None = None


class UnitPublic(BaseModel):
    """A unit as shown to clients, its parent named by code."""

    id: int
    code: str
    name: str
    kind: str
    parent_code: str | None

    @classmethod
    def of(cls, unit: Unit) -> UnitPublic:
        """The public view of ``unit``."""
        parent = None if unit.parent is None else unit.parent.code
        return cls(id=unit.id, code=unit.code, name=unit.name, kind=unit.kind, parent_code=parent)


class CampaignCreate(BaseModel):
    """A campaign to register: its layout, year, deadline and the units expected to report."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=300)
    layout_id: str = Field(default="llw-summary-2022", min_length=1, max_length=100)
    year: int = Field(ge=2000, le=2100)
    deadline: date | None = None
    expected_unit_codes: list[str] = Field(
        default_factory=list, description="Units expected to report; empty: any unit."
    )


class CampaignPublic(BaseModel):
    """A campaign as shown to clients, with the expected units the caller may see."""

    id: int
    name: str
    layout_id: str
    year: int
    deadline: date | None
    expected_unit_codes: list[str]

    @classmethod
    def of(cls, campaign: Campaign, units: Sequence[Unit] | None = None) -> CampaignPublic:
        """``units``: the expected units to show (those in the reader's scope); default all."""
        shown = campaign.expected_units if units is None else units
        return cls(
            id=campaign.id,
            name=campaign.name,
            layout_id=campaign.layout_id,
            year=campaign.year,
            deadline=campaign.deadline,
            expected_unit_codes=sorted(u.code for u in shown),
        )


class ProgressPublic(BaseModel):
    """How far the reading of a submission has come, for the uploader's progress bar."""

    pages_done: int
    pages_total: int | None = Field(description="Null until the document has been loaded.")


class ErrorPublic(BaseModel):
    """Why a submission failed, with the fix its unit can apply."""

    code: str
    detail: str | None
    fix: str | None = None


class FilePublic(BaseModel):
    """One uploaded file of a submission, as received."""

    position: int
    name: str
    media_type: str
    size_bytes: int
    sha256: str


class SubmissionLinks(BaseModel):
    """Where a client goes next from a submission (its readings, its job)."""

    self: str
    readings: str
    job: str | None


class SubmissionPublic(BaseModel):
    """A submission as its unit and reviewers see it: status, progress, error, links."""

    id: int
    unit_code: str
    campaign_id: int
    layout_id: str
    version: int
    replaces_id: int | None
    status: str = Field(examples=["received", "processing", "needs_review", "clean", "failed"])
    progress: ProgressPublic
    error: ErrorPublic | None
    files: list[FilePublic]
    uploaded_by: int | None
    created_at: datetime
    updated_at: datetime
    links: SubmissionLinks

    @classmethod
    def of(cls, submission: Submission) -> SubmissionPublic:
        """The public view of ``submission``, its error and links included."""
        base = f"/api/submissions/{submission.id}"
        error = None
        if submission.error_code is not None:
            error = ErrorPublic(
                code=submission.error_code,
                detail=submission.error_detail,
                fix=submission.error_fix,
            )
        job = submission.job
        return cls(
            id=submission.id,
            unit_code=submission.unit.code,
            campaign_id=submission.campaign_id,
            layout_id=submission.layout_id,
            version=submission.version,
            replaces_id=submission.replaces_id,
            status=submission.status,
            progress=ProgressPublic(
                pages_done=submission.pages_done, pages_total=submission.pages_total
            ),
            error=error,
            files=[
                FilePublic(
                    position=f.position,
                    name=f.name,
                    media_type=f.media_type,
                    size_bytes=f.size_bytes,
                    sha256=f.sha256,
                )
                for f in submission.files
            ],
            uploaded_by=submission.uploaded_by,
            created_at=submission.created_at,
            updated_at=submission.updated_at,
            links=SubmissionLinks(
                self=base,
                readings=f"{base}/readings",
                job=None if job is None else f"/api/jobs/{job.id}",
            ),
        )


class SubmissionPagePublic(BaseModel):
    """A page of submissions with the total, for paging through a campaign."""

    items: list[SubmissionPublic]
    total: int
    limit: int
    offset: int


class ReadingPublic(BaseModel):
    """One field as the CLI prints it, plus ``status``, ``column_key``, ``id`` and ``version``."""

    id: int
    row_key: str
    field: str
    value: int | None
    text: str
    confidence: float
    flagged: bool
    reasons: list[str]
    page: int | None = Field(description="1-based page of the submission.")
    box: list[int] | None = Field(description="[x, y, width, height] in pixels of the page.")
    status: str = Field(examples=["ok", "needs_review", "empty", "unreadable"])
    column_key: str | None
    version: int
    decision: str | None = Field(
        default=None, description="The last human decision: confirm, correct, unreadable."
    )
    decided_by: str | None = None
    decided_by_uploader: bool = False

    @classmethod
    def of(cls, reading: Reading) -> ReadingPublic:
        """The extraction JSON of the CLI (``ocr.result``) for the stored reading, and more."""
        return cls.model_validate(
            {
                "id": reading.id,
                **reading_json(ocr_reading_of(reading)),
                "status": reading.status,
                "column_key": reading.column_key,
                "version": reading.version,
                "decision": reading.decision,
                "decided_by": reading.decided_by,
                "decided_by_uploader": reading.is_decided_by_uploader,
            }
        )


class ReadingsPublic(BaseModel):
    """The CLI's extraction JSON for a processed submission (``fields`` empty before)."""

    submission_id: int
    status: str
    layout: str
    files: list[str]
    pages: int | None
    seconds: float | None
    fields: list[ReadingPublic]
    warnings: list[str]


class JobLinks(BaseModel):
    """Where a client goes from a job (its submission, the retry action)."""

    self: str
    submission: str
    retry: str


class JobPublic(BaseModel):
    """A processing job: state, attempts and last error, for operators and polling clients."""

    id: int
    submission_id: int
    state: str = Field(examples=["queued", "running", "done", "failed"])
    attempt: int
    attempt_limit: int
    claimed_by: str | None
    lease_until: datetime | None
    not_before: datetime | None
    error: ErrorPublic | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: JobLinks

    @classmethod
    def of(cls, job: Job) -> JobPublic:
        """The public view of ``job``."""
        error = None
        if job.error_code is not None:
            error = ErrorPublic(code=job.error_code, detail=job.error_detail)
        return cls(
            id=job.id,
            submission_id=job.submission_id,
            state=job.state,
            attempt=job.attempt,
            attempt_limit=job.attempt_limit,
            claimed_by=job.claimed_by,
            lease_until=job.lease_until,
            not_before=job.not_before,
            error=error,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            links=JobLinks(
                self=f"/api/jobs/{job.id}",
                submission=f"/api/submissions/{job.submission_id}",
                retry=f"/api/jobs/{job.id}/retry",
            ),
        )


class ReviewDecisionCreate(BaseModel):
    """A person's decision on one reading, at the ``version`` they saw.

    Who decides is the signed-in user; an uploader's decision (the unit correcting its
    own reading before review) is recorded as ``by_uploader``.
    """

    model_config = ConfigDict(extra="forbid")

    action: Literal["confirm", "correct", "unreadable"] = Field(
        description="confirm the value read, correct it (give ``value``), or mark it "
        "unreadable: ask the unit (the value is emptied and stays open)."
    )
    value: int | None = Field(
        default=None, ge=0, description="The right number, for ``correct`` only."
    )
    version: int = Field(ge=1, description="The reading's ``version`` the decision is based on.")
    reason: str | None = Field(default=None, max_length=2000, description="Why, for the audit.")


class DecisionPublic(BaseModel):
    """The decided reading, the readings the re-check changed, the submission's status."""

    reading: ReadingPublic
    rechecked: list[ReadingPublic]
    submission_status: str = Field(examples=["needs_review", "clean"])


class AuditEventPublic(BaseModel):
    """One audit event: who did what to which reading, and the values before and after."""

    id: int
    submission_id: int
    reading_id: int | None
    actor: str
    action: str = Field(
        examples=["reading_corrected", "reading_confirmed", "flags_rechecked", "status_changed"]
    )
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    reason: str | None
    by_uploader: bool
    at: datetime

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventPublic:
        """The public view of ``event``."""
        return cls(
            id=event.id,
            submission_id=event.submission_id,
            reading_id=event.reading_id,
            actor=event.actor,
            action=event.action,
            old=event.old,
            new=event.new,
            reason=event.reason,
            by_uploader=event.is_by_uploader,
            at=event.at,
        )


class QueueUnitPublic(BaseModel):
    """The unit of a queued reading, named for the reviewer."""

    code: str
    name: str


class QueueItemPublic(BaseModel):
    """An open reading in the review queue, with what a reviewer needs to decide it."""

    reading_id: int
    submission_id: int
    unit: QueueUnitPublic
    row_key: str
    field: str
    row_label: str = Field(description="The printed label of the row (from the layout).")
    unit_of_measure: str = Field(examples=["lớp/người", "đồng"])
    value: int | None = Field(description="The proposed value.")
    text: str = Field(description="The text read in the cell.")
    confidence: float
    reasons: list[str]
    status: str
    version: int
    crop_url: str | None = Field(description="PNG of the cell with context; null without a box.")
    page_url: str | None = Field(description="PNG of the whole page; add ?overlay=1 for colours.")


class QueuePagePublic(BaseModel):
    """A page of the review queue, in priority order, with the total."""

    items: list[QueueItemPublic]
    total: int
    limit: int
    offset: int


# --- aggregation, completeness, exports -------------------------------------------------


class TotalPublic(BaseModel):
    """One aggregated figure: ``total`` is null when no unit reported the field."""

    group: str = Field(description="Code of the district or province the total is for.")
    row_key: str
    field: str
    total: int | None
    n_reported: int = Field(description="Units whose included submission gave a value.")
    n_submitted: int = Field(description="Units whose submission is in the total.")
    n_expected: int
    includes_unreviewed: bool
    sources_url: str


class AggregatePublic(BaseModel):
    """A campaign's totals by district or province, with the options that produced them."""

    campaign_id: int
    level: str
    unit_code: str | None
    include_unreviewed: bool
    totals: list[TotalPublic]


class SourcePublic(BaseModel):
    """A unit's latest submission behind a figure and its reading of the field."""

    unit_code: str
    unit_name: str
    district: str
    submission_id: int
    submission_version: int
    submission_status: str
    is_included: bool = Field(description="Whether this value is part of the total.")
    reading_id: int | None
    value: int | None
    status: str | None
    crop_url: str | None
    reading_url: str | None


class SourcesPublic(BaseModel):
    """The submissions and readings behind one figure, so a total can be checked."""

    campaign_id: int
    unit_code: str
    row_key: str
    field: str
    total: int | None
    n_reported: int
    n_expected: int
    include_unreviewed: bool
    sources: list[SourcePublic]
    missing_unit_codes: list[str] = Field(description="Expected units with no submission.")


class MissingUnitPublic(BaseModel):
    """An expected unit that has not reported, with its district."""

    code: str
    name: str
    district: str


class CompletenessGroupPublic(BaseModel):
    """Completeness of one district or province: expected, submitted, clean, late, missing."""

    unit_code: str = Field(description="The district or province; empty for the whole.")
    unit_name: str
    expected: int
    submitted: int
    clean: int
    needs_review: int
    failed: int
    late: int
    missing: list[MissingUnitPublic]


class CompletenessPublic(BaseModel):
    """A campaign's completeness by group and in all, against its deadline."""

    campaign_id: int
    level: str
    deadline: date | None
    groups: list[CompletenessGroupPublic]
    total: CompletenessGroupPublic
