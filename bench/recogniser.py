"""``python -m bench recogniser DIR [--json out.json]``: the second recogniser, cell by cell.

Runs the reading pipeline as ``formscan extract`` does on every document with a
``*.truth.json`` under DIR, keeps every value cell it reads, and reads those cells
again with PP-OCRv4 (``ocr.ppocr``) twice:

- **pp-ink**: on formscan's own ink crop (``find_ink``), with formscan's blank and dash
  decisions: the same view of the cell as Tesseract's;
- **pp-own**: on the recogniser's own view (``ocr.cellview``): the inside of the rules,
  nothing filtered, its own blank/dash decision by shape.

A field's value per system follows the pipeline's rule: the first of its cells (in
the layout's column order) that is not blank; all blank is null. Scored exactly like
``formscan bench`` (blank vs 0 is wrong). Printed per slice: accuracy of Tesseract as
read today (the pipeline's value), pp-ink and pp-own; how often Tesseract and pp-own
agree, the accuracy when they agree and each one's when they disagree; the residual
error today (wrong and not flagged) and what would remain if a disagreement sent the
field to review (the evidence a combination is calibrated on); and the extra review
that veto would cost. Field slices ``zero`` (truth 0), ``dash`` (truth written as a
dash) and ``money`` (rows 10.x) are added to the documents' own slices.

``--json rows.json`` keeps one row per field (truth, each system's value, Tesseract's
flag, pp-own's text and confidence); ``--from-json rows.json`` prints the figures of
such a file again without reading anything.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ocr.cellview import CellKind, view_cell
from ocr.clean import clean_page
from ocr.errors import OcrError
from ocr.files import read_input_files
from ocr.ink import Blank, Ink, find_ink
from ocr.layout import Layout, load_layout
from ocr.load import LoadLimits, load_document
from ocr.numbers import parse_number
from ocr.pipeline import extract_cleaned
from ocr.ppocr import load_recogniser
from ocr.read import TesseractReader, TextLayerReader
from ocr.types import Box, CellText, Grid, Page

SYSTEMS = ("tesseract", "pp-ink", "pp-own")
# Texts a clerk writes for "none" that are not a digit: the ``dash`` slice.
DASH_TEXTS = frozenset({"-", "–", "—", "x", "X"})


@dataclass(frozen=True)
class TruthCase:
    """One document with its truth file: the pages read together and the expected fields."""

    truth_path: Path
    files: list[Path]
    layout: str
    slices: list[str]
    truth: dict[tuple[str, str], int | None]
    texts: dict[tuple[str, str], str]


@dataclass(frozen=True)
class CellRead:
    """One cell as each PP-OCR view saw it: value (None = blank or unread) and blankness."""

    ink_value: int | None
    ink_blank: bool
    own_value: int | None
    own_blank: bool
    own_text: str
    own_confidence: float


@dataclass
class _PageRecord:
    page: Page
    grid: Grid
    boxes: list[Box]


class RecordingReader:
    """The pipeline's own reader, keeping each page's cell boxes for a second look."""

    def __init__(self) -> None:
        self.records: list[_PageRecord] = []

    def read_cells(self, page: Page, boxes: Sequence[Box], *, grid: Grid) -> list[CellText]:
        """Read as the pipeline would, and keep the page and boxes for the other engines."""
        self.records.append(_PageRecord(page=page, grid=grid, boxes=list(boxes)))
        engine = TextLayerReader() if page.has_text_layer else TesseractReader()
        return engine.read_cells(page, boxes, grid=grid)


@dataclass
class Timing:
    """Milliseconds per cell of each PP-OCR view, one figure per page.

    Wall-clock time, and the process's CPU time: on a machine shared with other work
    the second is the steadier measure of what a cell costs (onnxruntime runs on one
    thread here, so CPU time is the time it would take on an idle core).
    """

    ink_ms: list[float] = field(default_factory=list)
    own_ms: list[float] = field(default_factory=list)
    ink_cpu_ms: list[float] = field(default_factory=list)
    own_cpu_ms: list[float] = field(default_factory=list)


def load_truth_cases(directory: Path) -> list[TruthCase]:
    """Every ``*.truth.json`` under ``directory`` with its documents and field truths."""
    cases = []
    for path in sorted(directory.rglob("*.truth.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        keys = [(f["row_key"], f["field"]) for f in data["fields"]]
        cases.append(
            TruthCase(
                truth_path=path,
                files=[path.parent / f for f in data["files"]],
                layout=data["layout"],
                slices=list(data.get("slices", [])),
                truth={k: f["value"] for k, f in zip(keys, data["fields"], strict=True)},
                texts={
                    k: str(f.get("text", "")) for k, f in zip(keys, data["fields"], strict=True)
                },
            )
        )
    return cases


def _pp_value(text: str) -> int | None:
    parsed = parse_number(text)
    return parsed.value if parsed.is_valid and not parsed.is_blank else None


def read_page_cells(record: _PageRecord, timing: Timing) -> list[CellRead]:
    """Both PP-OCR views of every cell the pipeline read on one page."""
    recogniser = load_recogniser()
    gray, grid = record.page.image, record.grid
    row_px = grid.typical_row_px
    inks = [find_ink(gray, b, rule_px=grid.rule_px, row_px=row_px) for b in record.boxes]
    views = [view_cell(gray, b, rule_px=grid.rule_px, row_px=row_px) for b in record.boxes]
    ink_idx = [
        i
        for i, ink in enumerate(inks)
        if isinstance(ink, Ink) and not (ink.is_dash or ink.is_x) and ink.struck != "only"
    ]
    own_idx = [i for i, v in enumerate(views) if v.kind is CellKind.TEXT]
    started, cpu = time.perf_counter(), time.process_time()
    ink_reads = recogniser.recognise([inks[i].crop for i in ink_idx])  # type: ignore[union-attr]
    if ink_idx:
        timing.ink_ms.append((time.perf_counter() - started) * 1000 / len(ink_idx))
        timing.ink_cpu_ms.append((time.process_time() - cpu) * 1000 / len(ink_idx))
    started, cpu = time.perf_counter(), time.process_time()
    own_reads = recogniser.recognise([views[i].crop for i in own_idx])
    if own_idx:
        timing.own_ms.append((time.perf_counter() - started) * 1000 / len(own_idx))
        timing.own_cpu_ms.append((time.process_time() - cpu) * 1000 / len(own_idx))
    ink_text = dict(zip(ink_idx, (r.text for r in ink_reads), strict=True))
    own_by = dict(zip(own_idx, own_reads, strict=True))
    cells = []
    for i, (ink, view) in enumerate(zip(inks, views, strict=True)):
        ink_blank = isinstance(ink, Blank)
        ink_value = None if ink_blank else (0 if ink.is_dash or ink.is_x else None)  # type: ignore[union-attr]
        if i in ink_text:
            ink_value = _pp_value(ink_text[i])
        own = own_by.get(i)
        own_value = 0 if view.kind is CellKind.DASH else _pp_value(own.text) if own else None
        cells.append(
            CellRead(
                ink_value=ink_value,
                ink_blank=ink_blank,
                own_value=own_value,
                own_blank=view.kind is CellKind.BLANK,
                own_text="-" if view.kind is CellKind.DASH else own.text if own else "",
                own_confidence=own.confidence if own else 1.0,
            )
        )
    return cells


def _cell_keys(
    record: _PageRecord,
    row_at: dict[tuple[int, int], str],
    known: dict[tuple[int, int], str],
    layout: Layout,
) -> list[tuple[str, str] | None]:
    """(row_key, column_key) of each box: the row by grid position, the column by x.

    ``known`` holds the column key of every x position the pipeline reported a reading
    at; any other x takes the layout's value columns left to right, as the pipeline
    maps them (``count`` then ``people``).
    """
    page = record.grid.page_index
    value_cols = [c.key for c in layout.table.value_columns]
    xs = sorted({b.x for b in record.boxes})
    col_of = {x: value_cols[min(n, len(value_cols) - 1)] for n, x in enumerate(xs)}
    col_of.update({x: known[(page, x)] for x in xs if (page, x) in known})
    keys: list[tuple[str, str] | None] = []
    for box in record.boxes:
        row_key = row_at.get((page, _grid_row(record.grid, box)))
        keys.append((row_key, col_of[box.x]) if row_key else None)
    return keys


def _grid_row(grid: Grid, box: Box) -> int:
    edges = grid.row_edges_px
    return next((r for r in range(len(edges) - 1) if edges[r] == box.y), -1)


def run_case(case: TruthCase, timing: Timing) -> list[dict[str, object]]:
    """One document: per field, the truth and each system's value (and flag)."""
    layout = load_layout(case.layout)
    pages = load_document(read_input_files(case.files), limits=LoadLimits())
    cleaned = [clean_page(p) for p in pages]
    recorder = RecordingReader()
    extraction = extract_cleaned(cleaned, layout, reader=recorder)
    row_at = {(m.page_index, m.grid_row): m.row_key for m in extraction.matches}
    known = {
        (r.page_index, r.box.x): r.column_key
        for r in extraction.readings
        if r.box is not None and r.page_index is not None and r.column_key
    }
    cells: dict[tuple[str, str], CellRead] = {}
    for record in recorder.records:
        keys = _cell_keys(record, row_at, known, layout)
        for key, read in zip(keys, read_page_cells(record, timing), strict=True):
            if key is not None:
                cells[key] = read
    readings = {(r.row_key, r.field): r for r in extraction.readings}
    rows = []
    for key, want in case.truth.items():
        reading = readings.get(key)
        field_cells = [
            cells[(key[0], col)] for col in layout.fields[key[1]].columns if (key[0], col) in cells
        ]
        ink = next((c for c in field_cells if not c.ink_blank), None)
        own = next((c for c in field_cells if not c.own_blank), None)
        rows.append(
            {
                "case": case.truth_path.name,
                "row_key": key[0],
                "field": key[1],
                "truth": want,
                "slices": case.slices + _field_slices(key, want, case.texts.get(key, "")),
                "tesseract": reading.value if reading else None,
                "flagged": reading.status.value not in ("ok", "empty") if reading else True,
                "pp-ink": ink.ink_value if ink else None,
                "pp-own": own.own_value if own else None,
                "pp_own_text": own.own_text if own else "",
                "pp_own_confidence": round(own.own_confidence, 4) if own else None,
                "has_cells": bool(field_cells),
            }
        )
    return rows


