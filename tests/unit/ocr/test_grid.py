from __future__ import annotations

import cv2
import numpy as np

from ocr.clean import rotate, straighten
from ocr.grid import detect_grid
from tests.unit.ocr.drawing import even_edges, ruled_page

ROWS = even_edges(100, 40, 25)
COLS = [60, 120, 520, 640, 760, 880, 940]


def _assert_close(found: tuple[int, ...], expected: list[int], tol: int = 3) -> None:
    assert len(found) == len(expected), (found, expected)
    assert max(abs(a - b) for a, b in zip(found, expected, strict=True)) <= tol


def test_detect_grid_finds_every_rule() -> None:
    grid = detect_grid(ruled_page(ROWS, COLS), page_index=0)
    assert grid is not None
    _assert_close(grid.row_edges_px, ROWS)
    _assert_close(grid.col_edges_px, COLS)


def test_detect_grid_ignores_partial_header_rule_and_strokes() -> None:
    page = ruled_page(ROWS, COLS)
    cv2.line(page, (COLS[3], 120), (COLS[5], 120), 0, 2)  # rule under a merged header cell
    cv2.line(page, (COLS[3] + 10, 230), (COLS[3] + 80, 230), 0, 2)  # a strike-through
    grid = detect_grid(page, page_index=0)
    assert grid is not None
    _assert_close(grid.row_edges_px, ROWS)


def test_detect_grid_scale_independent() -> None:
    page = ruled_page(ROWS, COLS)
    big = cv2.resize(page, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    grid = detect_grid(big, page_index=0)
    assert grid is not None
    _assert_close(grid.row_edges_px, [2 * r for r in ROWS], tol=5)
    _assert_close(grid.col_edges_px, [2 * c for c in COLS], tol=5)


def test_detect_grid_none_on_blank_or_text_page() -> None:
    page = np.full((1400, 1000), 255, np.uint8)
    assert detect_grid(page, page_index=0) is None
    for y in range(100, 1300, 40):
        cv2.putText(
            page, "Lorem ipsum dolor sit amet 12345", (80, y), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2
        )
    assert detect_grid(page, page_index=0) is None


def test_straighten_undoes_three_degree_skew() -> None:
    page = ruled_page(ROWS, COLS)
    tilted = rotate(page, -3.0)
    grid = detect_grid(straighten(tilted), page_index=0)
    assert grid is not None
    assert grid.n_rows == len(ROWS) - 1
    assert grid.n_cols == len(COLS) - 1


def test_detect_grid_keeps_one_line_row_among_wrapped_rows() -> None:
    """A one-line row between rows of wrapped labels is a row, not a doubled rule.

    Born-digital forms with a narrow label column wrap labels onto three or four
    lines, so the median row is tall; the one-line total row must still stand alone.
    """
    rows = [100, 136, *even_edges(300, 165, 8)]  # one 36-px row, then 165-px rows
    page = ruled_page(rows, COLS, size=(1700, 1000))
    grid = detect_grid(page, page_index=0)
    assert grid is not None
    _assert_close(grid.row_edges_px, rows)
