"""Decisions, re-checks, queue order and filters, append-only audit (both databases, no OCR)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ocr.types import Extraction, Reading, ReadingStatus
from service import review, store
from service.db import create_db_engine, make_session_factory, upgrade_database
from service.errors import VersionConflictError
from service.models import AuditEvent, utc_now
from service.models import Reading as ReadingRow
from tests.service.conftest import open_campaign, queue_submission

OK, DOUBT = ReadingStatus.OK, ReadingStatus.NEEDS_REVIEW


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(db_url)
    upgrade_database(engine)
    yield make_session_factory(engine)
    engine.dispose()


def sum_mismatch_form() -> tuple[Reading, ...]:
    """1.total = 13 but its parts add up to 12; 1.02 was read with low confidence."""
    return (
        Reading("1.total", "count", 13, "13", 0.99, DOUBT, ("sum_mismatch",)),
        Reading("1.01", "count", 10, "10", 0.99, OK),
        Reading("1.02", "count", 2, "2", 0.5, DOUBT, ("low_confidence",)),
        Reading("10.1", "value", 5_000_000, "5.000.000", 0.6, DOUBT, ("low_confidence",)),
        Reading("2", "value", 40, "40", 0.6, DOUBT, ("low_confidence",)),
    )


def processed_submission(
    sessions: sessionmaker[Session],
    *,
    unit: str,
    readings: tuple[Reading, ...],
    district: str = "D1",
) -> int:
    """A submission of ``unit`` (under ``district``) processed into ``readings``."""
    with sessions.begin() as session:
        for code, kind, parent in (("P", "province", None), (district, "district", "P")):
            if store.get_unit_by_code(session, code) is None:
                store.create_unit(session, code=code, name=code, kind=kind, parent_code=parent)
        store.create_unit(
            session, code=unit, name=f"Trường {unit}", kind="school", parent_code=district
        )
        campaigns = store.list_campaigns(session)
        campaign_id = campaigns[0].id if campaigns else None
        if campaign_id is None:
            campaign_id = open_campaign(session)
        submission_id = queue_submission(
            session, unit_code=unit, campaign_id=campaign_id, sha256=unit.lower().rjust(64, "0")
        )
    with sessions.begin() as session:
        claimed = store.claim_job(
            session, worker_id="test", lease_seconds=30, now=utc_now() + timedelta(seconds=1)
        )
        assert claimed is not None and claimed.submission_id == submission_id
        store.persist_extraction(
            session,
            submission_id=submission_id,
            attempt=claimed.attempt,
            extraction=Extraction("llw-summary-2022", 1, readings, pages=1),
            pages=[],
            seconds=1.0,
        )
    return submission_id


def reading_id(sessions: sessionmaker[Session], submission_id: int, row_key: str) -> int:
    with sessions() as session:
        return int(
            session.scalars(
                select(ReadingRow.id).where(
                    ReadingRow.submission_id == submission_id, ReadingRow.row_key == row_key
                )
            ).one()
        )


def decide(
    sessions: sessionmaker[Session], rid: int, action: str, value: int | None = None
) -> review.DecisionOutcome:
    with sessions.begin() as session:
        version = review.get_reading(session, rid).version
        return review.decide(
            session,
            rid,
            review.Decision(review.Action(action), value, version, actor="reviewer-a"),
        )


def queue_keys(sessions: sessionmaker[Session], **filters: object) -> list[tuple[str, str]]:
    with sessions() as session:
        entries, total = review.review_queue(
            session,
            review.QueueFilter(**filters),  # type: ignore[arg-type]
            limit=100,
            offset=0,
        )
        assert total == len(entries)
        return [(e.unit.code, e.reading.row_key) for e in entries]


def test_review_queue_rule_failures_first_then_money_and_size(
    sessions: sessionmaker[Session],
) -> None:
    processed_submission(sessions, unit="S1", readings=sum_mismatch_form())
    assert queue_keys(sessions) == [
        ("S1", "1.total"),  # the rule failure, although its confidence is the highest
        ("S1", "10.1"),  # money
        ("S1", "2"),  # larger value
        ("S1", "1.02"),
    ]


def test_review_queue_filters_unit_district_reason_row(sessions: sessionmaker[Session]) -> None:
    processed_submission(sessions, unit="S1", readings=sum_mismatch_form())
    processed_submission(sessions, unit="S2", readings=sum_mismatch_form(), district="D2")
    assert {u for u, _ in queue_keys(sessions)} == {"S1", "S2"}
    assert {u for u, _ in queue_keys(sessions, unit_code="S2")} == {"S2"}
    assert {u for u, _ in queue_keys(sessions, district_code="D1")} == {"S1"}
    assert len(queue_keys(sessions, district_code="P")) == 8
    assert queue_keys(sessions, reason="sum_mismatch") == [("S1", "1.total"), ("S2", "1.total")]
    assert queue_keys(sessions, row_key="10.1", unit_code="S1") == [("S1", "10.1")]
    assert queue_keys(sessions, district_code="nowhere") == []


def test_decide_correct_addend_clears_sum_mismatch(sessions: sessionmaker[Session]) -> None:
    submission_id = processed_submission(sessions, unit="S1", readings=sum_mismatch_form())
    outcome = decide(sessions, reading_id(sessions, submission_id, "1.02"), "correct", 3)
    assert [r.row_key for r in outcome.rechecked] == ["1.total"]
    total = outcome.rechecked[0]
    assert (total.status, total.reasons, total.version) == ("ok", [], 2)
    assert (outcome.reading.value, outcome.reading.version) == (3, 2)
    assert outcome.submission_status == "needs_review"  # 10.1 and 2 are still open
    decide(sessions, reading_id(sessions, submission_id, "10.1"), "confirm")
    outcome = decide(sessions, reading_id(sessions, submission_id, "2"), "confirm")
    assert outcome.submission_status == "clean"


def test_decide_confirmed_total_not_reflagged_unreadable_stays_open(
    sessions: sessionmaker[Session],
) -> None:
    submission_id = processed_submission(sessions, unit="S1", readings=sum_mismatch_form())
    total_id = reading_id(sessions, submission_id, "1.total")
    confirmed = decide(sessions, total_id, "confirm").reading
    assert (confirmed.status, confirmed.reasons, confirmed.accepted_reasons) == (
        "ok",
        [],
        ["sum_mismatch"],
    )
    # Another decision re-checks the form: the total still mismatches, but a person
    # confirmed it against that rule, so it stays confirmed.
    decide(sessions, reading_id(sessions, submission_id, "10.1"), "confirm")
    decide(sessions, reading_id(sessions, submission_id, "2"), "confirm")
    outcome = decide(sessions, reading_id(sessions, submission_id, "1.02"), "unreadable")
    assert (outcome.reading.value, outcome.reading.status) == (None, "unreadable")
    assert outcome.reading.reasons == ["asked_unit"]
    assert outcome.submission_status == "needs_review"  # asking the unit keeps it open
    with sessions() as session:
        total = review.get_reading(session, total_id)
        assert (total.status, total.decision) == ("ok", "confirm")
    assert queue_keys(sessions) == [("S1", "1.02")]


def test_decide_stale_version_conflict(sessions: sessionmaker[Session]) -> None:
    submission_id = processed_submission(sessions, unit="S1", readings=sum_mismatch_form())
    rid = reading_id(sessions, submission_id, "1.total")
    first = review.Decision(review.Action.CORRECT, 12, 1, actor="reviewer-a")
    second = review.Decision(review.Action.CORRECT, 99, 1, actor="reviewer-b")
    with sessions.begin() as session:
        review.decide(session, rid, first)
    with pytest.raises(VersionConflictError), sessions.begin() as session:
        review.decide(session, rid, second)
    with sessions() as session:
        assert review.get_reading(session, rid).value == 12


def test_audit_event_update_and_delete_refused(sessions: sessionmaker[Session]) -> None:
    submission_id = processed_submission(sessions, unit="S1", readings=sum_mismatch_form())
    decide(sessions, reading_id(sessions, submission_id, "1.total"), "correct", 12)
    with sessions() as session:
        events = review.audit_events(session, submission_id=submission_id)
        assert events[-1].action == "reading_corrected"
        assert (events[-1].old["value"], events[-1].new["value"]) == (13, 12)  # type: ignore[index]
        first_id = events[0].id
    attempts = (
        update(AuditEvent).where(AuditEvent.id == first_id).values(actor="someone else"),
        update(AuditEvent).values(new=None),
        delete(AuditEvent).where(AuditEvent.id == first_id),
    )
    for statement in attempts:
        with pytest.raises(DBAPIError, match="append-only"), sessions.begin() as session:
            session.execute(statement)
    with sessions() as session:
        assert session.get_one(AuditEvent, first_id).actor == store.SYSTEM_ACTOR
        assert len(review.audit_events(session, submission_id=submission_id)) == len(events)
