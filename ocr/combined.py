"""The scan reader: Tesseract's looks, a second recogniser on its own view, and a digit model.

Three engines read a scanned value cell, and their evidence is kept apart on purpose:

- **Tesseract** (``ocr.read.TesseractReader``) reads ``ocr.ink``'s cleaned crop in
  three looks that vote;
- **PP-OCR** (``ocr.ppocr``) reads the same ink crop, and the cell's *own view*
  (``ocr.cellview``) decides independently whether the cell is blank, a dash or
  text: ink isolation saying "blank" where the own view sees marks is a doubt, never
  a confident blank;
- the **handwritten-digit model** (``ocr.handwriting``) reads cells whose ink looks
  written by hand.

Agreement of the engines is a calibration bucket (``engines_agree/…``), not a proof;
disagreement is a veto: the cell goes to review with the value of the engine that is
right more often on its kind of cell proposed, and reason ``engines_disagree``.

PP-OCR costs 20-40 ms a cell, so by default it runs only where it can change the
outcome: cells Tesseract's looks do not read unanimously and surely, cells whose own
view and ink isolation disagree on blank/dash/text, and handwritten-looking cells.
``FORMSCAN_SECOND_ENGINE=everywhere`` runs it on every inked cell, for benchmarks that
measure what the saving costs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ocr.cellview import CellKind, CellView, view_cell
from ocr.confidence import (
    BLANK,
    DASH,
    ENGINES_AGREE,
    ENGINES_DISAGREE,
    READS_AGREE,
    VIEWS_DISAGREE,
    Evidence,
    probability,
)
from ocr.handwriting import HandwrittenRead, handwriting_score, read_handwriting, review_text
from ocr.ink import Blank, Ink
from ocr.numbers import parse_number
from ocr.ppocr import LineRead, recognise
from ocr.read import CLEAR_PAGE, HARD_PAGE, TesseractReader
from ocr.reasons import Reason
from ocr.types import Box, CellText, Grid, Page

# Cells Tesseract's three looks read unanimously on a clear page with at least this
# (weakest-digit) confidence skip PP-OCR: on the own samples such cells were wrong
# about 1 in 500 (calibration's top step), and they are most of a typed page.
SURE_TESSERACT_MIN_SCORE = 0.99
# A cell's ink scoring at least this with ``handwriting_score`` is read by the digit
# model too; the value the score was fitted for on composed cells (``bench train-digits``).
HANDWRITING_MIN_SCORE = 0.406
# When Tesseract and PP-OCR disagree on a handwritten-looking cell, the digit model's
# side is proposed when it is at least this sure (its calibrated confidence: below it,
# its readings of held-out writers were wrong more often than right).
HANDWRITING_PROPOSE_MIN_CONFIDENCE = 0.5
# The environment switch that makes PP-OCR read every inked cell (benchmarks only).
EVERYWHERE_ENV = "FORMSCAN_SECOND_ENGINE"


@dataclass(frozen=True)
class _Second:
    """What the other engines saw in one cell: own view, PP-OCR and the digit model."""

    view: CellView
    pp: LineRead | None
    hand: HandwrittenRead | None
    is_handwritten: bool


class CombinedReader:
    """Reads scanned cells with Tesseract, PP-OCR on an independent view, and the digit model."""

    def __init__(self, *, is_everywhere: bool | None = None) -> None:
        """``is_everywhere`` runs PP-OCR on every inked cell; default from the environment."""
        if is_everywhere is None:
            is_everywhere = os.environ.get(EVERYWHERE_ENV, "") == "everywhere"
        self.is_everywhere = is_everywhere
        self._tesseract = TesseractReader()

    def read_cells(self, page: Page, boxes: Sequence[Box], *, grid: Grid) -> list[CellText]:
        """Read with Tesseract, cross-examine the cells that need it, combine the evidence."""
        inks, cells = self._tesseract.read_inks(page, boxes, grid=grid)
        views = [
            view_cell(page.image, box, rule_px=grid.rule_px, row_px=grid.typical_row_px)
            for box in boxes
        ]
        hand_scores = [_hand_score(ink) for ink in inks]
        wanted = [
            i
            for i, (ink, cell, view) in enumerate(zip(inks, cells, views, strict=True))
            if self.is_everywhere or _needs_second(ink, cell, view, hand_score=hand_scores[i])
        ]
        pp_crops = [_pp_crop(inks[i], views[i]) for i in wanted]
        pp_reads = dict(zip(wanted, recognise(pp_crops), strict=True)) if pp_crops else {}
        out = []
        for i, (ink, cell, view) in enumerate(zip(inks, cells, views, strict=True)):
            if i not in pp_reads:
                out.append(cell)
                continue
            is_hand = hand_scores[i] >= HANDWRITING_MIN_SCORE or _is_hard_page(cell)
            hand = read_handwriting(ink.crop) if is_hand and isinstance(ink, Ink) else None
            out.append(combine(cell, ink, _Second(view, pp_reads[i], hand, is_hand)))
        return out


def _hand_score(ink: Ink | Blank) -> float:
    if not isinstance(ink, Ink) or ink.is_dash or ink.is_x or ink.struck:
        return 0.0
    return handwriting_score(ink.crop)


def _is_hard_page(cell: CellText) -> bool:
    """The cell's page does not read as crisp type (Tesseract's page clarity).

    The per-cell handwriting score misses many cells written by people (it was fitted
    on composed cells); a page that Tesseract finds hard is handwriting, a photo or a
    fax, where the digit model's reading is cheap (under a millisecond a digit) and
    its dissent is worth a look.
    """
    return cell.bucket.endswith(f"/{HARD_PAGE}")


def _needs_second(ink: Ink | Blank, cell: CellText, view: CellView, *, hand_score: float) -> bool:
    """Whether PP-OCR could change this cell's outcome (see the module docstring)."""
    if isinstance(ink, Blank):
        return view.kind is not CellKind.BLANK
    if ink.struck:
        return False
    if ink.is_dash or ink.is_x:
        return view.kind is CellKind.TEXT and not ink.is_x
    if hand_score >= HANDWRITING_MIN_SCORE:
        return True
    is_sure = cell.bucket == f"{READS_AGREE}/clear" and cell.score >= SURE_TESSERACT_MIN_SCORE
    return not is_sure


