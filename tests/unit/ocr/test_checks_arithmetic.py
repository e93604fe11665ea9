"""Arithmetic as evidence: a total that adds up supports its parts, never changes a value."""

from __future__ import annotations

from ocr.checks import support_by_arithmetic
from ocr.layout import Layout, load_layout
from ocr.reasons import Reason
from ocr.types import Reading, ReadingStatus

PARTS = [f"1.{n:02d}" for n in range(1, 15)]


def _reading(row_key: str, value: int | None, *, confidence: float = 0.7) -> Reading:
    is_blank = value is None
    return Reading(
        row_key=row_key,
        field="count",
        value=value,
        text="" if is_blank else str(value),
        confidence=0.999 if is_blank else confidence,
        status=ReadingStatus.EMPTY
        if is_blank
        else ReadingStatus.OK
        if confidence >= 0.8
        else ReadingStatus.NEEDS_REVIEW,
        reasons=() if is_blank or confidence >= 0.8 else (Reason.LOW_CONFIDENCE,),
        bucket="blank" if is_blank else "reads_majority/hard",
        score=confidence,
    )


def _form(values: dict[str, int | None], total: int) -> list[Reading]:
    return [_reading("1.total", total)] + [_reading(k, values.get(k)) for k in PARTS]


def _layout() -> Layout:
    return load_layout("llw-summary-2022")


def test_support_by_arithmetic_marks_a_group_that_adds_up() -> None:
    readings = _form({"1.01": 3, "1.02": 4}, total=7)
    supported = support_by_arithmetic(readings, _layout())
    by_key = {r.row_key: r for r in supported}
    assert by_key["1.total"].bucket.endswith("+sum")
    assert by_key["1.01"].bucket.endswith("+sum") and by_key["1.02"].bucket.endswith("+sum")
    assert by_key["1.03"].bucket == "blank"  # a blank part counts 0 but is not supported
    assert [r.value for r in supported] == [r.value for r in readings]


def test_support_by_arithmetic_nothing_when_the_sum_differs() -> None:
    readings = _form({"1.01": 3, "1.02": 4}, total=8)
    assert support_by_arithmetic(readings, _layout()) == readings


def test_support_by_arithmetic_nothing_when_a_part_is_unread() -> None:
    readings = _form({"1.01": 3, "1.02": 4}, total=7)
    readings[5] = Reading(
        row_key=readings[5].row_key,
        field="count",
        value=None,
        text="?",
        confidence=0.0,
        status=ReadingStatus.UNREADABLE,
        reasons=(Reason.UNREADABLE,),
    )
    assert support_by_arithmetic(readings, _layout()) == readings


def test_support_by_arithmetic_never_lifts_a_veto() -> None:
    readings = _form({"1.01": 3, "1.02": 4}, total=7)
    vetoed = Reading(
        row_key="1.01",
        field="count",
        value=3,
        text="3",
        confidence=0.99,
        status=ReadingStatus.NEEDS_REVIEW,
        reasons=(Reason.ENGINES_DISAGREE,),
        bucket="engines_disagree",
        score=0.99,
    )
    readings[1] = vetoed
    supported = support_by_arithmetic(readings, _layout())
    assert supported[1].status is ReadingStatus.NEEDS_REVIEW
    assert Reason.ENGINES_DISAGREE in supported[1].reasons
