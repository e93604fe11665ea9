from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocr.checks import RULE_REASONS, apply_checks, recheck, rule_reasons
from ocr.layout import Layout, load_layout, parse_layout
from ocr.numbers import format_vn
from ocr.types import Reading, ReadingStatus

Key = tuple[str, str]


@pytest.fixture(scope="module")
def layout() -> Layout:
    return load_layout("llw-summary-2022")


def make_readings(layout: Layout, values: dict[Key, int | None]) -> list[Reading]:
    """One reading per (row, field) of the layout: OK with a value, EMPTY without."""
    readings = []
    for row_key, field in layout.field_keys():
        value = values.get((row_key, field))
        if value is None:
            readings.append(Reading(row_key, field, None, "", 0.99, ReadingStatus.EMPTY))
        else:
            readings.append(
                Reading(row_key, field, value, format_vn(value), 0.99, ReadingStatus.OK)
            )
    return readings


def by_key(readings: list[Reading]) -> dict[Key, Reading]:
    return {(r.row_key, r.field): r for r in readings}


def flagged_keys(readings: list[Reading]) -> set[Key]:
    return {(r.row_key, r.field) for r in readings if r.status == ReadingStatus.NEEDS_REVIEW}


def test_apply_checks_matching_sums_no_flags(layout: Layout) -> None:
    values: dict[Key, int | None] = {
        ("1.total", "count"): 5, ("1.total", "people"): 150,
        ("1.01", "count"): 2, ("1.01", "people"): 60,
        ("1.09", "count"): 3, ("1.09", "people"): 90,
        ("10.1", "value"): 12_500_000,
    }  # fmt: skip
    readings = make_readings(layout, values)
    assert apply_checks(readings, layout) == readings


def test_apply_checks_sum_mismatch_flags_the_total(layout: Layout) -> None:
    values: dict[Key, int | None] = {
        ("1.total", "count"): 5, ("1.01", "count"): 2, ("1.02", "count"): 2,
        ("1.total", "people"): 100, ("1.01", "people"): 40, ("1.02", "people"): 60,
    }  # fmt: skip
    readings = make_readings(layout, values)
    checked = apply_checks(readings, layout)
    assert flagged_keys(checked) == {("1.total", "count")}
    for key in flagged_keys(checked):
        assert by_key(checked)[key].reasons == ("sum_mismatch",)
    assert [r.value for r in checked] == [r.value for r in readings]


def test_apply_checks_blank_parts_count_as_zero(layout: Layout) -> None:
    values: dict[Key, int | None] = {("1.total", "count"): 4, ("1.05", "count"): 4}
    readings = make_readings(layout, values)
    assert apply_checks(readings, layout) == readings


def test_apply_checks_blank_total_not_checked(layout: Layout) -> None:
    values: dict[Key, int | None] = {("1.01", "count"): 4, ("1.05", "count"): 4}
    readings = make_readings(layout, values)
    assert apply_checks(readings, layout) == readings


def test_apply_checks_total_with_all_parts_blank_not_checked(layout: Layout) -> None:
    readings = make_readings(layout, {("1.total", "count"): 7})
    assert apply_checks(readings, layout) == readings


def test_apply_checks_people_lt_count_flags_both(layout: Layout) -> None:
    readings = make_readings(layout, {("5.3", "count"): 10, ("5.3", "people"): 3})
    checked = apply_checks(readings, layout)
    assert flagged_keys(checked) == {("5.3", "count"), ("5.3", "people")}
    assert by_key(checked)[("5.3", "people")].reasons == ("people_lt_count",)


def test_apply_checks_people_equal_count_ok(layout: Layout) -> None:
    readings = make_readings(layout, {("6.1", "count"): 3, ("6.1", "people"): 3})
    assert apply_checks(readings, layout) == readings


def test_apply_checks_zero_with_positive_flags_both(layout: Layout) -> None:
    readings = make_readings(layout, {("8", "count"): 2, ("8", "people"): 0})
    checked = by_key(apply_checks(readings, layout))
    for key in [("8", "count"), ("8", "people")]:
        assert checked[key].status == ReadingStatus.NEEDS_REVIEW
        assert "zero_with_positive" in checked[key].reasons
        assert checked[key].reasons.count("zero_with_positive") == 1


def test_apply_checks_zero_and_zero_ok(layout: Layout) -> None:
    readings = make_readings(layout, {("8", "count"): 0, ("8", "people"): 0})
    assert apply_checks(readings, layout) == readings


