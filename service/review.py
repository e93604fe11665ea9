"""Review: decisions on readings, the re-check of the form's rules, and the review queue.

A decision (``decide``) is one transaction:

1. lock the submission row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
   ``BEGIN IMMEDIATE`` serialises writers anyway), so decisions on one submission
   happen one after the other and each re-check sees the previous one;
2. compare the version the client saw with the reading's: a different one is a
   ``VersionConflictError`` (409), never last-write-wins. The UPDATE itself also
   names the version (SQLAlchemy's ``version_id_col``), which catches a race the
   lock did not;
3. apply the action: ``confirm`` keeps the value, ``correct`` sets a new one,
   ``unreadable`` ("ask the unit") empties it with status ``unreadable`` and reason
   ``asked_unit``, which stays open until the unit answers (a new upload or a
   correction);
4. re-check the form's rules over the whole submission (``ocr.checks.recheck``) and
   write back status and reasons of every reading whose flags changed (their
   versions grow, so a reviewer holding an old version of them gets a 409 too);
5. set the submission ``clean`` when no reading is left flagged, ``needs_review``
   when one is (again);
6. append audit events: one for the decision (old and new value, status, reasons),
   one per reading whose flags the re-check changed, one for a status change.

Confirmed values and the rules: a person who confirms a value that breaks a rule
(a clerk's total that really is 13) has decided. The reasons the reading had at that
moment are kept in ``accepted_reasons``, and later re-checks do not raise those
reasons on it again; a *different* rule failing later (after another correction)
flags it again. A corrected value gets no such exemption: if it still breaks a rule
it is flagged, because the person typed a number, not a judgement about the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ocr.checks import recheck, rule_reasons
from ocr.layout import Layout, load_layout
from ocr.types import ReadingStatus
from service import store
from service.errors import ConflictError, InvalidRequestError, NotFoundError, VersionConflictError
from service.models import AuditEvent, Reading, Submission, SubmissionStatus, Unit, utc_now
from service.scope import Scope
from service.store import review as review_store
from service.store.audit import audit_events as audit_events  # re-exported for routes
from service.store.readings import FLAGGED_STATUSES, ocr_reading_of
from service.store.review import QueueFilter as QueueFilter  # re-exported for routes

RULES_ACTOR = "system:rules"
ASKED_UNIT = "asked_unit"
OPEN_STATUSES = FLAGGED_STATUSES  # open: waiting for a person
REVIEWABLE = (SubmissionStatus.NEEDS_REVIEW.value, SubmissionStatus.CLEAN.value)
# Rows whose unit of measure is money: the largest numbers, the costliest mistakes.
MONEY_UNITS = frozenset({"đồng"})


class Action(StrEnum):
    """What a reviewer may decide about a reading."""

    CONFIRM = "confirm"
    CORRECT = "correct"
    UNREADABLE = "unreadable"


_EVENT = {
    Action.CONFIRM: "reading_confirmed",
    Action.CORRECT: "reading_corrected",
    Action.UNREADABLE: "reading_marked_unreadable",
}


@dataclass(frozen=True)
class Decision:
    """What a person decided about one reading, at the version they saw."""

    action: Action
    value: int | None
    version: int
    actor: str
    reason: str | None = None
    is_by_uploader: bool = False


@dataclass(frozen=True)
class DecisionOutcome:
    """The decided reading, the readings the re-check changed and the submission's status."""

    reading: Reading
    rechecked: list[Reading]  # other readings whose flags the re-check changed
    submission_status: str


def get_reading(session: Session, reading_id: int, *, scope: Scope | None = None) -> Reading:
    """The reading, or 404 when there is none or its submission's unit is outside ``scope``."""
    reading = session.get(Reading, reading_id)
    if reading is not None and scope is not None:
        unit_id = review_store.unit_id_of_reading(session, reading)
        if unit_id is None or not scope.allows(unit_id):
            reading = None
    if reading is None:
        raise NotFoundError(f"No reading {reading_id}.")
    return reading


