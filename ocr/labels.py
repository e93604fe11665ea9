"""Read the printed text of label and header cells (Vietnamese), one Tesseract call per page.

Only the start of a label is needed to recognise its row, and Tesseract's time grows
with the amount of text, so label crops are scaled to a modest text height and cut
to a bounded width; header cells are read in the same call.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ocr.mosaic import build_mosaic, words_by_band
from ocr.read import words_in_box
from ocr.tesseract import LABELS_LANG, ocr_words
from ocr.types import Box, Page

# Label crops are scaled so a text line is about this tall (Tesseract reads
# Vietnamese diacritics reliably from ~20 px x-height lines).
TARGET_LINE_HEIGHT_PX = 34
# Small type (8.5-9.5 pt fitted to one page) scanned at 150 dpi has lines of ~20 px,
# whose letters Tesseract reads as garbage; such crops are enlarged towards the target
# height, by at most this factor (beyond it the interpolation only enlarges blur).
MAX_UPSCALE = 2.0
# Tesseract's time grows with the number of letters it reads (~0.45 ms each on a
# 2-core machine), so labels are read in two passes. First a prefix of every label:
# one line, this many line heights wide (~20 letters) ...
PREFIX_WIDTH_LINES = 10
# ... then, only for rows whose prefix leaves a doubt, the label itself: up to this
# many lines of this width, which tell apart even labels that begin alike
# ("Bồi dưỡng nâng cao trình độ ...") in narrow columns.
LABEL_LINES = 2
MAX_WIDTH_LINES = 28


def read_texts(
    page: Page,
    boxes: Sequence[Box],
    *,
    line_height_px: int,
    max_lines: int | None = None,
    max_width_lines: int = MAX_WIDTH_LINES,
) -> list[str]:
    """The text in each box: from the text layer when the page has one, else by OCR.

    With ``max_lines``, OCR reads only that many lines from the top of each box, and
    never more than ``max_width_lines`` line heights of each line: the start of a
    label identifies its row, and Tesseract's time grows with the text it reads.
    """
    if page.has_text_layer:
        layer = page.words or ()
        return [" ".join(w.text for w in words_in_box(layer, box)) for box in boxes]
    if not boxes:
        return []
    scale = label_scale(line_height_px)
    max_width_px = int(max_width_lines * line_height_px * scale)
    crops = [
        _crop(page.image, box, scale=scale, line_px=line_height_px, max_lines=max_lines)
        for box in boxes
    ]
    mosaic = build_mosaic([c[:, :max_width_px] for c in crops])
    words = ocr_words(mosaic.image, lang=LABELS_LANG, psm=6)
    return [" ".join(w.text for w in band) for band in words_by_band(mosaic, words)]


def _crop(
    gray: np.ndarray, box: Box, *, scale: float, line_px: int, max_lines: int | None
) -> np.ndarray:
    region = gray[box.y : box.bottom, box.x : box.right]
    if region.size == 0:
        return np.full((8, 8), 255, np.uint8)
    region = despeckle(erase_rules(region), line_px=line_px)
    if max_lines is not None:
        region = _first_lines(region, lines=max_lines, line_px=line_px)
    if scale != 1.0:
        shrink = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
        region = cv2.resize(region, None, fx=scale, fy=scale, interpolation=shrink)
    return region


def label_scale(line_height_px: int) -> float:
    """Factor that brings a text line of ``line_height_px`` to the height OCR reads best.

    Large type is shrunk (Tesseract's time grows with pixels); small type is enlarged,
    up to ``MAX_UPSCALE``, because at ~20 px lines the LSTM mistakes diacritics and
    letters for one another.
    """
    return min(MAX_UPSCALE, TARGET_LINE_HEIGHT_PX / max(1, line_height_px))


def _first_lines(region: np.ndarray, *, lines: int, line_px: int) -> np.ndarray:
    """The first ``lines`` text lines of a cell, cut in the valley between lines.

    Lines are found from the dense rows of letter bodies (speckle and leftover rule
    pixels are sparse), reaching up a third of a line for diacritics. The cut is the
    row with the least ink where the next line should begin: the leading is the
    emptiest band there even when a diacritic nearly touches the line above. Cutting
    through a line instead makes Tesseract read garbage.
    """
    ink_per_row = (region < 128).sum(axis=1)
    # A row inked across half the cell is a rule the eraser missed (broken on a fax).
    is_rule = ink_per_row >= 0.5 * region.shape[1]
    if is_rule.any():
        region = region.copy()
        region[is_rule] = 255
        ink_per_row = np.where(is_rule, 0, ink_per_row)
    peak = int(ink_per_row.max(initial=0))
    body = np.flatnonzero(ink_per_row >= max(2, 0.2 * peak))
    if len(body) == 0:
        return region[: max(8, line_px)]
    first = int(body[0])
    top = max(0, first - line_px // 3)
    last = int(body[-1])
    lo = first + int((lines - 0.3) * line_px)
    hi = first + int((lines + 0.3) * line_px)
    if lo >= last:
        return region[top : last + line_px // 4]
    window = ink_per_row[lo : min(hi, last) + 1]
    cut = lo + int(np.argmin(window))
    return region[top:cut]


def despeckle(region: np.ndarray, *, line_px: int) -> np.ndarray:
    """Whiten isolated dots far smaller than a letter's dot (fax and scanner noise).

    Noise makes Tesseract find letters where there are none and, in a crop cut to its
    first line, decide where that line starts.
    """
    _, binary = cv2.threshold(region, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    max_area = max(2, (line_px // 12) ** 2)
    small = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] <= max_area)
    small = small[small > 0]
    if len(small) == 0:
        return region
    out = region.copy()
    out[np.isin(labels, small)] = 255
    return out


def erase_rules(region: np.ndarray) -> np.ndarray:
    """Whiten table rules inside a crop: long straight strokes no letter makes.

    A rule left at a crop's edge makes Tesseract read "|" or "—" and, worse, lays
    out the text around it in the wrong order.
    """
    h, w = region.shape
    _, binary = cv2.threshold(region, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    long_h = cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones((1, max(10, int(w * 0.5))), np.uint8))
    long_v = cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones((max(10, int(h * 0.7)), 1), np.uint8))
    # Near the top and bottom edges a rule may be broken (fax) or only partly inside
    # the crop: bridge small gaps and accept shorter runs there.
    bridged = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, np.ones((1, 7), np.uint8))
    edge_h = cv2.morphologyEx(
        bridged, cv2.MORPH_OPEN, np.ones((1, max(10, int(w * 0.25))), np.uint8)
    )
    band = max(3, h // 6)
    edge_h[band : h - band] = 0
    rules = cv2.dilate(
        cv2.bitwise_or(cv2.bitwise_or(long_h, long_v), edge_h), np.ones((3, 3), np.uint8)
    )
    out = region.copy()
    out[rules > 0] = 255
    return out


def estimate_line_height_px(gray: np.ndarray, box: Box) -> int:
    """Typical height of a text line inside a box, from its ink's connected components."""
    region = gray[box.y + 3 : box.bottom - 3, box.x + 3 : box.right - 3]
    if region.size == 0:
        return TARGET_LINE_HEIGHT_PX
    _, binary = cv2.threshold(region, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    _, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    heights = heights[(heights > 4) & (heights < region.shape[0])]
    if len(heights) == 0:
        return TARGET_LINE_HEIGHT_PX
    # Letter bodies are ~0.5 of the line pitch; use the upper quartile (caps, ascenders).
    return int(np.percentile(heights, 75) * 1.6)
