"""Ink isolation: which pixels of a value cell are writing, and what shape they have.

These are pure functions over grayscale arrays, with no recogniser in sight: every
engine (Tesseract today, a text-line model or a digit classifier next) reads the same
cleaned crop, and the decisions that need no engine are taken here once. A cell is
cleaned of the rules around it, specks and overflow from the next column, then judged
blank or not from its ink alone (blank means "not reported", so it must never come
from a failed OCR). A dash, an "x", a lone upright stroke and a struck-through number
are recognised by shape, because recognisers miss or misread them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocr.types import Box

# Grey levels between paper and the darkest pixel below which a cell holds no ink.
MIN_INK_CONTRAST = 40
# Ink components smaller than this share of a one-line row's height are specks (fax
# noise, dust); digits are about half a row tall.
SPECK_FRACTION = 0.12
# A horizontal stroke at least this share of a group's width, lying in its middle
# band, is a strike-through.
STRIKE_MIN_WIDTH = 0.7
# Ink at least this share of a one-line row tall is digit-sized (digits are ~half).
DIGIT_MIN_HEIGHT_SHARE = 0.3
# A lone upright stroke at least this many times taller than wide reads as "1".
BAR_MIN_ASPECT = 2.0
# A dash ("none") is at most this share of a one-line row tall (digits are ~half).
DASH_MAX_HEIGHT_SHARE = 0.2
# A flat mark against a side rule is kept as a dash when it is at least this share of
# a row long: a typed "-" at 9 pt is ~0.1 row, while what is left of a rule's bump or
# a tick of the neighbouring rule is a few pixels.
SIDE_DASH_MIN_WIDTH_SHARE = 0.08
# Ink touching the left rule and separated from the rest by at least this share of a
# row is the tail of the unit text overrunning from the previous column ("lớp/người"):
# digits of one number are ~0.1 row apart, and values are written away from the left.
OVERRUN_MIN_GAP_SHARE = 0.4
# ... and when its centre lies in this band of the cell's height (rules run along
# the top and bottom, a dash sits in the middle).
SIDE_DASH_MIDDLE = (0.25, 0.75)


@dataclass(frozen=True)
class Ink:
    """The cleaned ink of one cell, ready for OCR."""

    crop: np.ndarray  # grayscale, text dark on white, tight around the ink
    is_dash: bool
    is_x: bool
    is_bar: bool  # a single upright stroke: in a number cell, a "1"
    struck: str  # "" | "corrected" (struck number dropped) | "only" (nothing but struck)


@dataclass(frozen=True)
class Blank:
    """A cell judged empty; ``score`` is lower the more faint marks it holds."""

    score: float


def find_ink(gray: np.ndarray, box: Box, *, rule_px: int, row_px: int) -> Ink | Blank:
    """The ink inside a cell with rules and specks removed, or Blank.

    Sizes are judged against ``row_px``, the page's typical one-line row height, not
    against this cell: a cell made tall by a wrapped label holds digits of the same
    size as any other.
    """
    row_px = row_px or box.height
    # Grid edges run along the rules' centres; a rule's width clears the rule with a
    # margin for a slight tilt, and what is left of it is removed as slivers. A wider
    # margin cuts digits that clerks align against the cell border.
    inset = rule_px + 1
    x0, y0 = box.x + inset, box.y + inset
    x1, y1 = box.right - inset, box.bottom - inset
    if x1 - x0 < 4 or y1 - y0 < 4:
        return Blank(score=0.5)
    cell = gray[y0:y1, x0:x1]
    binary = _binarise(cell)
    binary = _remove_rule_remnants(binary, row_px=row_px)
    before_intruders = binary.copy()
    # The overrun first: the small pieces ``_drop_intruders`` removes are what shows
    # that the letters after them belong to the word entering from the left.
    _drop_left_overrun(binary, row_px=row_px)
    _drop_intruders(binary, row_px=row_px)
    keep = _text_components(binary, row_px=row_px)
    if keep is None:
        # Judged on the ink before overflow was dropped: a cell emptied by that step is
        # a doubtful blank, not a sure one.
        return Blank(score=_blank_score(cell, before_intruders))
    return _ink_from_mask(cell, binary, keep, row_px=row_px)


def _binarise(cell: np.ndarray) -> np.ndarray:
    """Ink = 255, by Otsu relative to the cell's own paper brightness.

    Blurred or faint digits can be light grey; what matters is their contrast with
    the paper around them, not an absolute level. Without enough contrast there is
    no ink at all.
    """
    paper = float(np.percentile(cell, 90))
    darkest = float(cell.min())
    if paper - darkest < MIN_INK_CONTRAST:
        return np.zeros_like(cell)
    _, binary = cv2.threshold(cell, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    binary[cell > paper - MIN_INK_CONTRAST / 2] = 0
    return binary


def _blank_score(cell: np.ndarray, binary: np.ndarray) -> float:
    """How surely a cell with no writing is blank: 1 for clean paper, less with marks left."""
    paper = float(np.percentile(cell, 90))
    contrast = paper - float(cell.min())
    marks = float((binary > 0).mean())
    return max(0.0, 1.0 - contrast / 255.0 - 20.0 * marks)


def _remove_rule_remnants(binary: np.ndarray, *, row_px: int) -> np.ndarray:
    """Drop what is left of the table rules inside the crop.

    The grid's edges are exact to a pixel or two, so slivers of the rules remain along
    a crop's borders; Tesseract then reads "0" as "0)", a blank as "1" or "-". Three
    passes: border lines that are mostly ink are cleared (rows near the top or bottom
    over 60 % ink, columns near the sides over 85 %: a digit spans neither); long
    straight runs in those bands too; then thin, line-like pieces still touching the
    border. Strokes across the middle survive, so that a strike-through can still be
    recognised.
    """
    h, w = binary.shape
    thin = max(3, int(0.15 * row_px))
    out = binary.copy()
    ink = out > 0
    for band in (slice(0, thin), slice(h - thin, h)):
        rows = np.flatnonzero(ink[band].mean(axis=1) >= 0.6) + (band.start or 0)
        out[rows] = 0
    for band in (slice(0, thin), slice(w - thin, w)):
        cols = np.flatnonzero(ink[:, band].mean(axis=0) >= 0.85) + (band.start or 0)
        out[:, cols] = 0
    vertical = cv2.morphologyEx(out, cv2.MORPH_OPEN, np.ones((max(3, int(0.8 * h)), 1), np.uint8))
    vertical[:, thin : w - thin] = 0
    horizontal = cv2.morphologyEx(out, cv2.MORPH_OPEN, np.ones((1, max(3, int(0.4 * w))), np.uint8))
    horizontal[thin : h - thin] = 0
    out[(vertical > 0) | (horizontal > 0)] = 0
    _drop_border_slivers(out, thin=thin)
    return out


def _drop_border_slivers(binary: np.ndarray, *, thin: int) -> None:
    """Remove, in place, line-like pieces that touch the crop's border."""
    h, w = binary.shape
    row_px = h  # the crop is one cell: a side dash is judged against its height
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    for k in range(1, n):
        x, y, cw, ch, _ = stats[k]
        touches = x == 0 or y == 0 or x + cw >= w or y + ch >= h
        flat = ch <= thin and (y == 0 or y + ch >= h)
        hairline = min(cw, ch) <= max(2, thin // 3)
        if touches and (flat or hairline) and not _is_side_dash(stats[k], h, row_px=row_px):
            binary[labels == k] = 0


def _is_side_dash(stat: np.ndarray, cell_h: int, *, row_px: int) -> bool:
    """Whether a component is a dash lying against a side rule (a "-" typed flush right).

    Clerks right-align values, so a typed "-" often ends a pixel from the right rule,
    or touches it after a JPEG re-encode softens both; clearing it as a rule sliver or
    an intruder turned a zero into a confident blank. It is flat (no taller than a
    dash may be), longer than tall, clear of the top and bottom rules and centred in
    the middle of the cell.
    """
    _, y, cw, ch, _ = (int(v) for v in stat)
    centre = (y + ch / 2) / max(1, cell_h)
    return (
        ch <= DASH_MAX_HEIGHT_SHARE * row_px
        and cw >= 1.3 * ch
        and cw >= SIDE_DASH_MIN_WIDTH_SHARE * row_px
        and y > 0
        and y + ch < cell_h
        and SIDE_DASH_MIDDLE[0] < centre < SIDE_DASH_MIDDLE[1]
    )


def _drop_intruders(binary: np.ndarray, *, row_px: int) -> None:
    """Remove, in place, small pieces of ink entering across a side rule.

    A word overflowing from the neighbouring column leaves a fragment (the tail of a
    "g", an accent) against the side of the cell. Digit-sized ink against a side
    is kept: at 150 dpi a right-aligned number can touch the rule, and cutting it
    would silently change the value.
    """
    h, w = binary.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    for k in range(1, n):
        x, _, cw, ch, _ = stats[k]
        if (x == 0 or x + cw >= w) and ch < DIGIT_MIN_HEIGHT_SHARE * row_px:
            # Overflow enters from the left (text runs rightwards): a flat mark against
            # the right rule is a flush-right dash, not the neighbour's text.
            if x + cw >= w and x > 0 and _is_side_dash(stats[k], h, row_px=row_px):
                continue
            binary[labels == k] = 0


def _drop_left_overrun(binary: np.ndarray, *, row_px: int) -> None:
    """Remove, in place, the tail of a word that enters across the left rule.

    The unit column's text ("lớp/người") overruns into the count cell; its last
    letters are digit-sized and were read as a leading "1" (4 became 14). Such ink
    touches the left border and is followed by a wide gap before the value's own
    ink; what touches the left border with nothing to its right is left alone (a
    value written flush left).
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n < 3:
        return
    order = sorted(range(1, n), key=lambda k: stats[k, cv2.CC_STAT_LEFT])
    gap_px = OVERRUN_MIN_GAP_SHARE * row_px
    reach = 0  # right edge of the ink entering from the left, so far
    entering: list[int] = []
    for k in order:
        x, cw = int(stats[k, cv2.CC_STAT_LEFT]), int(stats[k, cv2.CC_STAT_WIDTH])
        if x == 0 or (entering and x - reach < gap_px):
            entering.append(k)
            reach = max(reach, x + cw)
        elif entering:
            for e in entering:
                binary[labels == e] = 0
            return
        else:
            return


def _text_components(binary: np.ndarray, *, row_px: int) -> np.ndarray | None:
    """Mask of components that are writing; None when there are none.

    Specks (dust, fax noise) are small in both directions and are dropped unless
    they sit inside the writing (a thousands dot, a comma). A dash, which means zero,
    is small in height but long: it must survive, or a zero becomes a blank.
    """
    _, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    min_size = max(3, int(row_px * SPECK_FRACTION))
    widths, heights = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    is_glyph = (heights >= min_size) | (widths >= 1.5 * min_size)
    is_dash = (widths >= 0.7 * min_size) & (widths >= 2.0 * heights)
    keep = is_glyph | is_dash
    keep[0] = False
    if not keep.any():
        return None
    xs, ys = stats[keep, cv2.CC_STAT_LEFT], stats[keep, cv2.CC_STAT_TOP]
    x0, x1 = xs.min() - min_size, (xs + widths[keep]).max() + min_size
    y0, y1 = ys.min(), (ys + heights[keep]).max()
    cx = stats[:, cv2.CC_STAT_LEFT] + widths / 2
    cy = stats[:, cv2.CC_STAT_TOP] + heights / 2
    inside = (cx >= x0) & (cx <= x1) & (cy >= y0) & (cy <= y1)
    keep |= inside
    keep[0] = False
    writing: np.ndarray = keep[labels]
    return writing


def _ink_from_mask(cell: np.ndarray, binary: np.ndarray, keep: np.ndarray, *, row_px: int) -> Ink:
    mask = (binary > 0) & keep
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    struck, mask = _drop_struck(mask[y0:y1, x0:x1])
    if struck == "only":
        return Ink(
            crop=np.zeros((1, 1), np.uint8), is_dash=False, is_x=False, is_bar=False, struck="only"
        )
    ys, xs = np.nonzero(mask)
    crop = _render_crop(cell[y0:y1, x0:x1], mask, xs, ys)
    h, w = crop.shape
    single = _single_blob(mask)
    centre_y = (y0 + y1) / 2 / cell.shape[0]
    # A dash is one flat mark in the middle of the cell, far lower than a digit; blur
    # at 150-200 dpi makes an en dash only ~1.5x wider than tall, so height decides.
    is_dash = (
        single and h <= DASH_MAX_HEIGHT_SHARE * row_px and w >= 1.3 * h and 0.2 < centre_y < 0.8
    )
    is_bar = single and h >= BAR_MIN_ASPECT * w
    return Ink(crop=crop, is_dash=is_dash, is_x=False, is_bar=is_bar, struck=struck)


def _render_crop(cell: np.ndarray, mask: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Ink on clean white, full contrast, tight around what is left."""
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    region = cell[y0:y1, x0:x1].astype(np.float32)
    m = mask[y0:y1, x0:x1]
    dark = float(np.percentile(region[m], 10)) if m.any() else 0.0
    stretched: np.ndarray = np.clip((region - dark) / max(1.0, 200.0 - dark) * 255, 0, 255)
    dilated = cv2.dilate(m.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    stretched[~dilated] = 255
    return stretched.astype(np.uint8)


def _single_blob(mask: np.ndarray) -> bool:
    n, _ = cv2.connectedComponents(mask.astype(np.uint8))
    return n == 2


def _drop_struck(mask: np.ndarray) -> tuple[str, np.ndarray]:
    """Find a strike-through line; drop the group of ink it crosses.

    A strike is one thin straight stroke across the middle of a group, at least as
    wide as the group and wider than the group is tall: the bars of 4, 7 or 2 are
    shorter than the digit or sit at its top or bottom. Returns ("", mask) when
    nothing is struck, ("corrected", rest) when other ink remains beside the struck
    group (the correction), ("only", mask) when the struck number is all there is.
    """
    h, w = mask.shape
    if h < 6 or w < 6:
        return "", mask
    groups = _ink_groups(mask)
    for gx0, gx1 in groups:
        if _is_struck(mask[:, gx0:gx1]):
            rest = mask.copy()
            rest[:, gx0:gx1] = False
            return ("corrected", rest) if rest.any() and len(groups) > 1 else ("only", mask)
    return "", mask


def _is_struck(group: np.ndarray) -> bool:
    rows = np.flatnonzero(group.any(axis=1))
    if len(rows) == 0:
        return False
    top, bottom = int(rows[0]), int(rows[-1])
    gh, gw = bottom - top + 1, group.shape[1]
    if gw < 1.0 * gh:
        return False
    kernel = np.ones((1, max(6, int(gw * STRIKE_MIN_WIDTH))), np.uint8)
    line = cv2.morphologyEx(group.astype(np.uint8) * 255, cv2.MORPH_OPEN, kernel)
    n, _, stats, _ = cv2.connectedComponentsWithStats(line, connectivity=8)
    for i in range(1, n):
        x, y, lw, lh, _ = stats[i]
        centre = y + lh / 2
        is_thin = lh <= max(3, 0.25 * gh)
        is_middle = top + 0.25 * gh < centre < bottom - 0.25 * gh
        if is_thin and is_middle and lw >= 0.85 * gw and _sticks_out(group, x, x + lw, y, lh):
            return True
    return False


def _sticks_out(group: np.ndarray, x0: int, x1: int, y: int, lh: int) -> bool:
    """Whether the stroke reaches past the digits it crosses.

    A pen's strike does; the joined middle bars of touching digits ("68" in a bold,
    blurred font) do not.
    """
    others = group.copy()
    others[max(0, y - 1) : y + lh + 1] = False
    cols = np.flatnonzero(others.any(axis=0))
    if len(cols) == 0:
        return True
    rows = np.flatnonzero(group.any(axis=1))
    margin = max(2, int(0.06 * (rows[-1] - rows[0] + 1)))
    return bool(x0 < cols[0] - margin or x1 > cols[-1] + 1 + margin)


def _ink_groups(mask: np.ndarray) -> list[tuple[int, int]]:
    """Column ranges of ink separated by gaps wider than about one character."""
    cols = np.flatnonzero(mask.any(axis=0))
    h = mask.shape[0]
    gap = max(4, int(h * 0.6))
    groups: list[tuple[int, int]] = []
    start = prev = int(cols[0])
    for c in cols[1:]:
        if c - prev > gap:
            groups.append((start, prev + 1))
            start = int(c)
        prev = int(c)
    groups.append((start, prev + 1))
    return groups