def decide(
    session: Session, reading_id: int, decision: Decision, *, scope: Scope | None = None
) -> DecisionOutcome:
    """Apply ``decision`` to the reading, re-check the submission, audit (caller commits).

    A reading outside ``scope`` is answered 404, as if it did not exist.
    """
    _validate(decision)
    reading = get_reading(session, reading_id, scope=scope)
    submission = review_store.lock_submission(session, reading.submission_id)
    session.refresh(reading)  # the version current now that the submission is locked
    if submission.status not in REVIEWABLE:
        raise ConflictError(
            f"Submission {submission.id} is {submission.status}; readings can be decided "
            "once it has been processed.",
            code="submission_not_reviewable",
        )
    if reading.version != decision.version:
        raise VersionConflictError(
            f"Reading {reading.id} is at version {reading.version}, not {decision.version}: "
            "it was decided or re-checked in the meantime."
        )
    now = utc_now()
    old = snapshot(reading)
    _apply(reading, decision, now)
    readings = list(store.list_readings(session, submission.id))
    before = {r.id: snapshot(r) for r in readings if r.id != reading.id}
    changed = recheck_readings(readings, load_layout(submission.layout_id))
    old_status = submission.status
    submission.status = submission_status(readings)
    _flush(session, reading.id)
    _audit_decision(session, reading, decision, old=old, at=now)
    rechecked = [r for r in changed if r.id != reading.id]
    for other in rechecked:
        _add_event(
            session,
            other.submission_id,
            other.id,
            action="flags_rechecked",
            old=before[other.id],
            new=snapshot(other),
            at=now,
        )
    if submission.status != old_status:
        _add_event(
            session,
            submission.id,
            None,
            action="status_changed",
            old={"status": old_status},
            new={"status": submission.status},
            at=now,
        )
    session.flush()
    return DecisionOutcome(reading, rechecked, submission.status)


def _validate(decision: Decision) -> None:
    if decision.action == Action.CORRECT and decision.value is None:
        raise InvalidRequestError(
            "A correction needs the new value.",
            code="value_required",
            fix='Send "value" with the number read on the scan.',
        )
    if decision.action != Action.CORRECT and decision.value is not None:
        raise InvalidRequestError(
            f'"value" is only for corrections, not {decision.action}.',
            code="value_not_allowed",
            fix='Send "value": null, or use "action": "correct".',
        )


def _apply(reading: Reading, decision: Decision, now: datetime) -> None:
    if decision.action == Action.CONFIRM:
        reading.accepted_reasons = sorted({*reading.accepted_reasons, *reading.reasons})
        reading.status = ReadingStatus.OK if reading.value is not None else ReadingStatus.EMPTY
        reading.reasons = []
        reading.confidence = 1.0
    elif decision.action == Action.CORRECT:
        reading.value = decision.value
        reading.status = ReadingStatus.OK
        reading.reasons = []
        reading.accepted_reasons = []
        reading.confidence = 1.0
    else:
        reading.value = None
        reading.status = ReadingStatus.UNREADABLE
        reading.reasons = [ASKED_UNIT]
        reading.accepted_reasons = []
    reading.decision = decision.action
    reading.decided_by = decision.actor
    reading.decided_at = now
    reading.is_decided_by_uploader = decision.is_by_uploader


def recheck_readings(readings: Sequence[Reading], layout: Layout) -> list[Reading]:
    """Re-apply the rules to a submission's readings in place; return those that changed.

    A confirmed reading is not flagged again for a reason it was confirmed against
    (see the module docstring).
    """
    checked = recheck([ocr_reading_of(r) for r in readings], layout)
    changed = []
    for row, new in zip(readings, checked, strict=True):
        status, reasons = str(new.status), list(new.reasons)
        if row.decision == Action.CONFIRM:
            reasons = [r for r in reasons if r not in row.accepted_reasons]
            if not reasons:
                status = ReadingStatus.OK if row.value is not None else ReadingStatus.EMPTY
        if (status, reasons) != (row.status, list(row.reasons)):
            row.status, row.reasons = status, reasons
            changed.append(row)
    return changed


