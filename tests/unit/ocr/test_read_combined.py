"""The combined scan reader: agreement is a bucket, disagreement a veto, blanks cross-checked."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocr.cellview import CellKind, CellView
from ocr.combined import CombinedReader, _Second, combine
from ocr.confidence import ENGINES_AGREE, ENGINES_DISAGREE
from ocr.ink import Blank, Ink
from ocr.ppocr import LineRead
from ocr.reasons import Reason
from ocr.types import CellText, Grid, Page
from tests.unit.ocr.drawing import even_edges, ruled_page

CROP = np.full((30, 40), 255, np.uint8)
INK = Ink(crop=CROP, is_dash=False, is_x=False, is_bar=False, struck="")
TEXT_VIEW = CellView(crop=CROP, kind=CellKind.TEXT, ink_share=0.05)


def _tesseract(value: int) -> CellText:
    return CellText(
        text=str(value), value=value, confidence=0.9, bucket="reads_agree/hard", score=0.9
    )


def _pp(text: str, confidence: float = 0.95) -> LineRead:
    return LineRead(text=text, confidence=confidence, margin=0.5, chars=())


def test_combine_engines_agree_is_a_bucket_not_a_flag() -> None:
    cell = combine(_tesseract(12), INK, _Second(TEXT_VIEW, _pp("12"), None, False))
    assert cell.value == 12
    assert cell.bucket == f"{ENGINES_AGREE}/typed"
    assert Reason.ENGINES_DISAGREE not in cell.reasons
    assert cell.alternatives == ()


def test_combine_disagreement_vetoes_and_proposes_the_second_engine() -> None:
    cell = combine(_tesseract(14), INK, _Second(TEXT_VIEW, _pp("4"), None, False))
    assert cell.value == 4 and cell.text == "4"
    assert cell.bucket == ENGINES_DISAGREE
    assert Reason.ENGINES_DISAGREE in cell.reasons
    assert cell.alternatives == (4, 14)


def test_combine_unreadable_second_engine_keeps_tesseract_but_vetoes() -> None:
    cell = combine(_tesseract(7), INK, _Second(TEXT_VIEW, _pp(""), None, False))
    assert cell.value == 7
    assert Reason.ENGINES_DISAGREE in cell.reasons


def test_combine_ink_blank_but_view_dash_is_a_doubtful_zero() -> None:
    blank = CellText(text="", value=None, confidence=0.99, has_ink=False, bucket="blank", score=1.0)
    view = CellView(crop=CROP, kind=CellKind.DASH, ink_share=0.01)
    cell = combine(blank, Blank(score=1.0), _Second(view, _pp(""), None, False))
    assert cell.value == 0 and cell.has_ink
    assert Reason.ENGINES_DISAGREE in cell.reasons


def _page_with(texts: list[str]) -> tuple[Page, Grid, list]:
    rows = even_edges(20, 60, len(texts) + 1)
    cols = [20, 260]
    image = ruled_page(rows, cols, size=(rows[-1] + 20, 280))
    for n, text in enumerate(texts):
        if text == "-":
            image[rows[n] + 29 : rows[n] + 32, cols[1] - 14 : cols[1] - 2] = 30
        elif text:
            cv2.putText(image, text, (150, rows[n] + 45), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    grid = Grid(page_index=0, row_edges_px=tuple(rows), col_edges_px=tuple(cols), rule_px=2)
    page = Page(index=0, image=image, dpi=200, source="test")
    return page, grid, [grid.cell_box(r, 0) for r in range(len(texts))]


@pytest.mark.tesseract
@pytest.mark.parametrize("is_everywhere", [False, True])
def test_combined_reader_reads_typed_cells_with_both_engines(is_everywhere: bool) -> None:
    page, grid, boxes = _page_with(["305", "", "-", "48"])
    cells = CombinedReader(is_everywhere=is_everywhere).read_cells(page, boxes, grid=grid)
    assert [c.value for c in cells] == [305, None, 0, 48]
    assert not cells[1].has_ink
    assert all(Reason.ENGINES_DISAGREE not in c.reasons for c in cells)


def test_fits_any_keeps_readings_that_spell_a_value() -> None:
    from ocr.combined import _fits_any

    assert _fits_any("1?7", (127,))
    assert _fits_any("1.000", (1000,))
    assert not _fits_any("5-3?", (13,))
    assert not _fits_any("12", (120, 7))
