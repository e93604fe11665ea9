"""find_ink on synthetic cells: what counts as writing, blank, dash, a lone "1", a strike."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocr.ink import Blank, Ink, find_ink
from ocr.types import Box

ROW_PX = 60
BOX = Box(0, 0, 240, ROW_PX)


def _cell() -> np.ndarray:
    """A white cell with its rules drawn on the box edges, 3 px thick."""
    page = np.full((ROW_PX + 1, 241), 255, np.uint8)
    cv2.rectangle(page, (0, 0), (240, ROW_PX), 0, 3)
    return page


def _find(page: np.ndarray) -> Ink | Blank:
    return find_ink(page, BOX, rule_px=3, row_px=ROW_PX)


def test_find_ink_blank_cell_with_rules_only() -> None:
    result = _find(_cell())
    assert isinstance(result, Blank) and result.score > 0.5


def test_find_ink_ignores_specks() -> None:
    page = _cell()
    for x, y in [(40, 20), (120, 40), (200, 15)]:
        page[y : y + 2, x : x + 2] = 0
    assert isinstance(_find(page), Blank)


def test_find_ink_dash_is_zero_not_blank() -> None:
    page = _cell()
    cv2.line(page, (110, 30), (126, 30), 0, 2)
    result = _find(page)
    assert isinstance(result, Ink) and result.is_dash


def test_find_ink_lone_one_is_bar() -> None:
    page = _cell()
    cv2.line(page, (200, 17), (200, 43), 0, 3)
    result = _find(page)
    assert isinstance(result, Ink) and result.is_bar and not result.is_dash


def test_find_ink_number_kept_whole() -> None:
    page = _cell()
    cv2.putText(page, "1250", (150, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    result = _find(page)
    assert isinstance(result, Ink)
    assert 60 <= result.crop.shape[1] <= 90  # the four digits, no rule pieces


def test_find_ink_struck_number_with_correction() -> None:
    page = _cell()
    cv2.putText(page, "35", (40, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    cv2.line(page, (34, 33), (88, 33), 0, 2)  # strike through the old number
    cv2.putText(page, "53", (150, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    result = _find(page)
    assert isinstance(result, Ink) and result.struck == "corrected"
    assert result.crop.shape[1] < 60  # only the correction is left to read


def test_find_ink_struck_number_alone() -> None:
    page = _cell()
    cv2.putText(page, "35", (100, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    cv2.line(page, (94, 33), (148, 33), 0, 2)
    result = _find(page)
    assert isinstance(result, Ink) and result.struck == "only"


def _flush_right_dash(*, length: int, gap: int, soft: bool) -> np.ndarray:
    """A typed "-" ending ``gap`` px before the right rule, optionally JPEG-softened."""
    page = _cell()
    right = 240 - 2 - gap
    page[29:32, right - length : right] = 40
    if soft:
        blurred = cv2.GaussianBlur(page, (3, 3), 0)
        _, data = cv2.imencode(".jpg", blurred, [cv2.IMWRITE_JPEG_QUALITY, 40])
        page = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    return page


@pytest.mark.parametrize("gap", [0, 1, 3])
@pytest.mark.parametrize("soft", [False, True])
def test_find_ink_flush_right_dash_is_zero_not_blank(gap: int, soft: bool) -> None:
    result = _find(_flush_right_dash(length=10, gap=gap, soft=soft))
    assert isinstance(result, Ink) and result.is_dash


def test_find_ink_neighbour_fragment_against_left_rule_still_dropped() -> None:
    page = _cell()
    page[29:32, 3:13] = 40  # the same flat mark, but entering from the left
    page[10:20, 3:6] = 40
    assert isinstance(_find(page), Blank)


def test_find_ink_drops_word_tail_overrunning_from_the_left() -> None:
    page = _cell()
    cv2.putText(page, "oi", (-8, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)  # "người" tail
    cv2.line(page, (22, 18), (22, 44), 0, 3)
    cv2.putText(page, "4", (190, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    result = _find(page)
    assert isinstance(result, Ink)
    assert result.crop.shape[1] < 30  # the "4" alone, not "14"


def test_find_ink_number_flush_left_is_kept() -> None:
    page = _cell()
    cv2.putText(page, "125", (0, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    result = _find(page)
    assert isinstance(result, Ink)
    assert result.crop.shape[1] >= 45
