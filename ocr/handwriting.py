"""Handwritten digits in a value cell: segmentation, a small classifier, calibrated confidence.

Tesseract reads handwriting like type and fails (66 -> "bb", a written "0" -> blank).
This module reads a cell's ink as people write it: the ink is cut into digit
candidates (connected components, broken strokes merged, touching digits split where
the classifier is surest), each candidate is classified by a small network shipped
with the package (``ocr/models/digits.npz``, a numpy forward pass, no framework at run
time), separators ("." and ",") and dashes are read by shape, and the value's
confidence is mapped through a calibration table fitted on held-out writers, so 0.9
means right nine times in ten.

The classifier has an eleventh class, "not a digit" (dash, speck, rule fragment), so
a stray mark is not forced into a digit. ``handwriting_score`` says how much a cell's
ink looks handwritten rather than typed; the reader decides from it (or from
engines that disagree) when to ask this module.

Entry points: ``read_handwriting(crop_gray)``, ``handwriting_score(crop_gray,
crop_colour)``, ``load_digit_model(path)``. The model is trained by
``python -m bench train-digits`` and measured by ``python -m bench handwriting``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ocr.errors import EngineMissingError
from ocr.types import Box

MODEL_PATH = Path(__file__).with_name("models") / "digits.npz"
# Class labels in the model's output order; "?" is "not a digit".
CLASSES = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "?")
NOT_DIGIT = "?"
# Glyphs are normalised to this square: 8x8 (the resolution of the real handwriting we
# train on) loses the 1/7 and 4/9 details of pen digits; 16x16 keeps them at ~1 KB/glyph.
GLYPH_PX = 16
# The glyph's longer side fills this many pixels of the square, leaving a margin so
# that a slightly mis-cut candidate still fits (as MNIST's 20-in-28 does).
GLYPH_FILL_PX = 12
# Below this grey-level spread between paper and the darkest ink the crop is blank.
MIN_INK_CONTRAST = 40
# Components smaller than this share of the cell's largest component's area are
# specks (dust, JPEG noise) unless they sit on the baseline, where they are separators.
SPECK_AREA_FRACTION = 0.04
# A separator ("." or ",") is a blob at most this share of the digits' height tall...
SEPARATOR_MAX_HEIGHT_FRACTION = 0.35
# ...whose bottom lies in this lower share of the digits' band.
SEPARATOR_BASELINE_FRACTION = 0.35
# Two components overlapping in x by this share of the narrower one are one digit
# written in two strokes (a "4", a "5" whose bar was lifted).
MERGE_OVERLAP_FRACTION = 0.5
# A group wider than this multiple of its height is several touching digits: single
# handwritten digits have aspect 0.3-0.9, two touching ones 1.0 or more.
SPLIT_ASPECT = 1.05
# Narrow digits touching (a "1" leaning on a "6") can be less wide than SPLIT_ASPECT;
# a group of at least this aspect that the classifier calls no digit is tried split too.
SPLIT_MIN_ASPECT = 0.6
# ...and then only into parts this sure on average (geometric mean of probabilities).
NARROW_SPLIT_MIN_SCORE = 0.9
# Each part of a split is at least this share of the group's height: touching digits
# are of a height, and a cut that leaves a stroke end alone is a wrong cut.
SPLIT_PART_MIN_HEIGHT_FRACTION = 0.6
# A lone mark less tall than this share of the cell is a speck: digits fill about half
# of a cell's height (ocr/read.py measures specks the same way).
SPECK_MAX_CELL_FRACTION = 0.2
# Cut points are searched in the middle of each part, away from its edges, so a
# split never leaves a sliver.
SPLIT_MARGIN_FRACTION = 0.2
# A split must beat the unsplit reading's confidence by this factor: a wide "0" or
# "4" should stay one digit unless two digits are clearly more likely.
SPLIT_GAIN = 1.15
# A dash is flat: wider than this multiple of its height, and at most the separator
# height share of the digits (or of the cell, when it is alone).
DASH_MIN_ASPECT = 1.8
# Touching digits are split at most this many cuts deep (up to 2**2 = 4 digits in one
# group, the touching runs seen in clerks' writing); see ``_classify_split``.
MAX_SPLIT_DEPTH = 2
# Rows or columns of ink spanning this share of the crop are rule remnants.
RULE_SPAN_FRACTION = 0.85


@dataclass(frozen=True)
class DigitRead:
    """One character of a handwritten reading.

    ``prob`` is the classifier's probability for ``char`` (1 for shape-read separators
    and dashes); ``alternatives`` are the next most likely characters with theirs, so a
    reviewer is shown "1?7" and can pick the 4 of "4 (0.3)" in one keystroke.
    ``box`` is in the crop's pixels.
    """

    char: str
    prob: float
    alternatives: tuple[tuple[str, float], ...]
    box: Box


@dataclass(frozen=True)
class HandwrittenRead:
    """A cell read as handwriting: text, parsed whole-number value and its confidence.

    ``value`` is ``None`` when the ink holds no digit or a candidate is not a digit;
    a lone dash reads as 0 (the form's "none"). ``confidence`` is the calibrated
    probability that ``value`` is right, in [0, 1].
    """

    text: str
    value: int | None
    confidence: float
    digits: tuple[DigitRead, ...]


@dataclass(frozen=True)
class DigitModel:
    """The digit classifier: its kind, its weights, and the calibration of its scores.

    ``kind`` is ``"cnn"`` (two 3x3 convolution layers with max pooling, then two dense
    layers) or a two-layer perceptron over ``"pixels"`` or
    ``"pixels+orientation"`` features; all run as plain numpy. ``calib_x``/``calib_y``
    map a raw value score (the product of its digits' probabilities) to the measured
    probability of being right (isotonic fit on the validation writers); ``score_w``
    are the logistic weights of ``handwriting_score``.
    """

    kind: str
    weights: dict[str, np.ndarray]
    calib_x: np.ndarray
    calib_y: np.ndarray
    score_w: np.ndarray

    def predict_proba(self, glyphs: np.ndarray) -> np.ndarray:
        """Class probabilities (n, 11) for glyphs (n, GLYPH_PX, GLYPH_PX) of ink in [0, 1]."""
        w = self.weights
        if self.kind == "cnn":
            logits = _cnn_logits(glyphs.astype(np.float32), w)
        else:
            x = (glyph_features(glyphs, kind=self.kind) - w["mean"]) / w["scale"]
            hidden = np.maximum(x @ w["w1"] + w["b1"], 0.0)
            logits = hidden @ w["w2"] + w["b2"]
        logits = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def calibrate(self, raw: float) -> float:
        """Measured probability that a value with this raw score is right."""
        if self.calib_x.size == 0:
            return float(np.clip(raw, 0.0, 1.0))
        return float(np.clip(np.interp(raw, self.calib_x, self.calib_y), 0.0, 1.0))


def _conv_relu_pool(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """3x3 convolution (padding 1), ReLU, 2x2 max pooling; x is (n, c, h, w)."""
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))
    columns = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * w, c * 9)
    out = columns @ weight.reshape(len(weight), -1).T + bias
    out = np.maximum(out, 0.0).reshape(n, h, w, -1).transpose(0, 3, 1, 2)
    return np.asarray(out.reshape(n, -1, h // 2, 2, w // 2, 2).max(axis=(3, 5)))


def _cnn_logits(glyphs: np.ndarray, w: dict[str, np.ndarray]) -> np.ndarray:
    x = _conv_relu_pool(glyphs[:, None], w["conv1_w"], w["conv1_b"])
    x = _conv_relu_pool(x, w["conv2_w"], w["conv2_b"])
    hidden = np.maximum(x.reshape(len(x), -1) @ w["fc1_w"].T + w["fc1_b"], 0.0)
    return np.asarray(hidden @ w["fc2_w"].T + w["fc2_b"])


def load_digit_model(path: Path | None = None) -> DigitModel:
    """Load the shipped (or a given) model file; a missing file is a broken installation."""
    return _load_cached(str(path or MODEL_PATH))


_CALIBRATION_KEYS = ("calib_x", "calib_y", "score_w", "meta")


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> DigitModel:
    if not Path(path).is_file():
        raise EngineMissingError(
            f"The handwritten-digit model {Path(path).name} is missing.",
            fix="Reinstall formscan, or train the model: python -m bench train-digits.",
        )
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        arrays = {k: data[k].astype(np.float32) for k in data.files if k != "meta"}
    empty = np.zeros(0, np.float32)
    return DigitModel(
        kind=str(meta["features"]),
        weights={k: v for k, v in arrays.items() if k not in _CALIBRATION_KEYS},
        calib_x=arrays.get("calib_x", empty),
        calib_y=arrays.get("calib_y", empty),
        score_w=arrays.get("score_w", empty),
    )


# Features


def glyph_features(glyphs: np.ndarray, *, kind: str) -> np.ndarray:
    """Feature rows for glyphs: raw pixels, or pixels plus gradient-orientation histograms.

    The histograms (4x4 cells of 4x4 px, 8 unsigned orientations) describe stroke
    direction, which separates 1/7 and 4/9 better than ink position alone and is
    insensitive to pen width.
    """
    flat = glyphs.reshape(len(glyphs), -1).astype(np.float32)
    if kind == "pixels":
        return flat
    return np.hstack([flat, _orientation_histograms(glyphs.astype(np.float32))])


def _orientation_histograms(glyphs: np.ndarray, *, cell_px: int = 4, bins: int = 8) -> np.ndarray:
    gy, gx = np.gradient(glyphs, axis=(1, 2))
    magnitude = np.hypot(gx, gy)
    angle = np.mod(np.arctan2(gy, gx), np.pi)
    index = np.minimum((angle / np.pi * bins).astype(np.int64), bins - 1)
    n, h, w = glyphs.shape
    one_hot = np.zeros((n, h, w, bins), np.float32)
    np.put_along_axis(one_hot, index[..., None], magnitude[..., None], axis=3)
    cells = one_hot.reshape(n, h // cell_px, cell_px, w // cell_px, cell_px, bins).sum(axis=(2, 4))
    cells = cells.reshape(n, -1)
    return np.asarray(cells / (np.linalg.norm(cells, axis=1, keepdims=True) + 1e-6))


# Ink


def ink_map(crop_gray: np.ndarray) -> np.ndarray:
    """Ink darkness in [0, 1] (1 = darkest ink), relative to this crop's paper and ink.

    Relative levels make blue ink on a grey scan and black print look alike to the
    classifier; a crop without contrast is all zero.
    """
    gray = crop_gray.astype(np.float32)
    paper = float(np.percentile(gray, 90))
    darkest = float(gray.min())
    if paper - darkest < MIN_INK_CONTRAST:
        return np.zeros_like(gray)
    return np.asarray(np.clip((paper - gray) / (paper - darkest), 0.0, 1.0))


def ink_mask(crop_gray: np.ndarray) -> np.ndarray:
    """Binary ink (uint8 0/1) by Otsu on the ink map, with rule remnants removed."""
    ink = ink_map(crop_gray)
    if not ink.any():
        return np.zeros(crop_gray.shape, np.uint8)
    scaled = (ink * 255).astype(np.uint8)
    _, mask = cv2.threshold(scaled, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return _drop_rules(mask)


def _drop_rules(mask: np.ndarray) -> np.ndarray:
    """Clear rows and columns that are mostly ink: table rules left at a crop's border."""
    out = mask.copy()
    h, w = mask.shape
    out[mask.sum(axis=1) >= RULE_SPAN_FRACTION * w, :] = 0
    out[:, mask.sum(axis=0) >= RULE_SPAN_FRACTION * h] = 0
    return out


def normalize_glyph(ink: np.ndarray) -> np.ndarray:
    """Scale a glyph's ink (its bounding box) into the GLYPH_PX square, centred.

    Aspect is kept, so a "1" stays thin and a dash stays flat: squashing them to a
    square would make a dash look like a "0".
    """
    ys, xs = np.nonzero(ink > 0.2)
    out = np.zeros((GLYPH_PX, GLYPH_PX), np.float32)
    if ys.size == 0:
        return out
    part = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32)
    h, w = part.shape
    factor = GLYPH_FILL_PX / max(h, w)
    nh, nw = max(1, round(h * factor)), max(1, round(w * factor))
    resized = cv2.resize(part, (nw, nh), interpolation=cv2.INTER_AREA)
    top, left = (GLYPH_PX - nh) // 2, (GLYPH_PX - nw) // 2
    out[top : top + nh, left : left + nw] = resized
    return np.asarray(np.clip(out / max(float(out.max()), 1e-6), 0.0, 1.0))


# Segmentation


@dataclass(frozen=True)
class _Group:
    """Ink components taken as one character candidate; coordinates in crop pixels."""

    x0: int
    y0: int
    x1: int  # exclusive
    y1: int  # exclusive
    area: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def union(self, other: _Group) -> _Group:
        return _Group(
            min(self.x0, other.x0),
            min(self.y0, other.y0),
            max(self.x1, other.x1),
            max(self.y1, other.y1),
            self.area + other.area,
        )

    def x_overlap(self, other: _Group) -> float:
        """Shared x extent as a share of the narrower group's width."""
        shared = min(self.x1, other.x1) - max(self.x0, other.x0)
        return shared / max(1, min(self.width, other.width))

    def box(self) -> Box:
        return Box(self.x0, self.y0, self.width, self.height)


def find_groups(mask: np.ndarray) -> list[_Group]:
    """Connected components merged when they overlap in x (broken strokes), left to right."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    comps = [_Group(int(x), int(y), int(x + w), int(y + h), int(a)) for x, y, w, h, a in stats[1:n]]
    if not comps:
        return []
    largest = max(c.area for c in comps)
    # Dust far below a separator's size never takes part in merging.
    comps = sorted(
        (c for c in comps if c.area >= 0.25 * SPECK_AREA_FRACTION * largest), key=lambda c: c.x0
    )
    groups: list[_Group] = []
    for comp in comps:
        if groups and groups[-1].x_overlap(comp) >= MERGE_OVERLAP_FRACTION:
            groups[-1] = groups[-1].union(comp)
        else:
            groups.append(comp)
    return groups


def read_handwriting(crop_gray: np.ndarray, *, model: DigitModel | None = None) -> HandwrittenRead:
    """Read a cell's handwritten number: digits, separators and dashes, with confidence.

    ``crop_gray`` is the cell's grayscale crop (dark ink on light paper, rule remnants
    at its borders allowed). An empty crop reads as text "" and value ``None``.
    """
    model = model or load_digit_model()
    ink = ink_map(crop_gray)
    groups = find_groups(ink_mask(crop_gray))
    if not groups:
        return HandwrittenRead("", None, 0.0, ())
    largest = max(g.area for g in groups)
    big = [g for g in groups if g.area >= SPECK_AREA_FRACTION * largest]
    band_top = int(np.median([g.y0 for g in big]))
    band_bottom = int(np.median([g.y1 for g in big]))
    band_h = max(1, band_bottom - band_top)
    reads: list[DigitRead] = []
    for group in groups:
        reads += _read_group(
            group,
            ink,
            model,
            band_bottom=band_bottom,
            band_h=band_h,
            is_alone=len(big) == 1,
            crop_h=crop_gray.shape[0],
        )
    return _assemble(reads, model)


def _read_group(
    group: _Group,
    ink: np.ndarray,
    model: DigitModel,
    *,
    band_bottom: int,
    band_h: int,
    is_alone: bool,
    crop_h: int,
) -> list[DigitRead]:
    """Shape rules first (dash, separator, speck), then the classifier (with splitting)."""
    aspect = group.width / max(1, group.height)
    is_flat = group.height <= SEPARATOR_MAX_HEIGHT_FRACTION * (crop_h if is_alone else band_h)
    if aspect >= DASH_MIN_ASPECT and is_flat:
        return [DigitRead("-", 1.0, (), group.box())]
    if is_alone and group.height < SPECK_MAX_CELL_FRACTION * crop_h:
        return [DigitRead(NOT_DIGIT, 1.0, (), group.box())]  # a lone speck
    if group.height <= SEPARATOR_MAX_HEIGHT_FRACTION * band_h and not is_alone:
        if group.y1 >= band_bottom - SEPARATOR_BASELINE_FRACTION * band_h:
            char = "," if group.height > 1.6 * group.width else "."
            return [DigitRead(char, 1.0, (), group.box())]
        return []  # a speck above the baseline
    return _classify_split(group, ink, model)


def _classify_split(
    group: _Group, ink: np.ndarray, model: DigitModel, *, is_part: bool = False, depth: int = 0
) -> list[DigitRead]:
    """Classify a group; when it is wide, try cuts and keep the surest reading.

    A narrow group is tried split only as found, never as the part of a cut: a part
    already is about one digit wide, and cutting it again makes two digits of one.
    Cuts nest at most ``MAX_SPLIT_DEPTH`` deep: each level tries every candidate cut
    on both parts, so the work grows eightfold a level, and a long smear on a phone
    photo (a shadow, a stroke along the cell) took minutes unbounded.
    """
    whole = _classify(group, ink, model)
    is_wide = group.width > SPLIT_ASPECT * group.height
    if depth >= MAX_SPLIT_DEPTH or (
        not is_wide
        and (is_part or whole.char != NOT_DIGIT or group.width <= SPLIT_MIN_ASPECT * group.height)
    ):
        return [whole]
    best: list[DigitRead] = [whole]
    # A wide mark that is no digit is most likely digits touching: any split beats it;
    # a narrow one only splits into digits the classifier is sure of.
    if whole.char == NOT_DIGIT:
        best_score = 0.0 if is_wide else NARROW_SPLIT_MIN_SCORE
    else:
        best_score = whole.prob * SPLIT_GAIN
    for cut in _cut_candidates(group, ink):
        left, right = _part(group, ink, group.x0, cut), _part(group, ink, cut, group.x1)
        if left is None or right is None:
            continue
        parts = _classify_split(left, ink, model, is_part=True, depth=depth + 1) + _classify_split(
            right, ink, model, is_part=True, depth=depth + 1
        )
        score = float(np.prod([_digit_score(p) for p in parts])) ** (1.0 / len(parts))
        if score > best_score:
            best, best_score = parts, score
    return best


def _digit_score(read: DigitRead) -> float:
    """How much a split part looks like a digit: a cut leaving a non-digit is unlikely."""
    return read.prob if read.char != NOT_DIGIT else 1.0 - read.prob


def _cut_candidates(group: _Group, ink: np.ndarray, *, count: int = 4) -> list[int]:
    """Columns of least ink in the group's middle: where touching digits meet."""
    sub = ink[group.y0 : group.y1, group.x0 : group.x1]
    projection = sub.sum(axis=0)
    margin = max(1, int(SPLIT_MARGIN_FRACTION * group.height))
    inner = np.arange(margin, group.width - margin)
    if inner.size == 0:
        return []
    order = inner[np.argsort(projection[inner], kind="stable")]
    picked: list[int] = []
    for col in order:
        if all(abs(int(col) - p) > margin for p in picked):
            picked.append(int(col))
        if len(picked) == count:
            break
    return [group.x0 + c for c in picked]


