"""The Reader seam: ``extract`` reads values only through the reader it is given.

A born-digital sample is used because its labels come from the text layer, so the
pipeline runs without Tesseract and the reader is the only source of values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from ocr.errors import EngineTimeoutError
from ocr.layout import load_layout
from ocr.load import InputFile, load_document
from ocr.pipeline import extract
from ocr.read import Reader
from ocr.reasons import Reason
from ocr.types import Box, CellText, Grid, Page, ReadingStatus
from tests.conftest import SAMPLES

SAMPLE = SAMPLES / "born-digital-one-page.pdf"


class FakeReader:
    """Reads every cell as ``text`` with ``confidence``, and records what it was asked."""

    def __init__(self, text: str, confidence: float) -> None:
        self.text, self.confidence = text, confidence
        self.calls: list[int] = []

    def read_cells(self, page: Page, boxes: Sequence[Box], *, grid: Grid) -> list[CellText]:
        self.calls.append(len(boxes))
        value = int(self.text)
        return [CellText(text=self.text, value=value, confidence=self.confidence) for _ in boxes]


class TimingOutReader:
    def read_cells(self, page: Page, boxes: Sequence[Box], *, grid: Grid) -> list[CellText]:
        raise EngineTimeoutError("Tesseract took longer than 60 s.")


def _pages() -> list[Page]:
    return load_document([InputFile(name=SAMPLE.name, data=SAMPLE.read_bytes())])


def test_extract_values_come_from_the_reader() -> None:
    layout = load_layout("llw-summary-2022")
    reader = FakeReader("7", confidence=0.99)
    extraction = extract(_pages(), layout, reader=reader)
    assert reader.calls, "the reader was never asked"
    found = [r for r in extraction.readings if Reason.ROW_NOT_FOUND not in r.reasons]
    assert found
    assert {r.value for r in found} == {7}
    assert sum(reader.calls) >= len(found)


def test_extract_low_reader_confidence_goes_to_review() -> None:
    layout = load_layout("llw-summary-2022")
    extraction = extract(_pages(), layout, reader=FakeReader("7", confidence=0.1))
    found = [r for r in extraction.readings if Reason.ROW_NOT_FOUND not in r.reasons]
    assert found
    assert all(r.status is ReadingStatus.NEEDS_REVIEW for r in found)
    assert all(Reason.LOW_CONFIDENCE in r.reasons for r in found)


def test_extract_reader_engine_error_propagates() -> None:
    layout = load_layout("llw-summary-2022")
    reader: Reader = TimingOutReader()
    with pytest.raises(EngineTimeoutError):
        extract(_pages(), layout, reader=reader)


def test_reading_json_reviewer_hints_only_when_present() -> None:
    from ocr.result import reading_json
    from ocr.types import Reading

    plain = Reading("1.01", "count", 17, "17", 0.5, ReadingStatus.NEEDS_REVIEW)
    hinted = replace(plain, suggestion="1?", alternatives=(17, 12))
    assert "suggestion" not in reading_json(plain) and "alternatives" not in reading_json(plain)
    assert reading_json(hinted)["suggestion"] == "1?"
    assert reading_json(hinted)["alternatives"] == [17, 12]


def test_extract_engines_disagree_is_a_veto_whatever_the_confidence() -> None:
    class VetoReader:
        def read_cells(self, page: Page, boxes: Sequence[Box], *, grid: Grid) -> list[CellText]:
            reasons = (Reason.ENGINES_DISAGREE,)
            return [CellText(text="7", value=7, confidence=0.999, reasons=reasons) for _ in boxes]

    extraction = extract(_pages(), load_layout("llw-summary-2022"), reader=VetoReader())
    found = [r for r in extraction.readings if Reason.ROW_NOT_FOUND not in r.reasons]
    assert found
    assert all(r.status is ReadingStatus.NEEDS_REVIEW for r in found)
