"""A fake ``FormReader`` for the service tests that do not test reading.

``TruthReader`` returns, without any OCR, the values of a sample's ground-truth file
(``samples/<layout>/<case>.truth.json``) as readings, then applies the layout's rules
exactly as the engine does (``ocr.checks.apply_checks``), so a sample whose clerk's
total does not add up is flagged ``sum_mismatch`` as with the real engine. It can
also mark chosen fields as doubtful (``low_confidence``) or raise an engine error,
for the failure paths.

It is a frozen dataclass of plain values, hence picklable: the embedded runner sends
it to its worker processes with each job (or calls it in its thread with
``workers=0``, as the ``settings`` fixture does).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ocr.checks import apply_checks
from ocr.errors import OcrError
from ocr.layout import Layout
from ocr.types import Box, Extraction, Page, Reading, ReadingStatus
from tests.conftest import SAMPLES

# Confidence of a doubtful field: below the shipped layout's review threshold (0.80).
DOUBTFUL_CONFIDENCE = 0.4
# Where the fake puts its boxes: a column of cells on the right half of the page,
# inside any page the samples have (the crops and overlays need real pixels).
BOX_LEFT_SHARE = 0.6
BOX_WIDTH_SHARE = 0.1


@dataclass(frozen=True)
class TruthReader:
    """Readings from the truth file of sample ``case``, spread evenly over the pages."""

    case: str = "typed-clean-200dpi"
    doubtful: frozenset[tuple[str, str]] = frozenset()
    error: OcrError | None = None

    def read_form(
        self,
        pages: Sequence[Page],
        layout: Layout,
        *,
        on_page_read: Callable[[int], None],
    ) -> Extraction:
        """The truth's values as readings (or ``error`` raised), rules applied."""
        if self.error is not None:
            raise self.error
        values = self._truth_values()
        keys = layout.field_keys()
        readings = [
            self._reading(row_key, field, values.get((row_key, field)), pages, i, len(keys))
            for i, (row_key, field) in enumerate(keys)
        ]
        for done in range(1, len(pages) + 1):
            on_page_read(done)
        return Extraction(
            layout_id=layout.id,
            layout_version=layout.version,
            readings=tuple(apply_checks(readings, layout)),
            pages=len(pages),
        )

    def _truth_values(self) -> dict[tuple[str, str], tuple[int | None, str]]:
        path = SAMPLES / f"{self.case}.truth.json"
        truth = json.loads(path.read_text(encoding="utf-8"))
        return {(f["row_key"], f["field"]): (f["value"], f["text"]) for f in truth["fields"]}

    def _reading(
        self,
        row_key: str,
        field: str,
        truth: tuple[int | None, str] | None,
        pages: Sequence[Page],
        position: int,
        count: int,
    ) -> Reading:
        value, text = truth if truth is not None else (None, "")
        page = pages[min(position * len(pages) // count, len(pages) - 1)]
        height_px, width_px = page.image.shape[:2]
        row_height_px = max(1, height_px // (count + 1))
        box = Box(
            int(width_px * BOX_LEFT_SHARE),
            position * row_height_px,
            max(1, int(width_px * BOX_WIDTH_SHARE)),
            row_height_px,
        )
        is_doubtful = (row_key, field) in self.doubtful
        if is_doubtful:
            status = ReadingStatus.NEEDS_REVIEW
        else:
            status = ReadingStatus.EMPTY if value is None else ReadingStatus.OK
        return Reading(
            row_key=row_key,
            field=field,
            value=value,
            text=text,
            confidence=DOUBTFUL_CONFIDENCE if is_doubtful else 1.0,
            status=status,
            reasons=("low_confidence",) if is_doubtful else (),
            page_index=page.index,
            box=box,
            column_key=field,
        )