def _part(group: _Group, ink: np.ndarray, x0: int, x1: int) -> _Group | None:
    """The ink of a column range of a group, trimmed to its own rows."""
    sub = ink[group.y0 : group.y1, x0:x1] > 0.2
    rows = np.nonzero(sub.any(axis=1))[0]
    if rows.size == 0 or x1 - x0 < 2:
        return None
    if rows[-1] - rows[0] + 1 < SPLIT_PART_MIN_HEIGHT_FRACTION * group.height:
        return None  # a sliver of the neighbour's stroke, not a digit
    return _Group(x0, group.y0 + int(rows[0]), x1, group.y0 + int(rows[-1]) + 1, int(sub.sum()))


def _classify(group: _Group, ink: np.ndarray, model: DigitModel) -> DigitRead:
    glyph = normalize_glyph(ink[group.y0 : group.y1, group.x0 : group.x1])
    probs = model.predict_proba(glyph[None])[0]
    order = np.argsort(-probs)
    alternatives = tuple(
        (CLASSES[i], round(float(probs[i]), 4)) for i in order[1:4] if probs[i] >= 0.01
    )
    return DigitRead(CLASSES[order[0]], float(probs[order[0]]), alternatives, group.box())


def _assemble(reads: list[DigitRead], model: DigitModel) -> HandwrittenRead:
    """Text, value and calibrated confidence from the characters, left to right."""
    while reads and reads[0].char in ".,":
        reads = reads[1:]
    while reads and reads[-1].char in ".,":
        reads = reads[:-1]
    text = "".join(r.char for r in reads)
    digits = [r for r in reads if r.char.isdigit()]
    if not reads:
        return HandwrittenRead("", None, 0.0, ())
    if NOT_DIGIT in text or (digits and "-" in text):
        return HandwrittenRead(text, None, 0.0, tuple(reads))
    if not digits:  # dashes only: the form's "none"
        return HandwrittenRead(text, 0, model.calibrate(1.0), tuple(reads))
    raw = float(np.prod([r.prob for r in digits]))
    value = int("".join(r.char for r in digits))
    return HandwrittenRead(text, value, model.calibrate(raw), tuple(reads))


