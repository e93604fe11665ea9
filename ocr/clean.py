"""Page cleaning: colour -> flat grayscale, seals dropped, borders whitened, page straightened.

Order matters: colour is dropped first (a red seal must not be taken for ink), the
illumination is flattened (phone photos are darker at one side), dark scanner
borders are whitened, and then the page is straightened using the table's own
ruling lines, which are the most reliable straight features on these forms.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ocr.orient import turn, upright_turn_deg
from ocr.rules import RuleStyle, dotted, find_rules
from ocr.types import Page

log = logging.getLogger(__name__)

# Line finding runs on a copy about this wide (~100-140 dpi for A4); rules stay
# visible and the line fits are ~10x cheaper than at full resolution.
WORK_WIDTH_PX = 1200
# Rules for measuring skew (see ocr.rules): a horizontal rule is at least 1/30 of the
# width, a vertical one 1/40 of the height; ink is thickened 5 px across a rule first,
# so a rule tilted by several degrees stays one band; the threshold (25 px, 15 grey
# levels) keeps only firm strokes, whose direction is worth fitting.
SKEW_RULES = RuleStyle(
    work_width_px=WORK_WIDTH_PX,
    block_px=25,
    offset=15,
    h_length_share=1 / 30,
    v_length_share=1 / 40,
    thicken_before_px=5,
)
# Fewer long horizontal rules than this (a table has 20-45) means the table's rules
# may be dotted (thin rules on a fax), and what was found a fax's streaks or the
# frame: the rules are looked for again with their dashes joined.
MIN_SOLID_RULES = 8
# Pixels this saturated towards red are a seal or red pen, never the printed form.
RED_MIN_FRACTION = 0.001
# Rotation below this is left alone: resampling blurs digits more than it helps.
MIN_ROTATION_DEG = 0.05
# Skew beyond this is not a tilted scan but a page in the wrong orientation.
MAX_SKEW_DEG = 15.0
# A perspective quad smaller than this share of the page is a cell, not the table.
MIN_TABLE_AREA_FRACTION = 0.12
# Long rules of a flatbed scan agree in direction to ~0.05 deg; a phone photo's fan out
# by half a degree or more. Between the two, a rotation is the safer correction.
ROTATION_ONLY_MAX_SPREAD_DEG = 0.15
# Corners that disagree with a plain rotation by more than this many degrees mean a
# phone photo (keystone); below it a rotation is enough.
KEYSTONE_MIN_DEG = 0.3
# Within one table, perspective tilts rules by a few degrees at most; a segment
# further off the median direction is a signature stroke or a seal arc.
MAX_ANGLE_SPREAD_DEG = 4.0
# A rule of the table's frame is at least this share of the longest rule's length.
FRAME_MIN_LENGTH_SHARE = 0.6


@dataclass(frozen=True)
class Segments:
    """Long straight ink segments found on the work copy, in full-resolution pixels."""

    horizontal: np.ndarray  # (n, 4) x1, y1, x2, y2
    vertical: np.ndarray


def clean_page(page: Page) -> Page:
    """Return the page as upright, straightened, flat-lit grayscale.

    Text-layer pages stay as drawn (their words are in the drawn frame). The page is
    turned upright after straightening: skew is measured on whichever rules run
    across, and a quarter or half turn keeps straight rules straight.
    """
    gray = to_gray(page.image)
    if page.has_text_layer:
        return replace(page, image=gray)
    gray = flatten_illumination(gray)
    gray = whiten_dark_borders(gray)
    gray = straighten(gray)
    turn_deg = upright_turn_deg(gray)
    if turn_deg:
        log.info("page %d turned by %d deg", page.index + 1, turn_deg)
    return replace(page, image=turn(gray, turn_deg), turned_deg=turn_deg)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Grayscale that drops red ink (seals, red pens) and keeps black and blue ink dark.

    Red ink is bright in the red channel, while black and blue ink are dark in it.
    """
    if image.ndim == 2:
        return image
    b, g, r = cv2.split(image)
    reddish = (r.astype(np.int16) - np.maximum(g, b).astype(np.int16)) > 60
    if reddish.mean() >= RED_MIN_FRACTION:
        return r.copy()
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def flatten_illumination(gray: np.ndarray) -> np.ndarray:
    """Divide by the page's background brightness so shadows and gradients vanish."""
    h, w = gray.shape
    scale = min(1.0, 400 / max(h, w))
    small = cv2.resize(
        gray, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA
    )
    k = max(3, int(min(small.shape) / 20) | 1)
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    flat = cv2.divide(gray, np.maximum(background, 1), scale=255)
    return flat


def whiten_dark_borders(gray: np.ndarray) -> np.ndarray:
    """Paint white the dark regions touching the page edge (scanner lid, photo background)."""
    dark = (gray < 90).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    h, w = gray.shape
    out = gray
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        touches = x == 0 or y == 0 or x + bw >= w or y + bh >= h
        # A border is a big blob; a table rule touching the edge is thin and sparse.
        if touches and area > 0.002 * h * w and area > 0.3 * bw * bh:
            if out is gray:
                out = gray.copy()
            out[labels == i] = 255
    return out


