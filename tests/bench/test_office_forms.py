"""The second source of test documents: what it writes is what its truth says.

The fast tests need no external program. The rendering tests convert one document with
LibreOffice (a blank printed form written by real people's held-out digits, faxed and
turned a quarter) and skip with a reason where ``soffice`` is missing; CI installs it.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("docx", reason="python-docx is missing: pip install -e '.[bench]'")
pytest.importorskip("sklearn", reason="scikit-learn is missing: pip install -e '.[bench]'")
pytest.importorskip("pdfplumber", reason="pdfplumber is missing: pip install -e '.[bench]'")

from docx import Document
from openpyxl import load_workbook
from PIL import Image

from bench.office_forms import capture, handwriting
from bench.office_forms.generate import (
    LAYOUT_ID,
    Job,
    draw_spec,
    installed_fonts,
    render_spec,
    truth_fields,
)
from bench.office_forms.spec import ZERO_TEXTS
from ocr.layout import load_layout

needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice is missing: apt-get install libreoffice-writer-nogui",
)


def _job(index: int, *, kinds: tuple[str, ...], captures: tuple[str, ...], out: Path) -> Job:
    body, hand = installed_fonts()
    if not body:
        pytest.skip("no font with Vietnamese coverage is installed (fonts-dejavu-core)")
    return Job(index, 5, out, body, hand, kinds, captures, soft_copies=True)


def test_draw_spec_total_and_zeros_follow_the_texts(tmp_path: Path) -> None:
    layout = load_layout(LAYOUT_ID)
    for index in range(30):
        spec = draw_spec(_job(index, kinds=("typed",), captures=("scan",), out=tmp_path), layout)
        assert len(truth_fields(layout, spec)) == len(layout.field_keys())
        for entry in truth_fields(layout, spec):
            text, value = str(entry["text"]), entry["value"]
            if text in ZERO_TEXTS:
                assert value == 0
            elif text:
                assert value == int(re.sub(r"\D", "", text))
            else:
                assert value is None
        parts = [r for r in spec.rows if r.key and r.key.startswith("1.") and r.key != "1.total"]
        for field in ("count", "people"):
            summed = sum(spec.truth[(r.key, field)] or 0 for r in parts if r.key)
            if not spec.total_is_wrong:
                assert spec.truth[("1.total", field)] == summed


def test_draw_spec_is_deterministic(tmp_path: Path) -> None:
    layout = load_layout(LAYOUT_ID)
    job = _job(3, kinds=("typed", "handwritten-real"), captures=("scan", "fax"), out=tmp_path)
    assert draw_spec(job, layout) == draw_spec(job, layout)


def test_glyph_refuses_training_digits() -> None:
    rng = random.Random(0)
    with pytest.raises(ValueError, match="held-out"):
        handwriting.glyph(1437, rng)
    assert handwriting.glyph(1438, rng).max() > 0.5
    assert all(i >= 1438 for d in range(10) for i in handwriting.held_out_indices(d))


def test_compose_uses_only_held_out_digits() -> None:
    used: list[int] = []
    mask = handwriting.compose("172.100.000", random.Random(4), used)
    assert len(used) == 9
    assert all(i in handwriting.HELD_OUT for i in used)
    assert mask.shape[1] > mask.shape[0]  # a number is wider than tall


def test_fax_is_bilevel_and_turn_swaps_sides() -> None:
    page = np.full((600, 420, 3), 255, np.uint8)
    page[100:101, 20:400] = 90  # a thin grey rule
    faxed, choices = capture.fax(page, random.Random(1))
    assert set(np.unique(faxed)) <= {0, 255}
    assert faxed.shape[0] == pytest.approx(600 * 200 / capture.RENDER_DPI, abs=2)
    assert choices["dpi"] == 200
    turned = capture.turn(faxed, 90)
    assert turned.shape == (faxed.shape[1], faxed.shape[0])
    assert np.array_equal(capture.turn(turned, 270), faxed)


@pytest.fixture(scope="module")
def faxed_real_handwriting(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One document rendered through LibreOffice: real digits, faxed, turned 90 degrees."""
    out = tmp_path_factory.mktemp("office-forms")
    layout = load_layout(LAYOUT_ID)
    spec = draw_spec(_job(1, kinds=("handwritten-real",), captures=("fax",), out=out), layout)
    spec = replace(spec, rotation_deg=90, has_seal=False, whole_report=False)
    truth = render_spec(spec, layout, out, soft_copies=True)
    return out, truth


@needs_soffice
def test_render_truth_file_matches_the_docx(faxed_real_handwriting: tuple[Path, dict]) -> None:
    out, truth = faxed_real_handwriting
    name = Path(truth["files"][0]).name.rsplit("-p", 1)[0]
    on_disk = json.loads((out / f"{name}.truth.json").read_text(encoding="utf-8"))
    assert on_disk["fields"] == truth["fields"]
    assert all((out / f).exists() for f in truth["files"])
    document = Document(str(out / "soft-copies" / f"{name}.docx"))
    table = document.tables[0]
    written = {}
    for row in table.rows[2:]:
        cells = [c.text for c in row.cells]
        written[cells[1]] = (cells[3], cells[4])
    labels = {r.key: r.labels for r in load_layout(LAYOUT_ID).rows}
    for entry in truth["fields"]:
        label = next((t for t in labels[entry["row_key"]] if t in written), None)
        if label is None:  # the row was deleted from the printed table
            assert entry["value"] is None
            continue
        count, people = written[label]
        if entry["field"] == "count":
            assert count == entry["text"]
        elif entry["field"] == "people":
            assert people == entry["text"]
        else:
            assert entry["text"] in (count, people)
        if entry["text"] == "":
            assert entry["value"] is None


@needs_soffice
def test_render_xlsx_holds_the_same_values(faxed_real_handwriting: tuple[Path, dict]) -> None:
    out, truth = faxed_real_handwriting
    name = Path(truth["files"][0]).name.rsplit("-p", 1)[0]
    sheet = load_workbook(out / "soft-copies" / f"{name}.xlsx").active
    typed = {str(row[1]): (row[3], row[4]) for row in sheet.iter_rows(min_row=6, values_only=True)}
    assert "D4:E4" in {str(r) for r in sheet.merged_cells.ranges}
    values = [v for pair in typed.values() for v in pair if isinstance(v, int)]
    numbers = {e["value"] for e in truth["fields"] if isinstance(e["value"], int)}
    assert values and set(values) <= numbers | {0}


@needs_soffice
def test_render_real_digits_are_held_out(faxed_real_handwriting: tuple[Path, dict]) -> None:
    _, truth = faxed_real_handwriting
    indices = truth["choices"]["digit_indices"]
    written = sum(len([c for c in str(e["text"]) if c.isdigit()]) for e in truth["fields"])
    assert indices and all(1438 <= i <= 1796 for i in indices)
    assert len(indices) >= written  # the added row's digits come on top


@needs_soffice
def test_render_fax_pages_are_one_bit_and_turned(faxed_real_handwriting: tuple[Path, dict]) -> None:
    out, truth = faxed_real_handwriting
    assert {"handwritten-real", "fax", "rotated"} <= set(truth["slices"])
    for name in truth["files"]:
        image = Image.open(out / name)
        assert image.mode == "1"
        width, height = image.size
        assert width > height * 1.3  # an A4 page lying on its side