def review_text(read: HandwrittenRead, *, min_prob: float = 0.8) -> str:
    """The reading with doubtful digits shown as "?" ("1?7"), for the review queue."""
    return "".join(r.char if r.prob >= min_prob else "?" for r in read.digits)


# Is the cell handwritten?

SCORE_FEATURES = (
    "stroke_width_cv",
    "blueness",
    "slant",
    "baseline_spread",
    "height_spread",
    "darkness_spread",
)


def handwriting_features(crop_gray: np.ndarray, crop_colour: np.ndarray | None) -> np.ndarray:
    """Cues that set pen ink apart from print, in SCORE_FEATURES order.

    Print has one stroke width, neutral black ink, upright glyphs on one baseline and
    even darkness; a pen varies in all of these. ``crop_colour`` is BGR (OpenCV's order).
    """
    mask = ink_mask(crop_gray)
    if mask.sum() < 4:
        return np.zeros(len(SCORE_FEATURES), np.float32)
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    ridge = (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8))) & (mask > 0)
    widths = dist[ridge]
    width_cv = float(widths.std() / max(widths.mean(), 1e-6))
    groups = [g for g in find_groups(mask) if g.height >= 3]
    heights = np.array([g.height for g in groups] or [1], np.float32)
    bottoms = np.array([g.y1 for g in groups] or [0], np.float32)
    ink = ink_map(crop_gray)[mask > 0]
    return np.array(
        [
            width_cv,
            _blueness(crop_colour, mask),
            _slant(mask),
            float(bottoms.std() / max(np.median(heights), 1.0)),
            float(heights.std() / max(heights.mean(), 1.0)),
            float(ink.std()),
        ],
        np.float32,
    )


