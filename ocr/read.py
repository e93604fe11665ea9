"""Read the numbers in value cells: find the ink, read it, parse it, say how sure we are.

A cell is first cleaned of the rules around it and judged blank or not from its ink
alone (blank means "not reported", so it must never come from a failed OCR). Cells
with ink are normalised to one text height and read together in one Tesseract call
per page (``ocr.mosaic``). A number struck through with a correction beside it is
read as the correction and flagged; a struck number alone is unreadable.

``Reader`` is the seam between stages and engines: ``TesseractReader`` reads scans,
``TextLayerReader`` reads a born-digital PDF's text with full confidence, and tests
may pass any object with the same method.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import cv2
import numpy as np

from ocr.confidence import (
    BLANK,
    DASH,
    LONE_STROKE,
    READS_AGREE,
    READS_MAJORITY,
    READS_SPLIT,
    TEXT_LAYER,
    UNPARSED,
    Evidence,
    probability,
)
from ocr.mosaic import build_mosaic, words_by_band
from ocr.numbers import parse_number
from ocr.tesseract import DIGITS_LANG, ocr_words
from ocr.types import Box, CellText, Grid, Page, Word

# Characters a value cell may hold. Without the whitelist Tesseract reads a lone "0"
# as "0)" and a "1" as "|"; "x" (meaning none) is recognised by shape instead.
DIGIT_WHITELIST = "0123456789.,-"
# Crops are scaled so the ink is this tall: Tesseract's LSTM reads best at ~30 px text.
TARGET_INK_HEIGHT_PX = 30
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
# A page whose cells the first look reads with at least this median confidence is
# "clear" (crisp type); below, "hard" (handwriting, blur, noise).
CLEAR_PAGE_MIN_CONFIDENCE = 0.985
# A lone upright stroke at least this many times taller than wide reads as "1".
BAR_MIN_ASPECT = 2.0
# A dash ("none") is at most this share of a one-line row tall (digits are ~half).
DASH_MAX_HEIGHT_SHARE = 0.2


class Reader(Protocol):
    """Reads the value cells of one page: one CellText per box, in order."""

    def read_cells(self, page: Page, boxes: Sequence[Box], *, grid: Grid) -> list[CellText]: ...


@dataclass(frozen=True)
class Ink:
    """The cleaned ink of one cell, ready for OCR."""

    crop: np.ndarray  # grayscale, text dark on white, tight around the ink
    is_dash: bool
    is_x: bool
    is_bar: bool  # a single upright stroke: in a number cell, a "1"
    struck: str  # "" | "corrected" (struck number dropped) | "only" (nothing but struck)


@dataclass(frozen=True)
class Look:
    """One way of showing the cells to Tesseract: a text height, a stroke weight, a charset."""

    height_px: int
    bolder: bool
    whitelist: str | None


# Three looks, so that one look's mistake is outvoted rather than merely noticed. The
# free look sees a "đ" or a stray mark for what it is; the digits-only looks cannot
# misread a "0" as "C"; the bold, larger one sees thin or broken strokes better.
LOOKS = (
    Look(height_px=30, bolder=False, whitelist=None),
    Look(height_px=30, bolder=False, whitelist="0123456789.,-"),
    Look(height_px=42, bolder=True, whitelist="0123456789.,-"),
)


class TesseractReader:
    """Reads scanned cells with Tesseract: each look is one mosaic call per page.

    The looks vote on the value; how many agree, and how sure the agreeing ones were,
    is the evidence behind the confidence (``ocr.confidence``).
    """

    def read_cells(self, page: Page, boxes: Sequence[Box], *, grid: Grid) -> list[CellText]:
        row_px = grid.typical_row_px
        inks = [find_ink(page.image, box, rule_px=grid.rule_px, row_px=row_px) for box in boxes]
        to_ocr = [i for i, ink in enumerate(inks) if isinstance(ink, Ink) and _needs_ocr(ink)]
        crops = [inks[i].crop for i in to_ocr]  # type: ignore[union-attr]
        per_look = [
            _ocr_crops([_shown(c, look) for c in crops], whitelist=look.whitelist) for look in LOOKS
        ]
        reads = {i: [looked[n] for looked in per_look] for n, i in enumerate(to_ocr)}
        cells = [_cell_text(ink, reads.get(i, [])) for i, ink in enumerate(inks)]
        return _with_page_clarity(cells, per_look[0] if per_look else [])


def _with_page_clarity(
    cells: list[CellText], first_look: list[tuple[str, float]]
) -> list[CellText]:
    """Refine the evidence of voted cells by how clearly the page reads as a whole.

    The same vote means more on a crisp typed scan, where Tesseract is sure of almost
    every digit, than on handwriting or a blurred photo; the median confidence of the
    first look over the page's cells tells the two apart, and calibration learns one
    curve for each (``reads_agree/clear``, ``reads_agree/hard``…).
    """
    scores = [conf for text, conf in first_look if any(ch.isdigit() for ch in text)]
    if not scores:
        return cells
    clarity = "clear" if float(np.median(scores)) >= CLEAR_PAGE_MIN_CONFIDENCE else "hard"
    voted = (READS_AGREE, READS_MAJORITY, READS_SPLIT)
    return [
        _with_evidence(cell, Evidence(f"{cell.bucket}/{clarity}", cell.score))
        if cell.bucket in voted
        else cell
        for cell in cells
    ]


def _shown(crop: np.ndarray, look: Look) -> np.ndarray:
    scaled = _scaled(crop, look.height_px)
    return _bolder(scaled) if look.bolder else scaled


class TextLayerReader:
    """Reads cells from a born-digital PDF's text layer: exact text, full confidence."""

    def read_cells(self, page: Page, boxes: Sequence[Box], *, grid: Grid) -> list[CellText]:
        words = page.words or ()
        return [_text_layer_cell(words_in_box(words, box)) for box in boxes]


