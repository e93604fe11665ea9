"""Stage goldens: grid edges, matched rows and readings of a few committed samples.

Each stage has its own golden so that a regression fails where it happens: a rule
lost by ``detect_grid`` fails the grid golden, not only the numbers downstream.
Files live in ``tests/golden/data/<sample>.<stage>.json``; after an intended change,
``pytest tests/golden --update-golden`` rewrites them and the diff is reviewed.

Grid goldens need no Tesseract; matching and reading scans do (a born-digital PDF is
read from its text layer, so its goldens run everywhere).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from ocr.clean import clean_page
from ocr.grid import detect_grid
from ocr.layout import Layout, load_layout
from ocr.load import InputFile, load_document
from ocr.pipeline import extract
from ocr.types import Extraction, Page
from tests.conftest import SAMPLES

Golden = Callable[..., None]


@dataclass(frozen=True)
class Sample:
    """A committed sample file and how much its pixel positions may move."""

    file: str
    tolerance_px: int = 3
    has_text_layer: bool = False

    @property
    def name(self) -> str:
        return self.file.rsplit(".", 1)[0]


CASES = (
    Sample("typed-clean-200dpi.png"),
    Sample("typed-300dpi-skew-2.5deg.pdf"),
    Sample("typed-two-page-repeated-header.pdf"),
    # The perspective correction of a phone photo is fitted to detected rules, so
    # its output frame moves more than a flat scan's when cleaning is tuned.
    Sample("typed-photo.jpg", tolerance_px=6),
    Sample("born-digital-one-page.pdf", has_text_layer=True),
)


def _params(*, needs_ocr: bool) -> list[object]:
    marks = [pytest.mark.tesseract]
    return [
        pytest.param(c, id=c.name, marks=marks if needs_ocr and not c.has_text_layer else [])
        for c in CASES
    ]


@dataclass
class Stages:
    """Per-sample results, computed on first use and kept for the module.

    Tesseract takes seconds per page, so each sample is loaded and extracted once
    however many goldens look at it.
    """

    layout: Layout
    _pages: dict[str, list[Page]] = field(default_factory=dict)
    _extractions: dict[str, Extraction] = field(default_factory=dict)

    def pages(self, sample: Sample) -> list[Page]:
        if sample.file not in self._pages:
            data = (SAMPLES / sample.file).read_bytes()
            self._pages[sample.file] = load_document([InputFile(sample.file, data)])
        return self._pages[sample.file]

    def extraction(self, sample: Sample) -> Extraction:
        if sample.file not in self._extractions:
            self._extractions[sample.file] = extract(self.pages(sample), self.layout)
        return self._extractions[sample.file]


@pytest.fixture(scope="module")
def stages() -> Stages:
    return Stages(layout=load_layout("llw-summary-2022"))


@pytest.mark.parametrize("sample", _params(needs_ocr=False))
def test_detect_grid_golden(stages: Stages, golden: Golden, sample: Sample) -> None:
    pages = []
    for page in stages.pages(sample):
        grid = detect_grid(clean_page(page).image, page_index=page.index)
        pages.append(
            {
                "page": page.index + 1,
                "row_edges_px": None if grid is None else list(grid.row_edges_px),
                "col_edges_px": None if grid is None else list(grid.col_edges_px),
            }
        )
    golden(f"{sample.name}.grid", pages, tolerance_px=sample.tolerance_px)


@pytest.mark.parametrize("sample", _params(needs_ocr=True))
def test_match_rows_golden(stages: Stages, golden: Golden, sample: Sample) -> None:
    matches = {
        m.row_key: {"page": m.page_index + 1, "grid_row": m.grid_row}
        for m in stages.extraction(sample).matches
    }
    golden(f"{sample.name}.match", matches)


@pytest.mark.parametrize("sample", _params(needs_ocr=True))
def test_extract_readings_golden(stages: Stages, golden: Golden, sample: Sample) -> None:
    readings = [
        {
            "row_key": r.row_key,
            "field": r.field,
            "value": r.value,
            "status": str(r.status),
            "column_key": r.column_key,
            "page": None if r.page_index is None else r.page_index + 1,
            "box_px": None if r.box is None else r.box.as_list(),
        }
        for r in stages.extraction(sample).readings
    ]
    golden(f"{sample.name}.readings", readings, tolerance_px=sample.tolerance_px)


def test_extract_grids_are_the_grid_stage_output(stages: Stages) -> None:
    """The pipeline reads the grids the grid golden checks, not a variant of them."""
    sample = CASES[-1]  # born-digital: no OCR needed to run the pipeline
    expected = [detect_grid(clean_page(p).image, page_index=p.index) for p in stages.pages(sample)]
    assert list(stages.extraction(sample).grids) == expected
