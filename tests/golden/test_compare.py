"""The golden comparison itself: pixel keys tolerate jitter, nothing else does."""

from __future__ import annotations

import json

from tests.golden.compare import compare, dump


def test_compare_pixel_keys_within_tolerance() -> None:
    expected = {"row_edges_px": [100, 200], "box_px": [10, 20, 30, 40]}
    actual = {"row_edges_px": [103, 197], "box_px": [7, 23, 30, 40]}
    assert compare(expected, actual, tolerance_px=3) == []


def test_compare_pixel_keys_beyond_tolerance() -> None:
    problems = compare({"row_edges_px": [100]}, {"row_edges_px": [104]}, tolerance_px=3)
    assert problems == ["$.row_edges_px[0]: expected 100 ±3 px, got 104"]


def test_compare_count_change_fails_whatever_the_tolerance() -> None:
    problems = compare({"col_edges_px": [1, 2, 3]}, {"col_edges_px": [1, 2]}, tolerance_px=99)
    assert problems == ["$.col_edges_px: expected 3 items, got 2"]


def test_compare_other_ints_exact_and_reading_named() -> None:
    expected = [{"row_key": "1.01", "field": "count", "value": 3, "grid_row": 5}]
    actual = [{"row_key": "1.01", "field": "count", "value": 4, "grid_row": 6}]
    assert compare(expected, actual, tolerance_px=3) == [
        "$[0](1.01/count).grid_row: expected 5, got 6",
        "$[0](1.01/count).value: expected 3, got 4",
    ]


def test_compare_null_and_missing_keys() -> None:
    problems = compare({"value": None, "a": 1}, {"value": 0, "b": 1}, tolerance_px=3)
    assert problems == [
        "$.a: missing (expected 1)",
        "$.b: unexpected 1",
        "$.value: expected None, got 0",
    ]


def test_dump_sorted_unicode_trailing_newline() -> None:
    text = dump({"b": "Người", "a": (1, 2)})
    assert text.endswith("}\n")
    assert "Người" in text
    assert text.index('"a"') < text.index('"b"')
    assert json.loads(text) == {"a": [1, 2], "b": "Người"}
