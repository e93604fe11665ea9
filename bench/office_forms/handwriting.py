"""Numbers written by real people: scikit-learn's handwritten digits, inked into cells.

``sklearn.datasets.load_digits`` holds 1,797 digits written by 43 people (8x8 cells,
17 grey levels). Only the held-out block ``HELD_OUT`` is used here: indices 0-1437
train formscan's handwriting classifier, and a benchmark that showed it its own
training digits would measure memory, not reading.

A digit is upsampled smoothly (bicubic), thresholded into a stroke and thickened or
thinned a little, then numbers are composed digit by digit with the spacing, slant and
baseline wobble of a hand, and laid into a cell box in a pen's blue or black.
"""

from __future__ import annotations

import random
from functools import lru_cache

import cv2
import numpy as np
from skimage.morphology import skeletonize

# The held-out digits: the last 359 of the 1,797 (indices 1438..1796 inclusive).
HELD_OUT = range(1438, 1797)
# A digit's glyph height in pixels before it is scaled to the cell (8 px -> ~40 px).
GLYPH_PX = 40
# Grey level (0-1) above which an upsampled pixel is ink: the 8x8 cells are blurry.
STROKE_THRESHOLD = 0.38
# Pen widths (radius in px of the ~40 px glyph): a fine, a ballpoint and a felt pen.
PEN_RADII_PX = (1, 2, 2, 3)
# Handwritten digits are 3-5 mm tall whatever the type size, up to most of the cell.
DIGIT_HEIGHT_MM = (3.0, 4.8)
MAX_HEIGHT_SHARE = 0.9
# Pen colours (RGB) a clerk uses.
PEN_RGB = {"blue": (30, 50, 170), "black": (25, 25, 30)}


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.images.astype(np.float32) / 16.0, data.target.astype(int)


def held_out_indices(digit: int) -> list[int]:
    """The held-out samples of one digit class."""
    _, target = _digits()
    return [i for i in HELD_OUT if target[i] == digit]


def glyph(index: int, rng: random.Random) -> np.ndarray:
    """Digit ``index`` as an ink mask (float 0-1), ~``GLYPH_PX`` tall, cropped to its ink."""
    if index not in HELD_OUT:
        raise ValueError(f"digit {index} is not in the held-out block {HELD_OUT}")
    images, _ = _digits()
    big = cv2.resize(images[index], (GLYPH_PX, GLYPH_PX), interpolation=cv2.INTER_CUBIC)
    big = cv2.GaussianBlur(big, (0, 0), 1.2)
    # The 8x8 strokes are a quarter of the digit's height; a pen's are a tenth. Thin
    # the shape to its centre line and draw it again with a pen's width.
    centre = skeletonize(big > STROKE_THRESHOLD).astype(np.uint8)
    radius = rng.choice(PEN_RADII_PX)
    pen = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    mask = cv2.dilate(centre, pen)
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.8)
    ys, xs = np.nonzero(soft > 0.1)
    if len(xs) == 0:
        return soft
    return soft[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _stroke(length_px: int, rng: random.Random, *, angle_deg: float) -> np.ndarray:
    """A pen stroke (for a dash or an 'x'), anti-aliased, on its own canvas."""
    size = length_px + 8
    canvas = np.zeros((size, size), np.float32)
    centre = size / 2
    dx = np.cos(np.radians(angle_deg)) * length_px / 2
    dy = np.sin(np.radians(angle_deg)) * length_px / 2
    p0 = (int(centre - dx), int(centre - dy + rng.uniform(-1, 1)))
    p1 = (int(centre + dx), int(centre + dy + rng.uniform(-1, 1)))
    cv2.line(canvas, p0, p1, 1.0, thickness=rng.choice((3, 4, 5)), lineType=cv2.LINE_AA)
    ys, xs = np.nonzero(canvas > 0.1)
    return canvas[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _symbol(char: str, rng: random.Random, used: list[int]) -> tuple[np.ndarray, str]:
    """One written symbol and how it sits: 'full' height, 'low' (a dot) or 'mid' (a dash)."""
    if char.isdigit():
        index = rng.choice(held_out_indices(int(char)))
        used.append(index)
        return glyph(index, rng), "full"
    if char in ".,":
        dot = np.zeros((9, 9), np.float32)
        cv2.circle(dot, (4, 4), 3, 1.0, -1, lineType=cv2.LINE_AA)
        return dot, "low"
    if char in "-–—":
        return _stroke(
            int(GLYPH_PX * rng.uniform(0.5, 0.9)), rng, angle_deg=rng.uniform(-8, 4)
        ), "mid"
    if char == "x":
        a = _stroke(int(GLYPH_PX * 0.6), rng, angle_deg=45 + rng.uniform(-8, 8))
        b = _stroke(int(GLYPH_PX * 0.6), rng, angle_deg=-45 + rng.uniform(-8, 8))
        h, w = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])
        both = np.zeros((h, w), np.float32)
        both[: a.shape[0], : a.shape[1]] = a
        both[: b.shape[0], : b.shape[1]] = np.maximum(both[: b.shape[0], : b.shape[1]], b)
        return both, "mid"
    raise ValueError(f"cannot write {char!r} by hand")


