"""The second recogniser's own view of a value cell, made apart from ``ocr.read``'s ink.

Two engines reading the same crop share its mistakes: a dash that ink isolation
discarded is seen by neither, a digit cut at the rule is cut for both, the neighbour
column's text kept as ink is read by both. Agreement between them then proves little.
So this view is built from the cleaned page and the cell box alone, by other rules:

- **Crop**: the cell is shrunk to just inside its four rules, found in the pixels (the
  innermost mostly-dark line within a few rule widths of each edge) rather than by a
  fixed inset, then to the box around its marks with a paper margin. No component is
  removed from it: the recogniser sees everything that lies inside that box.
- **Blank or dash**: decided by shape. Rule remnants (long, thin, along a side) and
  specks are ignored for the decision only; what remains is blank when nothing,
  a dash when a single flat mark (low stroke, wider than tall) in the middle band of
  the cell's height, wherever it lies across (against the right rule too), text
  otherwise.

Sizes are relative to the grid's measured rule thickness and typical row height, so
150-300 dpi pages share the constants.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from ocr.types import Box

# A line whose ink covers at least this share of its length is a rule: a digit's stem
# near the side covers about half a one-line cell, a fax's dotted rule still ~0.7+.
RULE_MIN_COVER = 0.7
# Rules are looked for this many rule widths (plus 2 px) in from each edge of the box:
# grid edges are exact to a pixel or two, and skew left after deskew moves a rule by
# about one rule width across a cell.
RULE_SEARCH_WIDTHS = 3
# Grey levels between paper and the darkest pixel below which there is no ink at all
# (the same contrast any reader of a scan needs; low-contrast marks are paper texture).
MIN_CONTRAST = 40
# A component smaller than this share of a one-line row in both directions is a speck
# (fax speckle is 1-4 px at 200 dpi; a digit is about half a row tall). A thousands dot
# is one too, for the decision only: no cell holds a dot alone.
SPECK_SHARE = 0.1
# A piece within this many rule widths (plus 1 px) of a side, no thicker than that and
# at least REMNANT_MIN_ELONGATION times longer than thick along the side, is what is
# left of a rule (a tilted or jagged one leaves several).
REMNANT_MAX_WIDTHS = 2
REMNANT_MIN_ELONGATION = 3
# In those bands, a row with ink along this share of its length, or a column along
# this share of its height, is a rule's trace (a digit's stem spans about half a
# one-line cell's height; a top or bottom stroke a small part of its width).
EDGE_ROW_COVER = 0.5
EDGE_COL_COVER = 0.7
# A dash is one mark at most this share of a one-line row tall (digits are ~half a
# row, a typed hyphen ~a tenth, a pen dash up to ~a sixth)...
DASH_MAX_HEIGHT_SHARE = 0.2
# ... at least this much wider than tall (a "1" is not; a typed hyphen blurred by a
# 150 dpi JPEG is only ~1.3x, and a lone "." is no value a clerk writes) ...
DASH_MIN_ASPECT = 1.2
# ... and at least this share of a row long (a thousands dot is not).
DASH_MIN_WIDTH_SHARE = 0.08
# ... lying in the middle band of the cell's height (a clerk writes "-" on the line of
# the text; a flat piece in a top or bottom corner is where rules meet).
DASH_MIDDLE = (0.2, 0.8)
# Paper added around the crop, as a share of a one-line row.
PAD_SHARE = 0.1


class CellKind(StrEnum):
    """What the shape of a cell's ink says before any recogniser reads it."""

    BLANK = "blank"
    DASH = "dash"
    TEXT = "text"


@dataclass(frozen=True)
class CellView:
    """The recogniser's crop of one cell and its shape decision.

    ``crop`` is grayscale uint8, the whole inside of the rules with a paper margin;
    ``ink_share`` is the share of the crop covered by ink that counted for the decision.
    """

    crop: np.ndarray
    kind: CellKind
    ink_share: float


def view_cell(gray: np.ndarray, box: Box, *, rule_px: int, row_px: int) -> CellView:
    """The inside of a cell's rules and whether it holds nothing, a dash or text."""
    row_px = row_px or box.height
    inner = inside_rules(gray, box, rule_px=rule_px)
    cell = gray[inner.y : inner.bottom, inner.x : inner.right]
    if cell.size == 0:
        return CellView(crop=np.full((8, 8), 255, np.uint8), kind=CellKind.BLANK, ink_share=0.0)
    ink = _marks(_binarise(cell), rule_px=rule_px, row_px=row_px)
    pad = max(2, round(PAD_SHARE * row_px))
    crop = cv2.copyMakeBorder(
        _around(cell, ink, pad), pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255
    )
    return CellView(crop=crop, kind=_kind(ink, row_px=row_px), ink_share=float(ink.mean()))


def _around(cell: np.ndarray, ink: np.ndarray, pad: int) -> np.ndarray:
    """The part of the cell around its marks, ``pad`` px beyond them where the cell allows.

    The recogniser reads lines 48 px tall: given the whole of a two-line row, a digit
    would shrink to a quarter of that. Everything inside this box is kept, specks and
    remnants included; only the empty paper around is left out.
    """
    if not ink.any():
        return cell
    ys, xs = np.nonzero(ink)
    h, w = cell.shape
    y0, y1 = max(0, int(ys.min()) - pad), min(h, int(ys.max()) + 1 + pad)
    x0, x1 = max(0, int(xs.min()) - pad), min(w, int(xs.max()) + 1 + pad)
    return cell[y0:y1, x0:x1]


