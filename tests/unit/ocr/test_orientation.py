"""Orientation: pages fed upside down or scanned landscape are turned upright."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocr.clean import clean_page
from ocr.orient import turn, upright_turn_deg
from ocr.pipeline import turned_warning
from ocr.types import Page
from tests.unit.ocr.drawing import even_edges, ruled_page

# Row number, label (the widest), unit, count, people, note: the form's column order.
FORM_COLS = [80, 150, 560, 680, 790, 890, 980]


def form_page() -> np.ndarray:
    """A portrait page with the form's column structure and text-like marks in the labels."""
    rows = even_edges(200, 40, 31)
    page = ruled_page(rows, FORM_COLS, size=(1600, 1060))
    for top in rows[:-1]:
        cv2.putText(page, "Hoc tap", (160, top + 28), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 0, 2)
        cv2.putText(page, "12", (720, top + 28), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 0, 2)
    return page


@pytest.mark.parametrize("turn_deg", [90, 180, 270])
def test_upright_turn_deg_undoes_turned_page(turn_deg: int) -> None:
    # The page was turned counter-clockwise by turn_deg: a clockwise turn undoes it.
    page = turn(form_page(), 360 - turn_deg)
    assert upright_turn_deg(page) == turn_deg


def test_upright_turn_deg_leaves_upright_page() -> None:
    assert upright_turn_deg(form_page()) == 0


def test_upright_turn_deg_leaves_page_without_table() -> None:
    page = np.full((1600, 1060), 255, np.uint8)
    cv2.putText(page, "Bao cao", (100, 300), cv2.FONT_HERSHEY_SIMPLEX, 2, 0, 3)
    assert upright_turn_deg(page) == 0


def test_clean_page_turns_upside_down_page_and_records_it() -> None:
    upright = form_page()
    page = Page(index=1, image=turn(upright, 180), dpi=150, source="scan.png")
    cleaned = clean_page(page)
    assert cleaned.turned_deg == 180
    assert cleaned.image.shape == upright.shape
    # The turned page is the upright page again (cleaning only flattens its light).
    assert np.mean(np.abs(cleaned.image.astype(int) - upright.astype(int)) > 64) < 0.002
    assert turned_warning(cleaned) == "page 2 was turned by 180°"
