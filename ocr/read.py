"""Read the numbers in value cells: ink in, text and value out, with how sure we are.

``ocr.ink`` decides what in a cell is writing (and what is blank, a dash, a lone
stroke or a struck-through number); this module shows the remaining crops to an
engine and votes. Cells with ink are normalised to one text height and read together
in one Tesseract call per look and page (``ocr.mosaic``). A number struck through
with a correction beside it is read as the correction and flagged; a struck number
alone is unreadable.

``Reader`` is the seam between the pipeline and the engines: ``TesseractReader``
reads scans, ``TextLayerReader`` reads a born-digital PDF's text with full confidence,
and tests pass a fake with the same method (``ocr.pipeline.extract(..., reader=...)``).
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
from ocr.ink import Blank, Ink, find_ink
from ocr.mosaic import build_mosaic, words_by_band
from ocr.numbers import parse_number
from ocr.reasons import Reason
from ocr.tesseract import DIGITS_LANG, ocr_words
from ocr.types import Box, CellText, Grid, Page, Word

# Characters a value cell may hold. Without the whitelist Tesseract reads a lone "0"
# as "0)" and a "1" as "|"; "x" (meaning none) is recognised by shape instead.
DIGIT_WHITELIST = "0123456789.,-"
# Crops are scaled so the ink is this tall: Tesseract's LSTM reads best at ~30 px text.
TARGET_INK_HEIGHT_PX = 30
# A page whose cells the first look reads with at least this median confidence is
# "clear" (crisp type); below, "hard" (handwriting, blur, noise).
CLEAR_PAGE_MIN_CONFIDENCE = 0.985
# The evidence suffixes of the two kinds of page (``reads_agree/clear`` …).
CLEAR_PAGE = "clear"
HARD_PAGE = "hard"


class Reader(Protocol):
    """Anything that reads the value cells of one page; the pipeline needs nothing more.

    The contract, which every implementation keeps:

    - return exactly one ``CellText`` per box, in the order of ``boxes``;
    - ``boxes`` are in pixels of ``page.image`` (the cleaned grayscale page); ``grid``
      gives the page's measured scale (``rule_px``, ``typical_row_px``), so a reader
      judges sizes relative to the form, not in absolute pixels;
    - a blank cell is ``has_ink=False`` with ``value=None`` (not reported), never 0;
    - ``confidence`` runs from 0 to 1, and doubt is data (reasons, low confidence),
      never an exception; only a broken engine raises (``EngineError``).
    """

    def read_cells(self, page: Page, boxes: Sequence[Box], *, grid: Grid) -> list[CellText]:
        """Read ``boxes`` of ``page``: one ``CellText`` per box, in order."""
        ...


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
        """Isolate each cell's ink, read the cells with ink in every look, vote."""
        return self.read_inks(page, boxes, grid=grid)[1]

    def read_inks(
        self, page: Page, boxes: Sequence[Box], *, grid: Grid
    ) -> tuple[list[Ink | Blank], list[CellText]]:
        """``read_cells`` with each cell's isolated ink, for readers that build on it."""
        row_px = grid.typical_row_px
        inks = [find_ink(page.image, box, rule_px=grid.rule_px, row_px=row_px) for box in boxes]
        to_ocr = [i for i, ink in enumerate(inks) if isinstance(ink, Ink) and _needs_ocr(ink)]
        crops = [ink.crop for ink in inks if isinstance(ink, Ink) and _needs_ocr(ink)]
        per_look = [
            _ocr_crops([_shown(c, look) for c in crops], whitelist=look.whitelist) for look in LOOKS
        ]
        reads = {i: [looked[n] for looked in per_look] for n, i in enumerate(to_ocr)}
        cells = [_cell_text(ink, reads.get(i, [])) for i, ink in enumerate(inks)]
        return inks, _with_page_clarity(cells, per_look[0] if per_look else [])


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
    clarity = CLEAR_PAGE if float(np.median(scores)) >= CLEAR_PAGE_MIN_CONFIDENCE else HARD_PAGE
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


class PageKindReader:
    """Reads a born-digital page from its text layer and a scanned page with ``scan``.

    What the pipeline uses when no reader is given; ``scan`` is the combined scan
    reader (``ocr.combined``) unless a caller wants Tesseract alone.
    """

    def __init__(self, scan: Reader) -> None:
        """``scan`` reads pages without a text layer."""
        self._scan = scan
        self._text_layer = TextLayerReader()

    def read_cells(self, page: Page, boxes: Sequence[Box], *, grid: Grid) -> list[CellText]:
        """Read with the text layer when the page has one, else with the scan reader."""
        engine = self._text_layer if page.has_text_layer else self._scan
        return engine.read_cells(page, boxes, grid=grid)


class TextLayerReader:
    """Reads cells from a born-digital PDF's text layer: exact text, full confidence."""

    def read_cells(self, page: Page, boxes: Sequence[Box], *, grid: Grid) -> list[CellText]:
        """Join the text-layer words inside each box and parse them."""
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
            text="", value=None, confidence=0.0, reasons=(Reason.STRUCK_THROUGH,), bucket=UNPARSED
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
    reasons: list[str] = [Reason.CORRECTED_ON_PAPER] if ink.struck == "corrected" else []
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
            reasons=tuple(dict.fromkeys([*reasons, *first, Reason.UNREADABLE])),
            bucket=UNPARSED,
        )
    value, voters = max(votes.items(), key=lambda kv: (len(kv[1]), -kv[1][0]))
    if ink.is_bar and value == 1:
        # The shape of a lone upright stroke stands in for a look that dropped it.
        voters = list(range(len(reads))) if len(votes) == 1 else voters
    reasons += parsed[voters[0]].reasons
    if len(voters) < len(reads):
        reasons.append(Reason.READS_DISAGREE)
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