def inside_rules(gray: np.ndarray, box: Box, *, rule_px: int) -> Box:
    """The box shrunk to just inside the rules found along each of its edges.

    Where no rule is found near an edge (a faint or broken rule), the edge moves in by
    one rule width and a pixel, which clears a rule of the measured thickness.
    """
    reach = RULE_SEARCH_WIDTHS * rule_px + 2
    h, w = gray.shape[:2]
    x0, y0 = max(0, box.x - reach // 2), max(0, box.y - reach // 2)
    x1, y1 = min(w, box.right + reach // 2), min(h, box.bottom + reach // 2)
    region = _binarise(gray[y0:y1, x0:x1]) > 0
    if region.size == 0:
        return box
    rows, cols = region.mean(axis=1), region.mean(axis=0)
    fallback = rule_px + 1
    top = _inner_edge(rows, box.y - y0, reach, step=1, fallback=fallback)
    bottom = _inner_edge(rows, box.bottom - y0 - 1, reach, step=-1, fallback=fallback)
    left = _inner_edge(cols, box.x - x0, reach, step=1, fallback=fallback)
    right = _inner_edge(cols, box.right - x0 - 1, reach, step=-1, fallback=fallback)
    if bottom <= top or right <= left:
        return Box(box.x + fallback, box.y + fallback, 0, 0)
    return Box(x0 + left, y0 + top, right - left, bottom - top)


def _inner_edge(cover: np.ndarray, edge: int, reach: int, *, step: int, fallback: int) -> int:
    """Index just inside the innermost rule line within ``reach`` of ``edge``.

    Scans from outside the edge inwards; returns the first index past the last line
    whose cover reaches RULE_MIN_COVER (exclusive end for a bottom/right edge).
    """
    start = edge - step * (reach // 2)
    lines = [start + step * k for k in range(reach + reach // 2)]
    lines = [i for i in lines if 0 <= i < len(cover)]
    ruled = [i for i in lines if cover[i] >= RULE_MIN_COVER]
    if step > 0:
        return (max(ruled) + 1) if ruled else edge + fallback
    return min(ruled) if ruled else edge + 1 - fallback


def _binarise(cell: np.ndarray) -> np.ndarray:
    """Ink = 255: darker than halfway between the paper and the darkest pixel.

    Not Otsu: in a cell holding one small dash the two classes are so unequal that
    Otsu's threshold slides towards the paper and takes the dash's grey halo for ink,
    making a flat dash look round. Without enough contrast there is no ink at all.
    """
    if cell.size == 0:
        return np.zeros_like(cell)
    paper = float(np.percentile(cell, 90))
    darkest = float(cell.min())
    if paper - darkest < MIN_CONTRAST:
        return np.zeros_like(cell)
    return np.where(cell < (paper + darkest) / 2, 255, 0).astype(np.uint8)


def _marks(binary: np.ndarray, *, rule_px: int, row_px: int) -> np.ndarray:
    """Mask of the ink that counts for the blank/dash decision: no specks, no remnants.

    A remnant is a thin piece lying along a side, within a rule's thickness of it and
    running along it; a fax's jagged rules leave many short ones. A dash near a side
    runs across, not along, the side rules, so it stays.
    """
    h, w = binary.shape
    thin = REMNANT_MAX_WIDTHS * rule_px + 1
    binary = _without_edge_lines(binary, thin=thin)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    speck = max(2, round(SPECK_SHARE * row_px))
    keep = np.zeros(n, dtype=bool)
    for k in range(1, n):
        x, y, cw, ch, _ = (int(v) for v in stats[k])
        is_speck = cw < speck and ch < speck
        near_side = x <= thin or x + cw >= w - thin
        near_end = y <= thin or y + ch >= h - thin
        is_remnant = (near_side and cw <= thin and ch >= REMNANT_MIN_ELONGATION * cw) or (
            near_end and ch <= thin and cw >= REMNANT_MIN_ELONGATION * ch
        )
        touches_side = x == 0 or x + cw >= w
        is_junction = touches_side and near_end and ch < h / 2  # where two rules meet
        is_remnant = is_remnant or is_junction
        keep[k] = not (is_speck or is_remnant)
    mask: np.ndarray = keep[labels]
    return mask


def _without_edge_lines(binary: np.ndarray, *, thin: int) -> np.ndarray:
    """A copy with the mostly-inked lines of the ``thin`` bands along each side cleared.

    A blurred or doubled rule leaves a faint frame inside the cell, one ring-shaped
    component as large as the cell, which no test on component boxes can tell from
    writing; line by line it is plain. Digits cover far less of a line than a rule.
    """
    out = binary.copy()
    ink = out > 0
    h, w = out.shape
    for band in (slice(0, min(thin, h)), slice(max(0, h - thin), h)):
        rows = np.flatnonzero(ink[band].mean(axis=1) >= EDGE_ROW_COVER) + (band.start or 0)
        out[rows] = 0
    for band in (slice(0, min(thin, w)), slice(max(0, w - thin), w)):
        cols = np.flatnonzero(ink[:, band].mean(axis=0) >= EDGE_COL_COVER) + (band.start or 0)
        out[:, cols] = 0
    return out


def _kind(ink: np.ndarray, *, row_px: int) -> CellKind:
    """Blank, dash or text, from the marks left after specks and remnants."""
    if not ink.any():
        return CellKind.BLANK
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    if n != 2:
        return CellKind.TEXT
    _, y, w, h, _ = (int(v) for v in stats[1])
    is_flat = h <= DASH_MAX_HEIGHT_SHARE * row_px and w >= DASH_MIN_ASPECT * h
    centre = (y + h / 2) / ink.shape[0]
    is_middle = DASH_MIDDLE[0] < centre < DASH_MIDDLE[1]
    is_long = w >= DASH_MIN_WIDTH_SHARE * row_px
    return CellKind.DASH if is_flat and is_long and is_middle else CellKind.TEXT