def compose(text: str, rng: random.Random, used: list[int]) -> np.ndarray:
    """A written number as one ink mask: digits side by side, slanted, baselines wobbling.

    ``used`` collects the dataset indices drawn, so the truth file can prove they are
    all held out.
    """
    symbols = [_symbol(c, rng, used) for c in text if not c.isspace()]
    height = GLYPH_PX + 10
    gap = rng.randint(2, 8)
    width = sum(s.shape[1] for s, _ in symbols) + gap * (len(symbols) + 1) + 20
    canvas = np.zeros((height + 12, width), np.float32)
    x = gap + 10
    for mask, place in symbols:
        h, w = mask.shape
        if place == "full":
            top = 6 + rng.randint(-3, 3)
        elif place == "low":
            top = 6 + GLYPH_PX - h
        else:
            top = 6 + (GLYPH_PX - h) // 2 + rng.randint(-2, 2)
        top = max(0, min(canvas.shape[0] - h, top))
        region = canvas[top : top + h, x : x + w]
        canvas[top : top + h, x : x + w] = np.maximum(region, mask[:, : region.shape[1]])
        x += w + gap + rng.randint(-2, 3)
    shear = rng.uniform(-0.25, 0.1)  # most hands lean right
    matrix = np.array([[1, shear, -shear * canvas.shape[0] / 2], [0, 1, 0]], np.float32)
    slanted = cv2.warpAffine(canvas, matrix, (canvas.shape[1], canvas.shape[0]))
    ys, xs = np.nonzero(slanted > 0.05)
    return slanted[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def ink_into(
    page: np.ndarray,
    mask: np.ndarray,
    box_px: tuple[int, int, int, int],
    rng: random.Random,
    *,
    pen: str,
    dpi: int,
) -> None:
    """Lay ``mask`` into ``box_px`` (x0, y0, x1, y1) of an RGB ``page`` at ``dpi``, in place.

    The number is scaled to a hand's height (capped by the cell's), kept inside the cell's width,
    and placed with a little freedom, as people do not centre exactly.
    """
    x0, y0, x1, y1 = box_px
    cell_w, cell_h = x1 - x0, y1 - y0
    wanted_h = rng.uniform(*DIGIT_HEIGHT_MM) / 25.4 * dpi
    target_h = max(6, int(min(wanted_h, cell_h * MAX_HEIGHT_SHARE)))
    scale = target_h / mask.shape[0]
    if mask.shape[1] * scale > cell_w * 0.9:
        scale = cell_w * 0.9 / mask.shape[1]
    size = (max(1, int(mask.shape[1] * scale)), max(1, int(mask.shape[0] * scale)))
    scaled = cv2.resize(mask, size, interpolation=cv2.INTER_AREA)
    h, w = scaled.shape
    left = x0 + max(1, int((cell_w - w) * rng.uniform(0.25, 0.75)))
    top = y0 + max(1, int((cell_h - h) * rng.uniform(0.3, 0.7)))
    region = page[top : top + h, left : left + w].astype(np.float32)
    alpha = scaled[: region.shape[0], : region.shape[1], None] * rng.uniform(0.85, 1.0)
    colour = np.array(PEN_RGB[pen], np.float32)
    page[top : top + h, left : left + w] = (region * (1 - alpha) + colour * alpha).astype(np.uint8)