def _blueness(crop_colour: np.ndarray | None, mask: np.ndarray) -> float:
    if crop_colour is None or crop_colour.ndim != 3:
        return 0.0
    pixels = crop_colour[mask > 0].astype(np.float32)
    blue, green, red = pixels[:, 0], pixels[:, 1], pixels[:, 2]
    return float(np.mean(blue - (red + green) / 2.0) / 255.0)


def _slant(mask: np.ndarray) -> float:
    """Absolute shear of the ink (x shift per unit of height), from its second moments."""
    moments = cv2.moments(mask, binaryImage=True)
    if moments["mu02"] <= 0:
        return 0.0
    return float(abs(moments["mu11"] / moments["mu02"]))


def handwriting_score(
    crop_gray: np.ndarray, crop_colour: np.ndarray | None = None, *, model: DigitModel | None = None
) -> float:
    """Probability-like score in [0, 1] that a cell's ink was written by hand.

    A logistic model over ``handwriting_features``, fitted by ``bench train-digits`` on
    typed cells against cells of training writers and fonts, with its own weights for
    grayscale crops (no ink colour); a blank crop scores 0.
    """
    model = model or load_digit_model()
    features = handwriting_features(crop_gray, crop_colour)
    weights = np.atleast_2d(model.score_w)
    if not features.any() or weights.shape[1] != len(SCORE_FEATURES) + 1:
        return 0.0
    row = weights[0] if crop_colour is not None or len(weights) == 1 else weights[1]
    z = float(row[0] + features @ row[1:])
    return float(1.0 / (1.0 + np.exp(-z)))
