"""The one rule finder: masks of a page's long horizontal and vertical strokes.

Both ``ocr.clean`` (to measure skew and perspective) and ``ocr.grid`` (to place row and
column edges) need the table's ruling lines, found the same way: on a downscaled copy,
binarised against the local background, opened with a long flat kernel that keeps only
runs longer than any character. They ask different things of the lines, so each passes
its own ``RuleStyle`` to the same function:

- ``clean`` sees a page that may still be tilted by several degrees: it thickens the
  ink *across* a rule before the opening, so that a tilted rule stays one connected band
  whose direction can be fitted. A slightly smaller work copy is enough for an angle.
- ``grid`` sees a straightened page and needs positions exact to a pixel or two: it
  bridges small gaps *along* a rule (faint or dotted fax rules) before the opening, and
  thickens by one pixel after it, to reconnect the steps a residual tilt of a few tenths
  of a degree leaves in a 1-px rule. Its threshold keeps fainter ink.

The styles' values were tuned separately against the sample scans; making them one
would move grid edges and angles, so the two styles stay and the code is shared.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

# Horizontal rules of 0.25-0.4 pt binarise on a 200-dpi 1-bit fax into dashes 2-4 mm
# long with gaps of 1.5-5 mm (a fax halves the vertical resolution; vertical rules
# stay solid). As shares of the work copy's width (A4: 210 mm): a dash is at least
# 1/120 of it (~1.8 mm; a letter's horizontal stroke is shorter), and gaps up to 1/40
# (~5 mm) between dashes in line are closed. Vertical strokes are never joined: the
# stems of left-aligned labels, one above the other, would become a column rule.
DASH_MIN_SHARE = 1 / 120
DASH_GAP_SHARE = 1 / 40
# A dash is as thin as its rule: 1-3 px of the work copy, plus any thickening before.
# Strokes this much thicker are letters run together by the fax's hard threshold.
DASH_MAX_EXTRA_PX = 3
# Kernels never shrink below this many pixels of the work copy: on a tiny image a
# fractional kernel would keep letters as "rules".
MIN_KERNEL_PX = 10


@dataclass(frozen=True)
class RuleStyle:
    """How to look for rules; lengths are shares of the work copy, widths are pixels of it."""

    work_width_px: int  # the page is downscaled to at most this width first
    block_px: int  # neighbourhood of the adaptive threshold (odd)
    offset: int  # grey levels below the neighbourhood mean that count as ink
    h_length_share: float  # a horizontal rule is at least this share of the width
    v_length_share: float  # a vertical rule is at least this share of the height
    bridge_px: int = 0  # gaps along a rule closed before the opening (0: none)
    thicken_before_px: int = 0  # dilation across a rule before the opening (0: none)
    thicken_after_px: int = 0  # dilation across a rule after the opening (0: none)
    is_dotted: bool = False  # also join the dashes of horizontal rules broken by a fax


def dotted(style: RuleStyle) -> RuleStyle:
    """The same style, also joining the dashes of rules that binarised into dotted lines.

    Gaps are closed only between thin strokes at least a dash long, so the letters of
    a line of text, shorter or run together into thick blobs, are not joined into a
    "rule".
    """
    return replace(style, is_dotted=True)


@dataclass(frozen=True)
class RuleMasks:
    """Rule masks (255 = rule) on the work copy, and its scale to the page (work / page)."""

    horizontal: np.ndarray
    vertical: np.ndarray
    scale: float


def find_rules(gray: np.ndarray, *, style: RuleStyle) -> RuleMasks:
    """Masks of the long horizontal and vertical strokes of a grayscale page."""
    h, w = gray.shape
    scale = min(1.0, style.work_width_px / w)
    small = cv2.resize(gray, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
    binary = cv2.adaptiveThreshold(
        small, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, style.block_px, style.offset
    )
    sh, sw = binary.shape
    horizontal = _long_runs(
        binary, length_px=max(MIN_KERNEL_PX, int(sw * style.h_length_share)), style=style, axis=1
    )
    vertical = _long_runs(
        binary, length_px=max(MIN_KERNEL_PX, int(sh * style.v_length_share)), style=style, axis=0
    )
    return RuleMasks(horizontal=horizontal, vertical=vertical, scale=scale)


def _long_runs(binary: np.ndarray, *, length_px: int, style: RuleStyle, axis: int) -> np.ndarray:
    """Runs of ink at least ``length_px`` long along ``axis`` (1: horizontal, 0: vertical)."""
    out = binary
    if style.bridge_px:
        out = cv2.morphologyEx(out, cv2.MORPH_CLOSE, _kernel(style.bridge_px, along=axis))
    if style.thicken_before_px:
        out = cv2.dilate(out, _kernel(style.thicken_before_px, along=1 - axis))
    if style.is_dotted and axis == 1:
        out = cv2.bitwise_or(out, _joined_dashes(out, style=style, axis=axis))
    out = cv2.morphologyEx(out, cv2.MORPH_OPEN, _kernel(length_px, along=axis))
    if style.thicken_after_px:
        out = cv2.dilate(out, _kernel(style.thicken_after_px, along=1 - axis))
    return out


def _joined_dashes(binary: np.ndarray, *, style: RuleStyle, axis: int) -> np.ndarray:
    """Thin strokes at least a dash long, with the gaps between those in line closed."""
    width_px = binary.shape[1]
    dash_px = max(3, round(width_px * DASH_MIN_SHARE))
    gap_px = max(3, round(width_px * DASH_GAP_SHARE))
    dashes = cv2.morphologyEx(binary, cv2.MORPH_OPEN, _kernel(dash_px, along=axis))
    thick_px = style.thicken_before_px + DASH_MAX_EXTRA_PX + 1
    thick = cv2.morphologyEx(dashes, cv2.MORPH_OPEN, _kernel(thick_px, along=1 - axis))
    thick = cv2.dilate(thick, _kernel(2 * dash_px + 1, along=axis))
    dashes = cv2.bitwise_and(dashes, cv2.bitwise_not(thick))
    return cv2.morphologyEx(dashes, cv2.MORPH_CLOSE, _kernel(gap_px, along=axis))


def _kernel(length_px: int, *, along: int) -> np.ndarray:
    """A flat kernel ``length_px`` long along ``along`` (1: a row, 0: a column)."""
    shape = (1, length_px) if along == 1 else (length_px, 1)
    return np.ones(shape, np.uint8)