def _field_slices(key: tuple[str, str], want: int | None, text: str) -> list[str]:
    slices = []
    if want == 0:
        slices.append("zero")
        if text.strip() in DASH_TEXTS:
            slices.append("dash")
    if key[0].startswith("10."):
        slices.append("money")
    return slices


@dataclass
class SliceTally:
    """Counts for one slice.

    Accuracy is over every field (a refused document or a row not found is wrong for
    every system); agreement only over ``compared`` fields, those whose cells the
    pipeline found, where both engines had something to read.
    """

    fields: int = 0
    compared: int = 0
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SYSTEMS, 0))
    right_compared: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SYSTEMS, 0))
    agree: int = 0
    agree_right: int = 0
    disagree_tess_right: int = 0
    disagree_own_right: int = 0
    residual: int = 0
    residual_with_veto: int = 0
    extra_review: int = 0

    def add(self, row: dict[str, object]) -> None:
        """Count one field's three readings against its truth."""
        truth = row["truth"]
        self.fields += 1
        for system in SYSTEMS:
            self.right[system] += row[system] == truth
        if not row["has_cells"]:
            return
        self.compared += 1
        for system in SYSTEMS:
            self.right_compared[system] += row[system] == truth
        tess_right = row["tesseract"] == truth
        agrees = row["tesseract"] == row["pp-own"]
        self.agree += agrees
        self.agree_right += agrees and tess_right
        self.disagree_tess_right += (not agrees) and tess_right
        self.disagree_own_right += (not agrees) and row["pp-own"] == truth
        accepted = not row["flagged"]
        self.residual += accepted and not tess_right
        self.residual_with_veto += accepted and agrees and not tess_right
        self.extra_review += accepted and not agrees