@pytest.mark.parametrize(
    ("key", "value", "is_flagged"),
    [
        (("10.1", "value"), 10**12, False),
        (("10.1", "value"), 10**12 + 1, True),
        (("6.1", "count"), 5000, False),
        (("6.1", "count"), 5001, True),
        (("7.1", "value"), 1000, False),
        (("7.1", "value"), 1001, True),
        (("2", "value"), 10_000_001, True),
    ],
)
def test_apply_checks_out_of_range(layout: Layout, key: Key, value: int, is_flagged: bool) -> None:
    values: dict[Key, int | None] = {key: value}
    if key[1] == "count":
        values[(key[0], "people")] = 10_000  # keep the people >= count rule quiet
    checked = by_key(apply_checks(make_readings(layout, values), layout))
    assert ("out_of_range" in checked[key].reasons) is is_flagged
    assert checked[key].value == value
    assert flagged_keys(list(checked.values())) == ({key} if is_flagged else set())


def test_apply_checks_empty_readings_untouched(layout: Layout) -> None:
    values: dict[Key, int | None] = {("1.total", "count"): 9, ("1.01", "count"): 2}
    readings = make_readings(layout, values)
    checked = apply_checks(readings, layout)
    for before, after in zip(readings, checked, strict=True):
        if before.status == ReadingStatus.EMPTY:
            assert after is before


def test_apply_checks_unreadable_keeps_status_gets_reason(layout: Layout) -> None:
    readings = make_readings(layout, {("1.total", "count"): 9, ("1.01", "count"): 2})
    readings = [
        replace(r, status=ReadingStatus.UNREADABLE, reasons=("low_confidence",))
        if (r.row_key, r.field) == ("1.01", "count")
        else r
        for r in readings
    ]
    readings = [
        replace(r, status=ReadingStatus.UNREADABLE, reasons=("low_confidence",))
        if (r.row_key, r.field) == ("1.total", "count")
        else r
        for r in readings
    ]
    total = by_key(apply_checks(readings, layout))[("1.total", "count")]
    assert total.status == ReadingStatus.UNREADABLE
    assert total.reasons == ("low_confidence", "sum_mismatch")


def test_apply_checks_idempotent_and_order_preserved(layout: Layout) -> None:
    values: dict[Key, int | None] = {
        ("1.total", "count"): 9, ("1.01", "count"): 2, ("5.3", "count"): 10,
        ("5.3", "people"): 0, ("10.1", "value"): 10**13,
    }  # fmt: skip
    stranger = Reading("99.9", "count", 1, "1", 0.5, ReadingStatus.OK)
    readings = [stranger, *make_readings(layout, values)]
    once = apply_checks(readings, layout)
    assert apply_checks(once, layout) == once
    assert once[0] is stranger
    assert [(r.row_key, r.field) for r in once] == [(r.row_key, r.field) for r in readings]
    assert by_key(once)[("5.3", "people")].reasons == ("people_lt_count", "zero_with_positive")


def test_recheck_clears_mismatch_after_part_corrected(layout: Layout) -> None:
    values: dict[Key, int | None] = {
        ("1.total", "count"): 5, ("1.01", "count"): 2, ("1.02", "count"): 2,
    }  # fmt: skip
    checked = apply_checks(make_readings(layout, values), layout)
    corrected = [
        replace(r, value=3, text="3") if (r.row_key, r.field) == ("1.02", "count") else r
        for r in checked
    ]
    rechecked = recheck(corrected, layout)
    assert flagged_keys(rechecked) == set()
    assert all(not r.reasons for r in rechecked)
    assert by_key(rechecked)[("1.total", "count")].status == ReadingStatus.OK


def test_recheck_keeps_other_reasons_and_their_status(layout: Layout) -> None:
    readings = make_readings(layout, {("1.total", "count"): 5, ("1.01", "count"): 2})
    readings = [
        replace(r, status=ReadingStatus.NEEDS_REVIEW, reasons=("low_confidence",))
        if (r.row_key, r.field) == ("1.01", "count")
        else r
        for r in readings
    ]
    checked = apply_checks(readings, layout)
    corrected = [
        replace(r, value=2, text="2") if (r.row_key, r.field) == ("1.total", "count") else r
        for r in checked
    ]
    rechecked = by_key(recheck(corrected, layout))
    assert rechecked[("1.total", "count")].status == ReadingStatus.OK
    assert rechecked[("1.01", "count")].status == ReadingStatus.NEEDS_REVIEW
    assert rechecked[("1.01", "count")].reasons == ("low_confidence",)