def straighten(gray: np.ndarray) -> np.ndarray:
    """Undo skew (rotation) or keystone (perspective) using the table's ruling lines."""
    segments = find_segments(gray)
    if len(segments.horizontal) == 0:
        return gray
    if not _is_rotation_only(segments):
        quad = table_quad(segments, gray.shape)
        if quad is not None and _is_keystoned(quad):
            return warp_quad(gray, quad)
    angle = skew_angle_deg(segments)
    if abs(angle) < MIN_ROTATION_DEG or abs(angle) > MAX_SKEW_DEG:
        return gray
    return rotate(gray, angle)


def find_segments(gray: np.ndarray) -> Segments:
    """Long straight strokes (table rules) on a downscaled, binarised copy.

    Strokes are isolated by morphology (an opening with a long flat kernel keeps
    only runs longer than any word), after thickening across their direction so
    that a rule tilted by several degrees stays one connected band. Each band's
    direction is then a least-squares fit through its pixels: exact to a few
    hundredths of a degree and far cheaper than a Hough transform.
    """
    segments = _segments(gray, style=SKEW_RULES)
    if len(segments.horizontal) >= MIN_SOLID_RULES:
        return segments
    joined = _segments(gray, style=dotted(SKEW_RULES))
    return joined if len(joined.horizontal) > len(segments.horizontal) else segments


def _segments(gray: np.ndarray, *, style: RuleStyle) -> Segments:
    masks = find_rules(gray, style=style)
    sh, sw = masks.horizontal.shape
    segs_h = _band_segments(masks.horizontal, min_length=int(sw * 0.2), horizontal=True)
    segs_v = _band_segments(masks.vertical, min_length=int(sh * 0.1), horizontal=False)
    return Segments(segs_h / masks.scale, segs_v / masks.scale)


def _band_segments(mask: np.ndarray, *, min_length: int, horizontal: bool) -> np.ndarray:
    """One fitted segment per long connected band of the mask, as (x1, y1, x2, y2)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    segments = []
    for i in range(1, n):
        x, y, bw, bh, _ = stats[i]
        length = bw if horizontal else bh
        if length < min_length:
            continue
        ys, xs = np.nonzero(labels[y : y + bh, x : x + bw] == i)
        step = max(1, len(xs) // 4000)  # a few thousand points fix a line well
        points = np.column_stack((xs[::step] + x, ys[::step] + y)).astype(np.float32)
        vx, vy, cx, cy = cv2.fitLine(points, cv2.DIST_L2, 0, 0.01, 0.01).ravel()
        if horizontal:
            t0, t1 = (x - cx) / vx, (x + bw - cx) / vx
        else:
            t0, t1 = (y - cy) / vy, (y + bh - cy) / vy
        segments.append((cx + t0 * vx, cy + t0 * vy, cx + t1 * vx, cy + t1 * vy))
    return np.array(segments, dtype=np.float64).reshape(-1, 4)


def _is_rotation_only(segments: Segments) -> bool:
    """True when all long rules share one direction and verticals are perpendicular to it.

    A flatbed scan is at most rotated; perspective (a phone photo) makes rules fan
    out. Deciding this first keeps a stray line from turning a rotation into a warp.
    """
    h_angles = _long_angles(segments.horizontal, vertical=False)
    v_angles = _long_angles(segments.vertical, vertical=True)
    if len(h_angles) < 3:
        return True
    spread = float(np.percentile(h_angles, 90) - np.percentile(h_angles, 10))
    if len(v_angles) >= 2:
        spread = max(spread, abs(float(np.median(h_angles)) - float(np.median(v_angles))))
    return spread < ROTATION_ONLY_MAX_SPREAD_DEG


def _long_angles(segs: np.ndarray, *, vertical: bool) -> np.ndarray:
    if len(segs) == 0:
        return np.zeros(0)
    lengths = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    long = segs[lengths >= 0.5 * lengths.max()]
    return _angles_deg(long, vertical=vertical)


def _angles_deg(segs: np.ndarray, *, vertical: bool) -> np.ndarray:
    """Each segment's direction in (-90, 90]: horizontal rules from 0 deg, vertical from 90."""
    angle: np.ndarray = (
        np.degrees(np.arctan2(segs[:, 3] - segs[:, 1], segs[:, 2] - segs[:, 0])) % 180
    )
    return angle - 90 if vertical else (angle + 90) % 180 - 90