def tally(rows: Sequence[dict[str, object]]) -> dict[str, SliceTally]:
    """Per-slice counts of every field row (a row is in each of its document's slices)."""
    tallies: dict[str, SliceTally] = {}
    for row in rows:
        for name in ("all", *row["slices"]):  # type: ignore[misc]
            tallies.setdefault(name, SliceTally()).add(row)
    return tallies


def _pct(n: int, d: int, digits: int = 1) -> str:
    return f"{100 * n / d:.{digits}f} %" if d else "–"


SLICE_ORDER = (
    "all",
    "typed",
    "handwritten",
    "scan",
    "fax",
    "photo",
    "born-digital",
    "zero",
    "dash",
    "money",
)


def format_table(tallies: dict[str, SliceTally]) -> str:
    """Markdown: one line per slice; the evidence for combining Tesseract and pp-own."""
    lines = [
        "| slice | fields | tesseract | pp-ink | pp-own | compared "
        "| tess / pp-ink / pp-own on compared | agree (tess, pp-own) "
        "| right when agree | tess right when disagree | pp-own right when disagree "
        "| residual today | residual with veto | extra review from veto |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = [n for n in SLICE_ORDER if n in tallies] + sorted(set(tallies) - set(SLICE_ORDER))
    for name in names:
        t = tallies[name]
        dis, n = t.compared - t.agree, t.compared
        lines.append(
            f"| {name} | {t.fields} | {_pct(t.right['tesseract'], t.fields)} "
            f"| {_pct(t.right['pp-ink'], t.fields)} | {_pct(t.right['pp-own'], t.fields)} "
            f"| {n} | {' / '.join(_pct(t.right_compared[s], n) for s in SYSTEMS)} "
            f"| {_pct(t.agree, n)} | {_pct(t.agree_right, t.agree, 2)} "
            f"| {_pct(t.disagree_tess_right, dis)} | {_pct(t.disagree_own_right, dis)} "
            f"| {_pct(t.residual, n, 2)} | {_pct(t.residual_with_veto, n, 2)} "
            f"| {_pct(t.extra_review, n)} |"
        )
    return "\n".join(lines)


def format_timing(timing: Timing, load_s: float) -> str:
    """Median milliseconds per cell of each engine, and the model's load time."""

    def median(values: list[float]) -> str:
        return f"{statistics.median(values):.1f}" if values else "–"

    return (
        f"ms per cell (median over pages, one thread): pp-ink {median(timing.ink_ms)} wall, "
        f"{median(timing.ink_cpu_ms)} CPU; pp-own {median(timing.own_ms)} wall, "
        f"{median(timing.own_cpu_ms)} CPU; model load {load_s:.2f} s"
    )


def main(argv: Sequence[str]) -> int:
    """Run the cell-level benchmark; figures on stdout, progress on stderr."""
    parser = argparse.ArgumentParser(prog="python -m bench recogniser", description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--json", type=Path, dest="json_out", help="write per-field rows here")
    parser.add_argument("--limit", type=int, help="only the first N documents")
    parser.add_argument(
        "--from-json", type=Path, help="print the figures of rows saved by --json, reading nothing"
    )
    args = parser.parse_args(list(argv))
    if args.from_json is not None:
        rows = json.loads(args.from_json.read_text(encoding="utf-8"))
        sys.stdout.write(format_table(tally(rows)) + "\n")
        return 0
    cases = load_truth_cases(args.directory)[: args.limit]
    if not cases:
        sys.stderr.write(f"bench recogniser: no *.truth.json under {args.directory}\n")
        return 2
    started = time.perf_counter()
    load_recogniser()
    load_s = time.perf_counter() - started
    timing, rows = Timing(), []
    for n, case in enumerate(cases, 1):
        try:
            case_rows = run_case(case, timing)
        except OcrError as exc:  # a refused document: every field is wrong for every system
            sys.stderr.write(f"[{n}/{len(cases)}] {case.truth_path.name}: {exc.code}\n")
            case_rows = [_refused_row(case, key, want) for key, want in case.truth.items()]
        rows += case_rows
        right = sum(r["pp-own"] == r["truth"] for r in case_rows)
        sys.stderr.write(
            f"[{n}/{len(cases)}] {case.truth_path.name}: pp-own {right}/{len(case_rows)}\n"
        )
    sys.stdout.write(format_table(tally(rows)) + "\n" + format_timing(timing, load_s) + "\n")
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def _refused_row(case: TruthCase, key: tuple[str, str], want: int | None) -> dict[str, object]:
    slices = case.slices + _field_slices(key, want, case.texts.get(key, ""))
    row: dict[str, object] = {"case": case.truth_path.name, "row_key": key[0], "field": key[1]}
    row.update({"truth": want, "slices": slices, "flagged": True, "has_cells": False})
    row.update(dict.fromkeys(SYSTEMS, "refused"))  # equals no truth
    return row
