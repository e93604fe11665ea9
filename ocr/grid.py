"""Find the ruled table on a straightened page: the y of every row rule, the x of every column rule.

Rules are found with morphology: an opening with a long flat kernel keeps only
horizontal strokes longer than any character, a tall thin kernel keeps vertical ones.
Lengths are relative to the page and to the table found, never absolute pixels, so
150-300 dpi scans share one set of constants. A rule must span most of the table to
count: strike-throughs, underlines and the partial rule under a merged header cell
("Số lượng") do not make rows.
"""

from __future__ import annotations

import cv2
import numpy as np

from ocr.rules import DASH_GAP_SHARE, RuleMasks, RuleStyle, dotted, find_rules
from ocr.types import Grid

# Line detection runs at about this width (~150 dpi on A4) and maps back.
WORK_WIDTH_PX = 1400
# A horizontal stroke must be this share of the page width to be a rule candidate;
# the widest number or word in a cell is far shorter.
H_KERNEL_FRACTION = 1 / 30
# A vertical stroke must be this share of the page height to be a rule candidate.
V_KERNEL_FRACTION = 1 / 60
# Rules for placing edges (see ocr.rules): the threshold (31 px, 12 grey levels) keeps
# faint fax rules; gaps of up to 5 px along a rule are bridged (dotted rules), and the
# rule is thickened by 1 px each side after, because a residual tilt of a few tenths of
# a degree breaks a 1-px rule into steps.
EDGE_RULES = RuleStyle(
    work_width_px=WORK_WIDTH_PX,
    block_px=31,
    offset=12,
    h_length_share=H_KERNEL_FRACTION,
    v_length_share=V_KERNEL_FRACTION,
    bridge_px=5,
    thicken_after_px=3,
)
# A first pass that finds fewer row rules than this found at most the solid frame of
# a table whose inner rules binarised into dashes (thin rules on a fax): the rules
# are then looked for again with the dashes joined (``ocr.rules.dotted``). Only then,
# so that pages with solid rules keep exactly the edges they had.
MIN_SOLID_ROW_RULES = 8
# A row rule covers at least this share of the table width (merged header cells and
# section rows leave some rules partial; strokes inside cells are far shorter).
ROW_RULE_COVERAGE = 0.55
# A column rule covers at least this share of the table height (merged section rows
# and a two-row header interrupt some verticals).
COL_RULE_COVERAGE = 0.35
# Rules closer than this share of the median row height are one doubled rule ...
MERGE_FRACTION = 0.35
# ... but never farther apart than this share of the work copy's width (~2 mm on A4):
# a doubled rule is a pen's width wide, while a one-line row ("Tổng số người tham
# gia") is 4 mm or more even where wrapped labels in a narrow column make the median
# row three or four lines tall (born-digital forms exported from Word).
MERGE_MAX_SHARE = 1 / 100
# A table needs this many rows and columns to be the form's table.
MIN_ROWS = 3
MIN_COLS = 3


def detect_grid(gray: np.ndarray, *, page_index: int, style: RuleStyle = EDGE_RULES) -> Grid | None:
    """Return the page's largest ruled table, or None if there is none.

    ``style`` is for callers that need only the table's structure, not exact edges
    (``ocr.orient`` counts rules on a coarser, cheaper copy). A table whose rules
    binarised into dashes (thin rules on a fax) is looked for again with them joined.
    """
    grid = _detect(gray, page_index=page_index, style=style)
    if grid is not None and len(grid.row_edges_px) >= MIN_SOLID_ROW_RULES:
        return grid
    joined = _detect(gray, page_index=page_index, style=dotted(style))
    if joined is None or (grid is not None and joined.n_rows <= grid.n_rows):
        return grid
    return joined


def _detect(gray: np.ndarray, *, page_index: int, style: RuleStyle) -> Grid | None:
    masks = find_rules(gray, style=style)
    # Rules meet at the table's crossings; a dotted rule may end a gap short of one.
    reach_px = round(masks.horizontal.shape[1] * DASH_GAP_SHARE) if style.is_dotted else 5
    box = _table_box(masks, reach_px=reach_px)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    rows = _rule_positions(masks.horizontal[y0:y1, x0:x1], axis=1, coverage=ROW_RULE_COVERAGE)
    cols = _rule_positions(masks.vertical[y0:y1, x0:x1], axis=0, coverage=COL_RULE_COVERAGE)
    max_merge_px = MERGE_MAX_SHARE * masks.horizontal.shape[1]
    rows = _merge_close([y0 + r for r in rows], max_px=max_merge_px)
    cols = _merge_close([x0 + c for c in cols], max_px=max_merge_px)
    if len(rows) < MIN_ROWS + 1 or len(cols) < MIN_COLS + 1:
        return None
    inv = 1 / masks.scale
    return Grid(
        page_index=page_index,
        row_edges_px=tuple(round(r * inv) for r in rows),
        col_edges_px=tuple(round(c * inv) for c in cols),
        rule_px=max(1, round(_rule_thickness(masks.horizontal) * inv)),
    )


def _table_box(masks: RuleMasks, *, reach_px: int) -> tuple[int, int, int, int] | None:
    """Bounding box of the largest lattice of rules connected within ``reach_px``."""
    lattice = cv2.bitwise_or(masks.horizontal, masks.vertical)
    lattice = cv2.dilate(lattice, np.ones((reach_px, reach_px), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(lattice, connectivity=8)
    if n <= 1:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h, _ = stats[best]
    sh, sw = lattice.shape
    if w < 0.3 * sw or h < 0.05 * sh:
        return None
    return int(x), int(y), int(x + w), int(y + h)


def _rule_positions(mask: np.ndarray, *, axis: int, coverage: float) -> list[int]:
    """Centres of the runs of rows (axis=1) or columns (axis=0) whose coverage is enough."""
    span = mask.shape[axis]
    profile = (mask > 0).sum(axis=axis) / max(1, span)
    # A rule's pixels spread over 2-4 adjacent lines; the max over a small window
    # makes coverage robust to that spread and to slight tilt.
    profile = _running_max(profile, 3)
    hits = np.flatnonzero(profile >= coverage)
    return _run_centres(hits)


def _running_max(values: np.ndarray, radius: int) -> np.ndarray:
    padded = np.pad(values, radius, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1)
    maxima: np.ndarray = windows.max(axis=1)
    return maxima


def _run_centres(indices: np.ndarray) -> list[int]:
    if len(indices) == 0:
        return []
    breaks = np.flatnonzero(np.diff(indices) > 1)
    starts = np.concatenate(([indices[0]], indices[breaks + 1]))
    ends = np.concatenate((indices[breaks], [indices[-1]]))
    return [int((s + e) // 2) for s, e in zip(starts, ends, strict=True)]


def _merge_close(positions: list[int], *, max_px: float) -> list[int]:
    """Merge rules closer than a fraction of the median gap (doubled or thick rules)."""
    if len(positions) < 3:
        return positions
    gaps = np.diff(positions)
    limit = max(3.0, min(max_px, MERGE_FRACTION * float(np.median(gaps))))
    merged = [positions[0]]
    for p in positions[1:]:
        if p - merged[-1] < limit:
            merged[-1] = (merged[-1] + p) // 2
        else:
            merged.append(p)
    return merged


def _rule_thickness(horizontal: np.ndarray) -> float:
    """Median vertical thickness of the horizontal rules, in work-copy pixels."""
    columns = horizontal[:, :: max(1, horizontal.shape[1] // 50)] > 0
    runs: list[int] = []
    for col in columns.T:
        idx = np.flatnonzero(col)
        if len(idx):
            breaks = np.flatnonzero(np.diff(idx) > 1)
            lengths = np.diff(np.concatenate(([0], breaks + 1, [len(idx)])))
            runs.extend(int(v) for v in lengths)
    return float(np.median(runs)) - 2 if runs else 2.0  # minus the 1-px dilation each side