def words_in_box(words: Sequence[Word], box: Box) -> list[Word]:
    """Words whose centre lies in the box, in reading order (lines top down, then x)."""
    inside = [
        w
        for w in words
        if box.contains_point(w.box.x + w.box.width / 2, w.box.y + w.box.height / 2)
    ]
    inside.sort(key=lambda w: w.box.y + w.box.height / 2)
    lines: list[list[Word]] = []
    for word in inside:
        centre = word.box.y + word.box.height / 2
        if lines:
            last = lines[-1][-1]
            if abs(centre - (last.box.y + last.box.height / 2)) < 0.5 * last.box.height:
                lines[-1].append(word)
                continue
        lines.append([word])
    return [w for line in lines for w in sorted(line, key=lambda w: w.box.x)]


def _text_layer_cell(words: list[Word]) -> CellText:
    text = " ".join(w.text for w in words)
    parsed = parse_number(text)
    score = 1.0 if parsed.is_valid else 0.0
    return CellText(
        text=text,
        value=parsed.value,
        confidence=score,
        reasons=tuple(parsed.reasons),
        has_ink=not parsed.is_blank,
        bucket=TEXT_LAYER,
        score=score,
    )


def _needs_ocr(ink: Ink) -> bool:
    return not (ink.is_dash or ink.is_x) and ink.struck != "only"


def _cell_text(ink: Ink | Blank, reads: list[tuple[str, float]]) -> CellText:
    if isinstance(ink, Blank):
        return _with_evidence(
            CellText(text="", value=None, confidence=0.0, has_ink=False),
            Evidence(BLANK, ink.score),
        )
    if ink.is_dash or ink.is_x:
        text = "-" if ink.is_dash else "x"
        return _with_evidence(CellText(text=text, value=0, confidence=0.0), Evidence(DASH, 1.0))
    if ink.struck == "only":
        return CellText(
            text="", value=None, confidence=0.0, reasons=("struck_through",), bucket=UNPARSED
        )
    return _vote(ink, reads)


def _vote(ink: Ink, reads: list[tuple[str, float]]) -> CellText:
    """The value most looks agree on, with the evidence of how many did and how surely.

    Ties go to the earlier look (the free one first). A lone upright stroke that no
    look could read is a "1": Tesseract drops such slivers as noise.
    """
    parsed = [parse_number(text) for text, _ in reads]
    votes: dict[int, list[int]] = {}
    for n, p in enumerate(parsed):
        if p.is_valid and not p.is_blank and p.value is not None:
            votes.setdefault(p.value, []).append(n)
    reasons: list[str] = ["corrected_on_paper"] if ink.struck == "corrected" else []
    if not votes and ink.is_bar:
        cell = CellText(text="1", value=1, confidence=0.0, reasons=tuple(reasons))
        return _with_evidence(cell, Evidence(LONE_STROKE, 1.0))
    if not votes:
        first = parsed[0].reasons if parsed else ()
        text = next((t for t, _ in reads if t), "")
        return CellText(
            text=text,
            value=None,
            confidence=0.0,
            reasons=tuple(dict.fromkeys([*reasons, *first, "unreadable"])),
            bucket=UNPARSED,
        )
    value, voters = max(votes.items(), key=lambda kv: (len(kv[1]), -kv[1][0]))
    if ink.is_bar and value == 1:
        # The shape of a lone upright stroke stands in for a look that dropped it.
        voters = list(range(len(reads))) if len(votes) == 1 else voters
    reasons += parsed[voters[0]].reasons
    if len(voters) < len(reads):
        reasons.append("reads_disagree")
    bucket = (
        READS_AGREE
        if len(voters) == len(reads)
        else READS_MAJORITY
        if 2 * len(voters) > len(reads)
        else READS_SPLIT
    )
    score = max(reads[n][1] for n in voters)
    cell = CellText(text=reads[voters[0]][0], value=value, confidence=0.0, reasons=tuple(reasons))
    return _with_evidence(cell, Evidence(bucket, score))