def _pp_crop(ink: Ink | Blank, view: CellView) -> np.ndarray:
    """PP-OCR reads the ink crop where there is one (its best view), else the own view."""
    if isinstance(ink, Ink) and not (ink.is_dash or ink.is_x):
        return ink.crop
    return view.crop


def combine(cell: CellText, ink: Ink | Blank, second: _Second) -> CellText:
    """Tesseract's cell with the other engines' evidence: agreement or a veto."""
    if isinstance(ink, Blank):
        return _blank_cross_check(cell, second)
    if ink.is_dash or ink.is_x:
        return _dash_cross_check(cell, second)
    pp_value = _pp_value(second.pp)
    hand_value = second.hand.value if second.hand is not None else None
    if cell.value is None or pp_value != cell.value or _hand_dissents(second, cell):
        return _veto(cell, second, pp_value=pp_value, hand_value=hand_value)
    score = min(cell.score, second.pp.confidence if second.pp is not None else 1.0)
    agreed = _evidenced(cell, Evidence(f"{ENGINES_AGREE}/{_agreement_kind(second, cell)}", score))
    return _with_hints(agreed, second, tesseract_value=cell.value)


def _hand_dissents(second: _Second, cell: CellText) -> bool:
    """The digit model read another number where Tesseract and PP-OCR agree.

    On handwriting the two text-line engines share the ink crop and its mistakes (a
    written "2" taken for "1" by both, a digit dropped by both): the digit model is
    the one view trained on real writers, so its dissent is a veto like any other
    engine's. Calibrating that dissent as a bucket of its own was measured on
    handwriting *fonts* only (our generator has no real writers), where agreement of
    the other two was nearly always right; on digits written by people it was not.
    The handwriting score also fires on some typed cells, where the digit model misreads
    type with high confidence; so its dissent counts only on pages that do not read as
    crisp type (Tesseract's page clarity, ``ocr.read``): on a clear page it is ignored.
    """
    if second.hand is None or second.hand.value in (None, cell.value):
        return False
    return not cell.bucket.endswith(f"/{CLEAR_PAGE}")


def _agreement_kind(second: _Second, cell: CellText) -> str:
    """Sub-bucket of an agreement: typed, or handwritten with the digit model agreeing."""
    if second.hand is None or second.hand.value != cell.value:
        return "typed"
    return "hand"