def test_recheck_cleared_to_blank_becomes_empty(layout: Layout) -> None:
    values: dict[Key, int | None] = {("1.total", "count"): 5, ("1.01", "count"): 2}
    checked = apply_checks(make_readings(layout, values), layout)
    cleared = [
        replace(r, value=None, text="") if (r.row_key, r.field) == ("1.total", "count") else r
        for r in checked
    ]
    rechecked = by_key(recheck(cleared, layout))
    assert rechecked[("1.total", "count")].status == ReadingStatus.EMPTY
    assert rechecked[("1.01", "count")].status == ReadingStatus.OK


def test_recheck_still_failing_stays_flagged(layout: Layout) -> None:
    readings = make_readings(layout, {("5.3", "count"): 10, ("5.3", "people"): 3})
    checked = apply_checks(readings, layout)
    assert recheck(checked, layout) == checked


def test_rule_reasons_include_layout_comparisons(layout: Layout) -> None:
    assert rule_reasons(layout) == RULE_REASONS | {"people_lt_count"}


TINY_LAYOUT = {
    "id": "tiny-census",
    "version": 1,
    "title": "Tiny census",
    "table": {
        "columns": [
            {"key": "name", "role": "label", "header": "Animal"},
            {"key": "male", "role": "value", "header": "Male"},
            {"key": "female", "role": "value", "header": "Female"},
            {"key": "young", "role": "value", "header": "Young"},
        ]
    },
    "fields": {
        "male": {"title": "Male", "columns": ["male"], "max": 100},
        "female": {"title": "Female", "columns": ["female"], "max": 100},
        "young": {"title": "Young", "columns": ["young"], "max": 500},
    },
    "values": {"min": 1},
    "checks": [
        {"kind": "sum", "total": "all", "parts": ["cattle", "sheep"],
         "fields": ["male", "female", "young"]},
        {"kind": "greater_or_equal", "greater": "female", "lesser": "young"},
        {"kind": "zero_with_positive", "zero": "female", "positive": "young"},
    ],
    "rows": [
        {"key": "all", "kind": "total", "label": "All", "fields": ["male", "female", "young"]},
        {"key": "cattle", "kind": "item", "label": "Cattle",
         "fields": ["male", "female", "young"]},
        {"key": "sheep", "kind": "item", "label": "Sheep", "fields": ["male", "female"]},
    ],
}  # fmt: skip


def test_apply_checks_other_layout_uses_its_own_rules() -> None:
    tiny = parse_layout(TINY_LAYOUT, source="inline")
    values: dict[Key, int | None] = {
        ("all", "male"): 10, ("cattle", "male"): 4, ("sheep", "male"): 6,
        ("all", "female"): 20, ("cattle", "female"): 5, ("sheep", "female"): 14,
        ("all", "young"): 7, ("cattle", "young"): 7,
    }  # fmt: skip
    checked = by_key(apply_checks(make_readings(tiny, values), tiny))
    reasons = {key: r.reasons for key, r in checked.items() if r.reasons}
    assert reasons == {
        ("all", "female"): ("sum_mismatch",),
        ("cattle", "female"): ("female_lt_young",),
        ("cattle", "young"): ("female_lt_young",),
    }
    assert rule_reasons(tiny) == RULE_REASONS | {"female_lt_young"}


def test_apply_checks_other_layout_values_min() -> None:
    tiny = parse_layout(TINY_LAYOUT, source="inline")
    checked = by_key(apply_checks(make_readings(tiny, {("sheep", "male"): 0}), tiny))
    assert checked[("sheep", "male")].reasons == ("out_of_range",)


value_or_blank = st.one_of(st.none(), st.integers(min_value=0, max_value=10**13))


@settings(max_examples=50)
@given(st.data())
def test_apply_checks_never_changes_values(data: st.DataObject) -> None:
    layout = load_layout("llw-summary-2022")
    values = {key: data.draw(value_or_blank) for key in layout.field_keys()}
    readings = make_readings(layout, values)
    checked = apply_checks(readings, layout)
    assert [(r.row_key, r.field, r.value, r.text) for r in checked] == [
        (r.row_key, r.field, r.value, r.text) for r in readings
    ]
    assert all(set(r.reasons) <= rule_reasons(layout) for r in checked)
    assert all(len(set(r.reasons)) == len(r.reasons) for r in checked)
    assert recheck(checked, layout) == checked
