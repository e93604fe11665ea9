"""The second recogniser's own view of a cell, on made-up cells; real model, no mocks."""

from __future__ import annotations

import cv2
import numpy as np

from ocr.cellview import CellKind, inside_rules, view_cell
from ocr.ppocr import recognise
from ocr.types import Grid
from tests.unit.ocr.drawing import ruled_page

RULE_PX = 3
ROWS, COLS = [20, 70], [20, 220]  # one cell 200 x 50 px, a one-line row at 200 dpi


def one_cell_page() -> tuple[np.ndarray, Grid]:
    page = ruled_page(ROWS, COLS, size=(100, 260), thickness=RULE_PX)
    return page, Grid(page_index=0, row_edges_px=tuple(ROWS), col_edges_px=tuple(COLS), rule_px=3)


def view(page: np.ndarray, grid: Grid):  # type: ignore[no-untyped-def]
    return view_cell(page, grid.cell_box(0, 0), rule_px=grid.rule_px, row_px=grid.typical_row_px)


def test_view_cell_small_typed_dash_near_right_rule() -> None:
    page, grid = one_cell_page()
    page[44:47, 207:217] = 0  # a 10 x 3 px hyphen, 2 px from the right rule
    result = view(page, grid)
    assert result.kind is CellKind.DASH


def test_view_cell_zero_is_text_and_reads_as_zero() -> None:
    page, grid = one_cell_page()
    cv2.putText(page, "0", (110, 55), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 0, 2, cv2.LINE_AA)
    result = view(page, grid)
    assert result.kind is CellKind.TEXT
    (read,) = recognise([result.crop])
    assert read.text == "0"


def test_view_cell_blank_with_rule_remnants_and_specks() -> None:
    page, grid = one_cell_page()
    page[22:24, 40:170] = 0  # a remnant of the top rule, 65 % of the width, against it
    page[30:32, 60:62] = 0  # specks of dust
    page[55:57, 150:152] = 0
    result = view(page, grid)
    assert result.kind is CellKind.BLANK


def test_view_cell_one_is_text_not_dash() -> None:
    page, grid = one_cell_page()
    page[33:56, 118:121] = 0  # a lone upright stroke: a "1"
    assert view(page, grid).kind is CellKind.TEXT


def test_inside_rules_leaves_no_rule_in_the_crop() -> None:
    page, grid = one_cell_page()
    inner = inside_rules(page, grid.cell_box(0, 0), rule_px=RULE_PX)
    crop = page[inner.y : inner.bottom, inner.x : inner.right]
    assert crop.size > 0
    assert crop.min() == 255  # no rule pixel left on any side
    assert inner.width >= 200 - 2 * (RULE_PX + 1)  # and nothing of the cell cut away
    assert inner.height >= 50 - 2 * (RULE_PX + 1)


def test_inside_rules_follows_a_rule_off_the_grid_edge() -> None:
    """A rule 3 px from where the grid put it (residual skew) is still excluded."""
    page = ruled_page([20, 73], [20, 220], size=(100, 260), thickness=RULE_PX)
    grid = Grid(page_index=0, row_edges_px=(20, 70), col_edges_px=(20, 220), rule_px=RULE_PX)
    inner = inside_rules(page, grid.cell_box(0, 0), rule_px=RULE_PX)
    crop = page[inner.y : inner.bottom, inner.x : inner.right]
    assert crop.min() == 255


def test_view_cell_blank_with_rule_junction_in_a_corner() -> None:
    """A fax's jagged rules meet in a blob in the corner: not a dash, not text."""
    page, grid = one_cell_page()
    page[62:69, 22:33] = 0  # flat blob against the left rule, at the bottom
    assert view(page, grid).kind is CellKind.BLANK


def test_view_cell_dash_in_the_middle_not_at_the_bottom() -> None:
    page, grid = one_cell_page()
    page[64:67, 100:112] = 0  # a flat mark at the bottom of the cell, off the sides
    assert view(page, grid).kind is not CellKind.DASH
