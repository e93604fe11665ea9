"""Rules that a 200-dpi 1-bit fax broke into dashes are still found (thin rules)."""

from __future__ import annotations

import cv2
import numpy as np

from ocr.clean import rotate, straighten
from ocr.grid import detect_grid
from tests.unit.ocr.drawing import even_edges

# An A4 page at 200 dpi: 32 row rules, the form's seven column rules.
SIZE = (2339, 1654)
ROWS = even_edges(300, 56, 32)
COLS = [130, 220, 820, 990, 1160, 1330, 1500]
# A 0.35-pt rule binarised by a fax: 1 px dashes ~3 mm long with ~2.5 mm gaps.
DASH_PX, GAP_PX = 24, 20


def fax_page(*, dash_px: int = DASH_PX, gap_px: int = GAP_PX) -> np.ndarray:
    """A 1-bit page: dotted row rules, solid column rules, a label in every row."""
    page = np.full(SIZE, 255, np.uint8)
    for y in ROWS:
        for x in range(COLS[0], COLS[-1], dash_px + gap_px):
            page[y, x : min(x + dash_px, COLS[-1])] = 0
    for x in COLS:
        page[ROWS[0] : ROWS[-1], x] = 0
    for top in ROWS[:-1]:
        # Labels of two lines fill the label column: joined, they must not make rules.
        for dy, text in ((24, "Hoc tap suot doi, boi duong"), (48, "nang cao trinh do")):
            cv2.putText(page, text, (235, top + dy), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    return np.where(page < 128, 0, 255).astype(np.uint8)


def test_detect_grid_dotted_fax_rules() -> None:
    grid = detect_grid(fax_page(), page_index=0)
    assert grid is not None
    assert len(grid.row_edges_px) == len(ROWS)
    assert max(abs(a - b) for a, b in zip(grid.row_edges_px, ROWS, strict=True)) <= 3
    assert len(grid.col_edges_px) == len(COLS)


def test_straighten_dotted_fax_rules() -> None:
    tilted = rotate(fax_page(), -2.0)
    grid = detect_grid(straighten(tilted), page_index=0)
    assert grid is not None
    assert len(grid.row_edges_px) == len(ROWS)
