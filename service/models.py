"""Database tables (SQLAlchemy 2, typed) and the states that live in them.

::

    unit ─┬─ parent (unit)                     school -> district -> province tree
          └─< campaign_unit >── campaign       which units a campaign expects
    user ── unit (scope)                       an account: admin, reviewer, uploader
      ├─< user_session                         a browser's sign-in (cookie)
      └─< api_token                            a script's bearer token
    submission ── unit, campaign, replaces, uploaded_by (user)   one version of a report
      ├─< submission_file                      the uploaded originals, in page order
      ├─< page                                 pages as loaded (for page images later)
      ├─< reading                              one per (row_key, field) of the layout
      ├── job                                  the durable processing record (one)
      └─< audit_event                          append-only history of values

Timestamps are timezone-aware UTC in Python; SQLite stores them as naive UTC text
(``UTCDateTime``), so comparisons in SQL work the same on both databases.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC: every stored time is compared in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on both databases (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store as naive UTC, which SQLite and PostgreSQL compare alike."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Give back an aware UTC time, whatever the database returned."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SubmissionStatus(StrEnum):
    """Where a submission stands, from received to clean (or failed), as shown to its unit."""

    RECEIVED = "received"
    PROCESSING = "processing"
    NEEDS_REVIEW = "needs_review"
    CLEAN = "clean"
    FAILED = "failed"


class JobState(StrEnum):
    """Where a job stands in the job protocol (see ``service.store.jobs``)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Role(StrEnum):
    """What an account may do, and over which units (see ``service.auth``)."""

    ADMIN = "admin"  # everything, no unit
    REVIEWER = "reviewer"  # the submissions of a province or district subtree
    UPLOADER = "uploader"  # the submissions of exactly one unit


class Base(DeclarativeBase):
    """The declarative base, mapping Python types to columns the same way on both databases."""

    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads it as a class attribute)
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


campaign_unit = Table(
    "campaign_unit",
    Base.metadata,
    Column("campaign_id", ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True),
)


class Unit(Base):
    """A reporting unit: school, commune, district office, province department."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    parent: Mapped[Unit | None] = relationship(remote_side=[id])


class Campaign(Base):
    """One year's report collection: which form (layout), by when, from which units."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    layout_id: Mapped[str] = mapped_column(String(100))
    year: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    expected_units: Mapped[list[Unit]] = relationship(secondary=campaign_unit)


class User(Base):
    """An account; passwords are stored as argon2id hashes only.

    ``unit_id`` is its scope: none for an admin, the root of a reviewer's subtree, an
    uploader's one unit.
    """

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    unit: Mapped[Unit | None] = relationship()


class UserSession(Base):
    """A browser's sign-in: the cookie carries the token, the table only its SHA-256."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime] = mapped_column()


class ApiToken(Base):
    """A named bearer token for scripts; the secret is shown once, only its SHA-256 kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_used_at: Mapped[datetime | None] = mapped_column()


class Submission(Base):
    """One uploaded version of a unit's report for a campaign.

    A new upload for the same unit and campaign is a new row with ``version + 1`` and
    ``replaces_id`` pointing at the previous one, which is kept. ``files_sha256``
    fingerprints the ordered files, so that uploading the same files again finds
    this row instead of creating a duplicate.
    """

    __tablename__ = "submission"
    __table_args__ = (UniqueConstraint("unit_id", "campaign_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    layout_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"))
    files_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=SubmissionStatus.RECEIVED, index=True)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_detail: Mapped[str | None] = mapped_column(Text)
    error_fix: Mapped[str | None] = mapped_column(Text)
    # The account that uploaded (null for uploads made before accounts existed).
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    pages_total: Mapped[int | None] = mapped_column(Integer)
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    processing_seconds: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    unit: Mapped[Unit] = relationship()
    campaign: Mapped[Campaign] = relationship()
    files: Mapped[list[SubmissionFile]] = relationship(
        order_by="SubmissionFile.position", cascade="all, delete-orphan"
    )
    job: Mapped[Job | None] = relationship(back_populates="submission", uselist=False)


class SubmissionFile(Base):
    """An uploaded original: a reference into the blob store by SHA-256."""

    __tablename__ = "submission_file"
    __table_args__ = (UniqueConstraint("submission_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)


class Page(Base):
    """A page of a submission as loaded (``page_index`` 0-based over all files)."""

    __tablename__ = "page"
    __table_args__ = (UniqueConstraint("submission_id", "page_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"))
    page_index: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(300))
    dpi: Mapped[int] = mapped_column(Integer)
    width_px: Mapped[int] = mapped_column(Integer)
    height_px: Mapped[int] = mapped_column(Integer)
    has_text_layer: Mapped[bool] = mapped_column(default=False)
    # The cleaned page (grayscale PNG) in the blob store: the pixel frame of the boxes.
    image_sha256: Mapped[str | None] = mapped_column(String(64))


class Reading(Base):
    """The value of one (row_key, field) of a submission, with its doubt.

    ``version`` is SQLAlchemy's optimistic lock: an UPDATE names the version it read,
    so two reviewers deciding the same field cannot both win.
    """

    __tablename__ = "reading"
    __table_args__ = (UniqueConstraint("submission_id", "row_key", "field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # the layout's order
    row_key: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(32))
    value: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text, default="")
    confidence: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    page_index: Mapped[int | None] = mapped_column(Integer)
    box: Mapped[list[Any] | None] = mapped_column(JSON)
    column_key: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The last human decision (confirm, correct, unreadable), by whom (the username;
    # usernames are never renamed) and when. ``accepted_reasons`` are the
    # rule reasons a person confirmed the value against: rechecks do not raise them again.
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column()
    is_decided_by_uploader: Mapped[bool] = mapped_column(default=False, server_default=false())
    accepted_reasons: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy convention)


class Job(Base):
    """The durable record of processing one submission; the database, not the runner, decides.

    ``attempt`` grows by one at every claim and fences writes: a worker may only record
    a result under the attempt it claimed, so a worker whose lease was taken over
    cannot overwrite the newer attempt's work. ``attempt_limit`` is the attempt after
    which failures are final (raised by a manual retry). ``not_before`` delays retries.
    ``dispatched_attempt`` and ``dispatched_at`` record the last message sent to Celery
    workers for the job (``service.jobs.dispatch``), shared by every API process.
    """

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_state_not_before", "state", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[str] = mapped_column(String(16), default=JobState.QUEUED)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    attempt_limit: Mapped[int] = mapped_column(Integer)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column()
    not_before: Mapped[datetime | None] = mapped_column()
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    dispatched_attempt: Mapped[int | None] = mapped_column(Integer)
    dispatched_at: Mapped[datetime | None] = mapped_column()

    submission: Mapped[Submission] = relationship(back_populates="job")


class AuditEvent(Base):
    """One change to a submission or a reading: append-only, never updated or deleted.

    Database triggers (migration 0002) refuse UPDATE and DELETE, except the foreign
    key setting ``reading_id`` to NULL when reprocessing replaces the readings.

    ``actor`` is the deciding user's username (never renamed), or a system actor such
    as ``system:ocr``. ``old`` and ``new`` are JSON snapshots of what changed.
    """

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    reading_id: Mapped[int | None] = mapped_column(ForeignKey("reading.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    old: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    # The unit that uploaded decided (before review), not a reviewer.
    is_by_uploader: Mapped[bool] = mapped_column(default=False, server_default=false())