def _veto(
    cell: CellText, second: _Second, *, pp_value: int | None, hand_value: int | None
) -> CellText:
    """Tesseract and PP-OCR disagree: propose the likelier value, and always ask a person.

    The digit model breaks the tie on handwritten-looking cells when it sides with
    one of them; otherwise PP-OCR is proposed, which read more cells right than
    Tesseract on both sources; Tesseract's value stands only when PP-OCR read none.
    """
    candidates: list[int | None] = []
    is_sure_hand = (
        second.hand is not None and second.hand.confidence >= HANDWRITING_PROPOSE_MIN_CONFIDENCE
    )
    if is_sure_hand and hand_value is not None and hand_value in (pp_value, cell.value):
        candidates.append(hand_value)
    candidates += [pp_value, cell.value]
    value = next((v for v in candidates if v is not None), None)
    text = _text_for(value, cell, second)
    reasons = tuple(dict.fromkeys([*cell.reasons, Reason.ENGINES_DISAGREE]))
    vetoed = replace(cell, text=text, value=value, reasons=reasons)
    score = second.pp.confidence if second.pp is not None else 0.0
    vetoed = _evidenced(vetoed, Evidence(ENGINES_DISAGREE, score))
    return _with_hints(vetoed, second, tesseract_value=cell.value)


def _text_for(value: int | None, cell: CellText, second: _Second) -> str:
    if value is None or value == cell.value:
        return cell.text
    if second.pp is not None and _pp_value(second.pp) == value:
        return second.pp.text
    return second.hand.text if second.hand is not None else str(value)


def _blank_cross_check(cell: CellText, second: _Second) -> CellText:
    """Ink isolation saw nothing but the own view saw marks: a doubt, never a sure blank."""
    if second.view.kind is CellKind.DASH:
        value: int | None = 0
        text = "-"
    else:
        value = _pp_value(second.pp)
        text = second.pp.text if second.pp is not None and value is not None else ""
    if value is None:
        # Marks nobody can read as a number (a speck, a neighbour's text): a weaker blank.
        return _evidenced(cell, Evidence(f"{BLANK}/{VIEWS_DISAGREE}", cell.score))
    doubted = CellText(
        text=text, value=value, confidence=0.0, reasons=(Reason.ENGINES_DISAGREE,), has_ink=True
    )
    return _evidenced(doubted, Evidence(VIEWS_DISAGREE, second.view.ink_share))


def _dash_cross_check(cell: CellText, second: _Second) -> CellText:
    """A dash by ink isolation that the own view and PP-OCR read as a number is a doubt."""
    value = _pp_value(second.pp)
    if value is None or value == 0:
        return cell
    reasons = (*cell.reasons, Reason.ENGINES_DISAGREE)
    doubted = replace(cell, reasons=reasons)
    return _evidenced(doubted, Evidence(f"{DASH}/{VIEWS_DISAGREE}", cell.score))


def _pp_value(read: LineRead | None) -> int | None:
    if read is None or not read.text.strip():
        return None
    parsed = parse_number(read.text)
    return parsed.value if parsed.is_valid and not parsed.is_blank else None


def _with_hints(cell: CellText, second: _Second, *, tesseract_value: int | None) -> CellText:
    """The digit model's reading (``1?7``) and the engines' values, for the reviewer.

    Alternatives are given only when the engines differ: one keystroke then picks the
    right one. The proposed value comes first.
    """
    hand_value = second.hand.value if second.hand is not None else None
    values = [cell.value, hand_value, _pp_value(second.pp), tesseract_value]
    distinct = tuple(dict.fromkeys(v for v in values if v is not None))
    suggestion = None
    if second.hand is not None and second.hand.digits:
        text = review_text(second.hand)
        suggestion = text if _fits_any(text, distinct) else None
    return replace(cell, suggestion=suggestion, alternatives=distinct if len(distinct) > 1 else ())


def _fits_any(pattern: str, values: Sequence[int]) -> bool:
    """Whether the digit model's reading ("1?7", "?" for a doubtful digit) spells a value.

    The reading is shown to explain where the doubt lies in a proposed value; one that
    spells none of them (the digit model reading type it was never meant for, "5-3?"
    for a printed 13) would only confuse the reviewer.
    """
    digits = pattern.replace(".", "").replace(",", "")
    return any(
        len(digits) == len(str(v))
        and all(p in ("?", c) for p, c in zip(digits, str(v), strict=True))
        for v in values
    )


def _evidenced(cell: CellText, evidence: Evidence) -> CellText:
    return replace(
        cell, confidence=probability(evidence), bucket=evidence.bucket, score=evidence.score
    )