def submission_status(readings: Sequence[Reading]) -> str:
    """``needs_review`` while any reading waits for a person, else ``clean``."""
    is_open = any(r.status in OPEN_STATUSES for r in readings)
    return SubmissionStatus.NEEDS_REVIEW if is_open else SubmissionStatus.CLEAN


def snapshot(reading: Reading) -> dict[str, object]:
    """The audited state of a reading (value, status, reasons), before and after a change."""
    return {
        "value": reading.value,
        "status": str(reading.status),
        "reasons": list(reading.reasons),
        "version": reading.version,
    }


def _flush(session: Session, reading_id: int) -> None:
    try:
        session.flush()
    except StaleDataError as exc:  # the version-guarded UPDATE matched no row
        raise VersionConflictError(
            f"Reading {reading_id} (or one the rules re-checked) changed in the meantime."
        ) from exc


def _audit_decision(
    session: Session,
    reading: Reading,
    decision: Decision,
    *,
    old: dict[str, object],
    at: datetime,
) -> None:
    _add_event(
        session,
        reading.submission_id,
        reading.id,
        action=_EVENT[decision.action],
        old=old,
        new=snapshot(reading),
        at=at,
        actor=decision.actor,
        reason=decision.reason,
        is_by_uploader=decision.is_by_uploader,
    )


def _add_event(
    session: Session,
    submission_id: int,
    reading_id: int | None,
    *,
    action: str,
    old: dict[str, object] | None,
    new: dict[str, object] | None,
    at: datetime,
    actor: str = RULES_ACTOR,
    reason: str | None = None,
    is_by_uploader: bool = False,
) -> None:
    session.add(
        AuditEvent(
            submission_id=submission_id,
            reading_id=reading_id,
            actor=actor,
            action=action,
            old=old,
            new=new,
            reason=reason,
            at=at,
            is_by_uploader=is_by_uploader,
        )
    )


# --- the queue ------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueEntry:
    """An open reading with what its priority and its display need."""

    reading: Reading
    submission: Submission
    unit: Unit
    layout: Layout


def review_queue(
    session: Session, filters: QueueFilter, *, limit: int, offset: int
) -> tuple[list[QueueEntry], int]:
    """Open readings of submissions in ``needs_review``, most consequential first.

    Only the latest version of a unit's submission is listed (a replaced one waits for
    nobody). The order, by ``queue_priority``:

    1. rule failures (a sum that does not add up, fewer people than classes, a value
       out of range) before other doubts: they are certain to be wrong somewhere,
       whereas a low confidence is only a chance of a misread; readings waiting for
       the unit (``asked_unit``) come last, since a reviewer cannot act on them;
    2. money rows (in đồng) first, then larger values first: a misread digit in a
       large number moves the district's totals most;
    3. the oldest submission first, so that no unit waits behind later uploads;
       then the form's order.

    Sorting happens in Python after the SQL filters, because the tiers depend on each
    layout's rules; the open readings of a campaign are at most a few thousand.
    """
    rows = review_store.open_readings(session, filters)
    layouts: dict[str, Layout] = {}
    entries = []
    for reading, submission, unit in rows:
        if filters.reason is not None and filters.reason not in reading.reasons:
            continue
        layout = layouts.get(submission.layout_id)
        if layout is None:
            layout = layouts[submission.layout_id] = load_layout(submission.layout_id)
        entries.append(QueueEntry(reading, submission, unit, layout))
    entries.sort(key=queue_priority)
    return entries[offset : offset + limit], len(entries)


def queue_priority(entry: QueueEntry) -> tuple[int, bool, int, datetime, int, int]:
    """The sort key of the review queue (see ``review_queue`` for the order and why)."""
    reasons = set(entry.reading.reasons)
    if ASKED_UNIT in reasons:
        tier = 2
    elif reasons & rule_reasons(entry.layout):
        tier = 0
    else:
        tier = 1
    row = next((r for r in entry.layout.rows if r.key == entry.reading.row_key), None)
    is_money = row is not None and row.unit in MONEY_UNITS
    submission = entry.submission
    return (
        tier,
        not is_money,
        -(entry.reading.value or 0),
        submission.created_at,
        submission.id,
        entry.reading.position,
    )