def _with_evidence(cell: CellText, evidence: Evidence) -> CellText:
    return replace(
        cell, confidence=probability(evidence), bucket=evidence.bucket, score=evidence.score
    )


def _ocr_crops(crops: list[np.ndarray], *, whitelist: str | None) -> list[tuple[str, float]]:
    """Read all crops in one Tesseract call; per crop its text and the weakest digit's confidence.

    The confidence is taken over digits only: a doubtful thousands separator does
    not change the number, a doubtful digit does.
    """
    if not crops:
        return []
    mosaic = build_mosaic(crops)
    words = ocr_words(mosaic.image, lang=DIGITS_LANG, psm=6, whitelist=whitelist)
    result = []
    for band in words_by_band(mosaic, words):
        text = " ".join(w.text for w in band)
        result.append((text, _digit_confidence(band)))
    return result


def _digit_confidence(words: Sequence[Word]) -> float:
    """The lowest confidence among the characters that carry value (digits)."""
    confs = [
        c for w in words for ch, c in zip(w.text, w.char_confidences, strict=False) if ch.isdigit()
    ]
    if confs:
        return min(confs)
    return min((w.confidence for w in words), default=0.0)


def _scaled(crop: np.ndarray, height_px: int) -> np.ndarray:
    """Scale to a text height and pad narrow crops to at least a square.

    A lone "1" is a sliver a few pixels wide; Tesseract drops such slivers as noise
    unless they sit in a box of normal proportions.
    """
    h = crop.shape[0]
    factor = height_px / max(1, h)
    if not 0.8 < factor < 1.25:
        interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
        size = (max(1, round(crop.shape[1] * factor)), max(1, round(h * factor)))
        crop = cv2.resize(crop, size, interpolation=interp)
    h, w = crop.shape
    if w < h:
        left = (h - w) // 2
        crop = cv2.copyMakeBorder(crop, 0, 0, left, h - w - left, cv2.BORDER_CONSTANT, value=255)
    return crop


def _bolder(crop: np.ndarray) -> np.ndarray:
    """Thicker strokes (a grey-level erosion of the white background)."""
    return cv2.erode(crop, np.ones((2, 2), np.uint8))


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
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    for k in range(1, n):
        x, y, cw, ch, _ = stats[k]
        touches = x == 0 or y == 0 or x + cw >= w or y + ch >= h
        flat = ch <= thin and (y == 0 or y + ch >= h)
        hairline = min(cw, ch) <= max(2, thin // 3)
        if touches and (flat or hairline):
            binary[labels == k] = 0


def _drop_intruders(binary: np.ndarray, *, row_px: int) -> None:
    """Remove, in place, small pieces of ink entering across a side rule.

    A word overflowing from the neighbouring column leaves a fragment (the tail of a
    "g", an accent) against the side of the cell. Digit-sized ink against a side
    is kept: at 150 dpi a right-aligned number can touch the rule, and cutting it
    would silently change the value.
    """
    w = binary.shape[1]
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    for k in range(1, n):
        x, _, cw, ch, _ = stats[k]
        if (x == 0 or x + cw >= w) and ch < DIGIT_MIN_HEIGHT_SHARE * row_px:
            binary[labels == k] = 0


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
    return keep[labels]


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
    stretched = np.clip((region - dark) / max(1.0, 200.0 - dark) * 255, 0, 255)
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
    """Does the stroke reach past the digits it crosses? A pen's strike does; the
    joined middle bars of touching digits ("68" in a bold, blurred font) do not."""
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