def skew_angle_deg(segments: Segments) -> float:
    """Length-weighted median angle of the near-horizontal rules, in degrees."""
    s = segments.horizontal
    dx = s[:, 2] - s[:, 0]
    dy = s[:, 3] - s[:, 1]
    flip = dx < 0
    dx[flip], dy[flip] = -dx[flip], -dy[flip]
    angles = np.degrees(np.arctan2(dy, dx))
    lengths = np.hypot(dx, dy)
    order = np.argsort(angles)
    cumulative = np.cumsum(lengths[order])
    return float(angles[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def rotate(gray: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate about the centre by ``angle_deg`` (positive = clockwise tilt undone), white fill."""
    h, w = gray.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    return cv2.warpAffine(
        gray,
        matrix,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )


def table_quad(segments: Segments, shape: tuple[int, ...]) -> np.ndarray | None:
    """Corners (tl, tr, br, bl) of the table's outer frame, or None if not found.

    Segments along the image border (page or scanner edges) and segments far off the
    dominant direction (signatures, seal arcs) are not rules of the table.
    """
    h, w = shape[:2]
    horizontal = _table_segments(segments.horizontal, axis=1, extent=h)
    vertical = _table_segments(segments.vertical, axis=0, extent=w)
    if len(vertical) < 2 or len(horizontal) < 2:
        return None
    top, bottom = _extreme_line(horizontal, axis=1)
    left, right = _extreme_line(vertical, axis=0)
    corners = [
        _intersect(top, left),
        _intersect(top, right),
        _intersect(bottom, right),
        _intersect(bottom, left),
    ]
    if any(c is None for c in corners):
        return None
    quad = np.array(corners, dtype=np.float32)
    area = cv2.contourArea(quad)
    if area < MIN_TABLE_AREA_FRACTION * h * w or not cv2.isContourConvex(quad):
        return None
    if (
        quad[:, 0].min() < -0.05 * w
        or quad[:, 0].max() > 1.05 * w
        or quad[:, 1].min() < -0.05 * h
        or quad[:, 1].max() > 1.05 * h
    ):
        return None
    return quad


def _table_segments(segs: np.ndarray, *, axis: int, extent: int) -> np.ndarray:
    """Segments that can be the table's rules: off the image border, near the main direction."""
    if len(segs) == 0:
        return segs
    mids = (segs[:, axis] + segs[:, axis + 2]) / 2
    margin = 0.01 * extent
    inside = (mids > margin) & (mids < extent - margin)
    if not inside.any():
        return segs[:0]
    angle = _angles_deg(segs, vertical=axis == 0)
    near = np.abs(angle - np.median(angle[inside])) < MAX_ANGLE_SPREAD_DEG
    # The table's outer rules are among its longest; an underline or a signature
    # stroke beyond the table is much shorter.
    lengths = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    long_enough = lengths >= FRAME_MIN_LENGTH_SHARE * lengths[inside & near].max(initial=0.0)
    kept: np.ndarray = segs[inside & near & long_enough]
    return kept


def _extreme_line(segs: np.ndarray, *, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Fit a line through the segments nearest each extreme along ``axis`` (1 = y, 0 = x)."""
    mids = (segs[:, axis] + segs[:, axis + 2]) / 2
    lengths = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    span = max(1.0, float(mids.max() - mids.min()))
    lines = []
    for pick in (mids <= mids.min() + 0.01 * span, mids >= mids.max() - 0.01 * span):
        chosen = segs[pick]
        weights = lengths[pick]
        best = chosen[np.argmax(weights)]
        lines.append(best)
    return lines[0], lines[1]


def _intersect(a: np.ndarray, b: np.ndarray) -> tuple[float, float] | None:
    x1, y1, x2, y2 = a
    x3, y3, x4, y4 = b
    den = (x1 - x2) * (y3 - y4) - (y1 - y2) * (x3 - x4)
    if abs(den) < 1e-9:
        return None
    t = ((x1 - x3) * (y3 - y4) - (y1 - y3) * (x3 - x4)) / den
    return (float(x1 + t * (x2 - x1)), float(y1 + t * (y2 - y1)))


def _is_keystoned(quad: np.ndarray) -> bool:
    """True when opposite edges are not parallel: a rotation cannot straighten it."""

    def edge_angle(p: np.ndarray, q: np.ndarray) -> float:
        return float(np.degrees(np.arctan2(q[1] - p[1], q[0] - p[0])))

    top = edge_angle(quad[0], quad[1])
    bottom = edge_angle(quad[3], quad[2])
    left = edge_angle(quad[0], quad[3]) - 90
    right = edge_angle(quad[1], quad[2]) - 90
    return max(abs(top - bottom), abs(left - right), abs(top - left)) > KEYSTONE_MIN_DEG


def warp_quad(gray: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Map the table's quad onto an upright rectangle, keeping the page around it."""
    tl, tr, br, bl = quad
    width = (np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
    height = (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    x0, y0 = float(tl[0]), float(tl[1])
    target = np.array(
        [[x0, y0], [x0 + width, y0], [x0 + width, y0 + height], [x0, y0 + height]], dtype=np.float32
    )
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    h, w = gray.shape
    out_w = max(w, int(x0 + width + 0.05 * w))
    out_h = max(h, int(y0 + height + 0.05 * h))
    return cv2.warpPerspective(
        gray,
        matrix,
        (out_w, out_h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )
