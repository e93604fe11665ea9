"""Page orientation: put a page fed upside down or scanned landscape upright again.

A clerk feeds a page upside down, or a scanner set to landscape delivers the form on
its side. Read as it is, such a page matches no label and is refused as another form,
which sends the unit looking for a form it already has. The evidence used here is
the table's own rule structure, which costs a grid detection (~20-40 ms) and no OCR:

- A form read by row labels has many more rows than columns, so a grid with far more
  column rules than row rules is a table lying on its side (90 or 270 deg).
- Row labels are sentences written left to right, so the widest column (the label
  column, see ``ocr.match.label_column``) sits in the left part of the table; a widest
  column right of the table's middle means the page is upside down.

A page without a grid (narrative pages of a report, blank pages) is left as it is:
nothing on it is read, and no turn is better than a guessed one.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ocr.grid import EDGE_RULES, detect_grid
from ocr.types import Grid

# A table lies on its side when it has at least this many times more column rules than
# row rules: the form has ~25-45 row rules per page and 6-8 column rules, so upright
# the ratio is below 0.35 and on its side above 3; 2 leaves room on both sides.
SIDEWAYS_MIN_RATIO = 2.0
# The label column's centre lies this far right of the table's left edge, as a share of
# the table width, only when the page is upside down: upright it is at ~0.3 (a narrow
# row-number column, then the labels), turned it moves to ~0.7.
FLIPPED_MIN_LABEL_SHARE = 0.5

# Rules are counted on a copy whose long side is this many pixels (~85 dpi for A4),
# whichever way the page lies, so both turns are judged at the same scale: half the
# pixels of the grid's own copy, and rows 4-5 mm apart still are 12+ px apart.
WORK_LONG_SIDE_PX = 1000
# The copy is made here, so the rule finder must not scale it again; the threshold's
# neighbourhood shrinks with the copy, so that it still spans a few letters.
ORIENT_RULES = replace(EDGE_RULES, work_width_px=1_000_000, block_px=21)

_TURNS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def upright_turn_deg(gray: np.ndarray) -> int:
    """Clockwise turn (0, 90, 180 or 270 deg) that puts the page's table upright."""
    scale = min(1.0, WORK_LONG_SIDE_PX / max(gray.shape))
    gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    grid = detect_grid(gray, page_index=0, style=ORIENT_RULES)
    if grid is None:
        return 0
    if not _is_sideways(grid):
        return 180 if _is_flipped(grid) else 0
    turned = detect_grid(turn(gray, 90), page_index=0, style=ORIENT_RULES)
    if turned is None or _is_sideways(turned):
        return 0  # the rules do not say which way is up: leave the page alone
    return 270 if _is_flipped(turned) else 90


def turn(gray: np.ndarray, turn_deg: int) -> np.ndarray:
    """The image turned clockwise by a multiple of 90 deg (exact, no resampling)."""
    if turn_deg % 360 == 0:
        return gray
    return cv2.rotate(gray, _TURNS[turn_deg % 360])


def _is_sideways(grid: Grid) -> bool:
    return len(grid.col_edges_px) >= SIDEWAYS_MIN_RATIO * len(grid.row_edges_px)


def _is_flipped(grid: Grid) -> bool:
    """True when the widest column is in the right part of the table."""
    edges = np.asarray(grid.col_edges_px, dtype=np.float64)
    widest = int(np.argmax(np.diff(edges)))
    centre = (edges[widest] + edges[widest + 1]) / 2
    share = (centre - edges[0]) / max(1.0, edges[-1] - edges[0])
    return bool(share > FLIPPED_MIN_LABEL_SHARE)
