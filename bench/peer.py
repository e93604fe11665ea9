"""A peer system for ``python -m bench accuracy --peer img2table``: img2table on the same pages.

`img2table <https://github.com/xavctn/img2table>`_ finds ruled tables with OpenCV and
fills their cells with an OCR engine. Here it runs with its Tesseract backend and the
Vietnamese model (``vie``, the model formscan reads labels with), one Tesseract
thread (``OMP_THREAD_LIMIT=1``, as formscan runs it), ruled tables only
(``implicit_rows=False``, ``borderless_tables=False``) and its default word
confidence cut (``min_confidence=50``), with its own deskew (``detect_rotation=True``):
formscan deskews every scan, and without it img2table finds no table on pages skewed
by a degree or two. A born-digital PDF is read from its text layer, as img2table does
by default, just as formscan does.

Its tables are mapped to the layout with formscan's own logic, so both systems get
the same row and column decisions and only the table finding and cell reading differ:

- per table, the label column is the one holding the most text; a row's label is its
  cell there (or, when that is empty, its cells that are not numbers, joined);
- rows are assigned to layout rows by ``ocr.match.match_rows`` over all tables of
  the submission in page order;
- value columns are found by ``ocr.match.map_columns`` from the header text above
  the first matched row (which falls back to the printed order right of the label:
  unit, count, people, note); a table without a header reuses the previous table's
  columns when it has as many;
- a cell's text is parsed by ``ocr.numbers.parse_number``; a single-value field takes
  the first of its sub-columns that holds a number. img2table 2.0 writes the word
  ``None`` into a cell for a word it dropped as noise (a lone ``|``, ``_``...); that
  placeholder is removed first, as img2table means it to be.

img2table removes every row and column whose cells all came out empty after OCR (a
value column it read nothing in disappears; the header text then still places the
others), and may then reject the whole table as irregular; such a document is "no
table found" here, as it is for any img2table user.

How the result is scored: img2table gives no per-cell confidence, so every value it
returns is *accepted* (``flagged`` is always False). A field it could not produce (row
not found, cell empty or not a number) has ``value`` None and is also not flagged:
that is how a system without review behaves, and it counts as wrong, and as residual
error, whenever the truth is a number. When img2table raises or finds no table, every
field is None and the result carries ``error``; the benchmark goes on.

``seconds`` is the wall time of the whole case: loading the files, img2table's table
detection and OCR, and the mapping above. img2table is an optional dependency
(``pip install 'formscan[peer]'``), imported only when the peer is asked for.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocr.errors import EngineMissingError
from ocr.layout import Layout, load_layout
from ocr.match import RowText, map_columns, match_rows
from ocr.numbers import parse_number
from ocr.types import Grid

PeerExtractor = Callable[[list[Path], str], dict[str, object]]

# Settings of img2table's own extraction, as documented above.
OCR_LANG = "vie"
MIN_CONFIDENCE = 50
# img2table's own deskew: without it, it finds no table on pages skewed by 1-3 degrees.
DETECT_ROTATION = True
# Rows above the first matched row of a table that may hold its column headers.
HEADER_ROWS = 4
PDF_SUFFIXES = (".pdf",)

_NONE_WORD = re.compile(r"(?<!\S)None(?!\S)")
_NOT_INSTALLED = "img2table is not installed: pip install 'formscan[peer]'"


@dataclass(frozen=True)
class _Table:
    """One table img2table returned: its cell texts, row by row (merged cells repeated)."""

    index: int
    page: int
    cells: list[list[str | None]]
    merged_with_label: list[list[bool]]
    label_col: int


def img2table_extractor() -> PeerExtractor:
    """An extractor (files, layout id) -> extraction dict running img2table.

    Raises ``EngineMissingError`` when img2table, Tesseract or its ``vie`` model is
    missing, so the benchmark stops before running anything.
    """
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        from img2table.ocr import TesseractOCR
    except ImportError as exc:
        raise EngineMissingError(
            _NOT_INSTALLED, fix="Install the extra, or run the benchmark without --peer."
        ) from exc
    from ocr.tesseract import check_engine

    check_engine(OCR_LANG)
    try:
        # TesseractOCR checks the engine by running `tesseract --version` without
        # capturing its output; keep that off stdout, where the bench table goes.
        with _stdout_to_stderr():
            ocr = TesseractOCR(n_threads=1, lang=OCR_LANG)
    except OSError as exc:
        raise EngineMissingError(f"img2table cannot use Tesseract: {exc}") from exc

    def extract(files: list[Path], layout_id: str) -> dict[str, object]:
        return _extract(files, load_layout(layout_id), ocr)

    return extract


def _extract(files: Sequence[Path], layout: Layout, ocr: Any) -> dict[str, object]:
    started = time.perf_counter()
    pages = 0
    try:
        tables, pages = _run_img2table(files, ocr)
        values = _map_to_layout(tables, layout) if tables else {}
        error = None if tables else "img2table found no table"
    except Exception as exc:  # a peer's failure is a result, never a crash of the bench
        values, error = {}, f"img2table failed: {type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - started
    result: dict[str, object] = {
        "layout": layout.id,
        "files": [p.name for p in files],
        "pages": max(pages, len(files)) if error else pages,
        "seconds": round(seconds, 3),
        "fields": [
            {
                "row_key": row_key,
                "field": field,
                "value": values.get((row_key, field)),
                "flagged": False,
                "reasons": [],
            }
            for row_key, field in layout.field_keys()
        ],
    }
    if error:
        result["error"] = error
    return result


def _run_img2table(files: Sequence[Path], ocr: Any) -> tuple[list[_Table], int]:
    """Every table img2table finds in the files, in page order, and the page count."""
    from img2table.document import PDF, Image

    tables: list[_Table] = []
    page = 0
    for path in files:
        if path.suffix.lower() in PDF_SUFFIXES:
            doc = PDF(src=path, detect_rotation=DETECT_ROTATION)
            found = doc.extract_tables(
                ocr=ocr,
                implicit_rows=False,
                borderless_tables=False,
                min_confidence=MIN_CONFIDENCE,
            )
            n_pages = len(doc.pages or [])
            by_page = [found.get(p, []) for p in (doc.pages or [])]
        else:
            found_one = Image(src=path, detect_rotation=DETECT_ROTATION).extract_tables(
                ocr=ocr,
                implicit_rows=False,
                borderless_tables=False,
                min_confidence=MIN_CONFIDENCE,
            )
            n_pages = 1
            by_page = [found_one]
        for offset, page_tables in enumerate(by_page):
            for extracted in page_tables:
                table = _table(len(tables), page + offset, extracted)
                if table is not None:
                    tables.append(table)
        page += n_pages
    return tables, page


def _table(index: int, page: int, extracted: Any) -> _Table | None:
    rows = [list(cells) for cells in extracted.content.values()]
    n_cols = max((len(r) for r in rows), default=0)
    if n_cols < 2:
        return None
    rows = [r + [None] * (n_cols - len(r)) for r in rows]
    texts = [[_clean(c.value) if c is not None else None for c in r] for r in rows]
    letters = [sum(_letters(r[c]) for r in texts) for c in range(n_cols)]
    label_col = max(range(n_cols), key=lambda c: letters[c])
    # A cell merged across the label column (a section title spanning the row) is
    # the label, not a value.
    merged = [
        [
            c != label_col
            and r[c] is not None
            and r[label_col] is not None
            and r[c].bbox == r[label_col].bbox
            for c in range(n_cols)
        ]
        for r in rows
    ]
    return _Table(
        index=index, page=page, cells=texts, merged_with_label=merged, label_col=label_col
    )


def _clean(text: str | None) -> str | None:
    """Drop the literal "None" img2table 2.0 writes for a word it emptied (a lone "|", "_"...)."""
    if text is None:
        return None
    return _NONE_WORD.sub("", text).strip() or None


def _letters(text: str | None) -> int:
    return sum(ch.isalpha() for ch in text or "")


def _row_label(table: _Table, row: int) -> str:
    cells = table.cells[row]
    label = (cells[table.label_col] or "").strip()
    if label:
        return label
    return " ".join(t.strip() for t in cells if t and t.strip() and parse_number(t).value is None)


def _map_to_layout(tables: list[_Table], layout: Layout) -> dict[tuple[str, str], int | None]:
    """Values of the layout's fields read from img2table's tables."""
    row_texts = [
        RowText(page_index=t.index, grid_row=r, text=_row_label(t, r))
        for t in tables
        for r in range(len(t.cells))
    ]
    matches, _warnings = match_rows(row_texts, layout)
    by_table = {t.index: t for t in tables}
    columns = _map_all_columns(tables, {(m.page_index, m.grid_row) for m in matches}, layout)
    values: dict[tuple[str, str], int | None] = {}
    for match in matches:
        table = by_table[match.page_index]
        mapping = columns[table.index]
        row = layout.row(match.row_key)
        for field in row.fields:
            if (row.key, field) in values:
                continue
            values[(row.key, field)] = _field_value(
                table, match.grid_row, [mapping.get(c) for c in layout.fields[field].columns]
            )
    return values


def _map_all_columns(
    tables: list[_Table], matched: set[tuple[int, int]], layout: Layout
) -> dict[int, dict[str, int]]:
    """Column mapping per table; a table without header text inherits the previous one's."""
    result: dict[int, dict[str, int]] = {}
    previous: tuple[int, dict[str, int]] | None = None
    for table in tables:
        n_cols = len(table.cells[0])
        first = min((r for t, r in matched if t == table.index), default=len(table.cells))
        header = {
            c: " ".join(
                dict.fromkeys(
                    (table.cells[r][c] or "").strip()
                    for r in range(max(0, first - HEADER_ROWS), first)
                    if (table.cells[r][c] or "").strip()
                )
            )
            for c in range(table.label_col + 1, n_cols)
        }
        if not any(header.values()) and previous and previous[0] == n_cols:
            mapping = dict(previous[1])
        else:
            # map_columns only needs the column count; edges are column indices here.
            grid = Grid(
                page_index=table.page, row_edges_px=(0, 1), col_edges_px=tuple(range(n_cols + 1))
            )
            mapping = map_columns(grid, header, layout, label_col=table.label_col)
        result[table.index] = mapping
        previous = (n_cols, mapping)
    return result


def _field_value(table: _Table, row: int, cols: list[int | None]) -> int | None:
    """The first sub-column of the field whose cell holds a number, else None."""
    for col in cols:
        if col is None or table.merged_with_label[row][col]:
            continue
        value = parse_number(table.cells[row][col] or "").value
        if value is not None:
            return value
    return None


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send file descriptor 1 (child processes included) to stderr for a moment."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
