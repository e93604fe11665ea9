"""The reading pipeline: pages in, one Reading per (row, field) of the layout out.

Contract: ``extract`` always returns exactly one reading per ``layout.field_keys()``
entry, in layout order. A row that cannot be found is a reading with reason
``row_not_found``, never a silent zero; rules flag readings, never change them.
Whole-document failures (no table anywhere, not this form) raise ``InputError``s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ocr.checks import apply_checks, support_by_arithmetic
from ocr.clean import clean_page
from ocr.combined import CombinedReader
from ocr.confidence import SPILLED, Evidence, probability
from ocr.errors import TableNotFoundError, WrongFormError
from ocr.grid import detect_grid
from ocr.labels import (
    LABEL_LINES,
    MAX_WIDTH_LINES,
    PREFIX_WIDTH_LINES,
    estimate_line_height_px,
    read_texts,
)
from ocr.layout import Layout, Row
from ocr.match import (
    RowText,
    best_label_similarity,
    label_column,
    map_columns,
    match_rows,
    uncertain_rows,
)
from ocr.numbers import join_spilled
from ocr.read import PageKindReader, Reader
from ocr.reasons import Reason
from ocr.types import Box, CellText, Extraction, Grid, MatchedRow, Page, Reading, ReadingStatus

log = logging.getLogger(__name__)

# Header text is looked for in at most this many rows above the first matched row.
HEADER_ROWS = 3
# Fewer matched rows than this share of the layout's rows means another form.
MIN_MATCHED_SHARE = 0.25
# Reasons that only explain a low confidence; alone they do not send a reading to
# review (the calibrated confidence already accounts for them).
EXPLANATORY_REASONS = frozenset({Reason.READS_DISAGREE, Reason.OCR_SUBSTITUTION})
# When a single-value field is filled in both sub-columns, the doubt costs this much.
BOTH_FILLED_CONFIDENCE = 0.3
# A half of a spilled amount that parses as no number alone (".000") has no engine
# score of its own; it counts as this sure, so the join's confidence rests on the
# other half and on the calibration of the ``spilled`` bucket.
SPILL_UNPARSED_SCORE = 0.9
# Reasons a half of a spilled amount has only because it is half a number.
_HALF_REASONS = frozenset(
    {Reason.UNREADABLE, Reason.NOT_INTEGER, Reason.BAD_GROUPING, Reason.NOT_A_NUMBER}
)


@dataclass(frozen=True)
class _PageTable:
    page: Page
    grid: Grid
    label_col: int


def extract(
    pages: Sequence[Page],
    layout: Layout,
    *,
    reader: Reader | None = None,
    on_page_read: Callable[[int], None] | None = None,
) -> Extraction:
    """Read a submission's pages (already loaded, in order) against a layout."""
    return extract_cleaned(
        [clean_page(p) for p in pages], layout, reader=reader, on_page_read=on_page_read
    )


def extract_cleaned(
    cleaned: Sequence[Page],
    layout: Layout,
    *,
    reader: Reader | None = None,
    on_page_read: Callable[[int], None] | None = None,
) -> Extraction:
    """Run ``extract`` on pages already passed through ``clean_page``.

    The service keeps the cleaned pages, to show reviewers the very pixels the boxes
    refer to.

    ``on_page_read(n)`` is told after each page's values are read that ``n`` pages are
    done, for progress reports on long documents.
    """
    pages = cleaned
    tables, warnings = _find_tables(cleaned)
    matches, extra, headers = _match_rows(tables, layout)
    warnings += extra
    _check_form(matches, layout)
    columns = _map_all_columns(tables, matches, headers, layout)
    readings = _read_fields(tables, matches, columns, layout, reader, on_page_read)
    if on_page_read is not None:
        on_page_read(len(pages))
    readings = apply_checks(support_by_arithmetic(readings, layout), layout)
    return Extraction(
        layout_id=layout.id,
        layout_version=layout.version,
        readings=tuple(readings),
        pages=len(pages),
        warnings=tuple(warnings),
        grids=tuple(t.grid for t in tables),
        matches=tuple(matches),
    )


def _find_tables(pages: Sequence[Page]) -> tuple[list[_PageTable], list[str]]:
    tables: list[_PageTable] = []
    warnings: list[str] = []
    for page in pages:
        if page.turned_deg:
            warnings.append(turned_warning(page))
        grid = detect_grid(page.image, page_index=page.index)
        if grid is None:
            warnings.append(f"page {page.index + 1}: no ruled table found; page skipped")
            continue
        tables.append(_PageTable(page=page, grid=grid, label_col=label_column(grid)))
    if not tables:
        raise TableNotFoundError("No ruled table was found on any page.")
    return tables, warnings


def turned_warning(page: Page) -> str:
    """The warning that a page was read after turning it upright.

    Uploaders should know, so that the next scan is fed the right way round, and a
    reviewer who sees the cleaned page turned is not surprised.
    """
    return f"page {page.index + 1} was turned by {page.turned_deg}°"


def _label_box(table: _PageTable, row: int) -> Box:
    """The row's label cell.

    The row number column is left out: its rule and digits only confuse the reading
    of the label, and order is already known from position.
    """
    return table.grid.cell_box(row, table.label_col)


def _match_rows(
    tables: list[_PageTable], layout: Layout
) -> tuple[list[MatchedRow], list[str], dict[tuple[int, int, int], str]]:
    """Match rows by label prefixes, then re-read in full only the uncertain rows.

    The prefixes (and the top rows' header cells) are read once; the rows they leave
    uncertain are read whole and matched again.
    """
    rows: list[RowText] = []
    headers: dict[tuple[int, int, int], str] = {}
    line_px: dict[int, int] = {}
    for table in tables:
        page_rows, page_headers, line_px[table.grid.page_index] = _read_prefixes(table)
        rows += page_rows
        headers.update(page_headers)
    matches, warnings = match_rows(rows, layout)
    doubtful = uncertain_rows(rows, layout, matches)
    if doubtful:
        rows = _reread_rows(tables, rows, doubtful, line_px, layout)
        matches, warnings = match_rows(rows, layout)
    return matches, warnings, headers


def _read_prefixes(
    table: _PageTable,
) -> tuple[list[RowText], dict[tuple[int, int, int], str], int]:
    """Read every label's first line and the top rows' header cells, in one OCR call.

    The header cells are those right of the label column in the top rows (where the
    header is, if the page has one).
    """
    grid = table.grid
    labels = [_label_box(table, r) for r in range(grid.n_rows)]
    line_px = estimate_line_height_px(table.page.image, labels[len(labels) // 2])
    top = [
        (r, c)
        for r in range(min(HEADER_ROWS + 2, grid.n_rows))
        for c in range(table.label_col + 1, grid.n_cols)
    ]
    boxes = labels + [grid.cell_box(r, c) for r, c in top]
    texts = read_texts(
        table.page, boxes, line_height_px=line_px, max_lines=1, max_width_lines=PREFIX_WIDTH_LINES
    )
    page = grid.page_index
    rows = [
        RowText(page_index=page, grid_row=r, text=t) for r, t in enumerate(texts[: grid.n_rows])
    ]
    headers = {(page, r, c): t for (r, c), t in zip(top, texts[grid.n_rows :], strict=True)}
    return rows, headers, line_px


def _reread_rows(
    tables: list[_PageTable],
    rows: list[RowText],
    doubtful: list[int],
    line_px: dict[int, int],
    layout: Layout,
) -> list[RowText]:
    """Replace the prefix of each doubtful row by its whole label (one call per page)."""
    updated = list(rows)
    for table in tables:
        page = table.grid.page_index
        mine = [i for i in doubtful if rows[i].page_index == page]
        if not mine:
            continue
        boxes = [_label_box(table, rows[i].grid_row) for i in mine]
        texts = read_texts(
            table.page,
            boxes,
            line_height_px=line_px[page],
            max_lines=LABEL_LINES,
            max_width_lines=MAX_WIDTH_LINES,
        )
        for i, text in zip(mine, texts, strict=True):
            # A whole label read worse than its prefix (a stamp, a cut line) is no
            # improvement: keep whichever text resembles some label more.
            if best_label_similarity(text, layout) >= best_label_similarity(rows[i].text, layout):
                updated[i] = replace(rows[i], text=text)
    return updated


def _check_form(matches: list[MatchedRow], layout: Layout) -> None:
    if len(matches) < MIN_MATCHED_SHARE * len(layout.rows):
        raise WrongFormError(
            f"The table does not look like '{layout.title}': only {len(matches)} of "
            f"{len(layout.rows)} rows were recognised."
        )


def _map_all_columns(
    tables: list[_PageTable],
    matches: list[MatchedRow],
    headers: dict[tuple[int, int, int], str],
    layout: Layout,
) -> dict[int, dict[str, int]]:
    """Column mapping per page; a page without a header inherits the previous page's."""
    result: dict[int, dict[str, int]] = {}
    previous: tuple[Grid, dict[str, int]] | None = None
    for table in tables:
        page = table.grid.page_index
        first = min(
            (m.grid_row for m in matches if m.page_index == page), default=table.grid.n_rows
        )
        header = _header_texts(table, headers, first)
        if not any(header.values()) and previous and previous[0].n_cols == table.grid.n_cols:
            mapping = dict(previous[1])
        else:
            mapping = map_columns(table.grid, header, layout, label_col=table.label_col)
        result[page] = mapping
        previous = (table.grid, mapping)
    return result


def _header_texts(
    table: _PageTable, headers: dict[tuple[int, int, int], str], first_body_row: int
) -> dict[int, str]:
    """Text above the body in each column right of the label column."""
    page = table.grid.page_index
    top = max(0, first_body_row - HEADER_ROWS)
    return {
        c: " ".join(headers.get((page, r, c), "") for r in range(top, first_body_row)).strip()
        for c in range(table.label_col + 1, table.grid.n_cols)
    }


def _read_fields(
    tables: list[_PageTable],
    matches: list[MatchedRow],
    columns: dict[int, dict[str, int]],
    layout: Layout,
    reader: Reader | None,
    on_page_read: Callable[[int], None] | None = None,
) -> list[Reading]:
    by_key = {m.row_key: m for m in matches}
    by_page = {t.grid.page_index: t for t in tables}
    requests: dict[int, list[tuple[str, str, str, Box]]] = {}
    for row in layout.numeric_rows:
        match = by_key.get(row.key)
        if match is None:
            continue
        table = by_page[match.page_index]
        for field in row.fields:
            for col_key in layout.fields[field].columns:
                g = columns[match.page_index].get(col_key)
                if g is not None:
                    box = table.grid.cell_box(match.grid_row, g)
                    requests.setdefault(match.page_index, []).append((row.key, field, col_key, box))
    cells: dict[tuple[str, str], list[tuple[str, Box, int, CellText]]] = {}
    for done, (page_index, reqs) in enumerate(sorted(requests.items()), 1):
        table = by_page[page_index]
        engine = reader or _default_reader()
        texts = engine.read_cells(table.page, [r[3] for r in reqs], grid=table.grid)
        for (row_key, field, col_key, box), text in zip(reqs, texts, strict=True):
            cells.setdefault((row_key, field), []).append((col_key, box, page_index, text))
        if on_page_read is not None and done < len(requests):
            on_page_read(done)
    return [
        _reading(layout, row_key, field, cells.get((row_key, field)))
        for row_key, field in layout.field_keys()
    ]


def _default_reader() -> Reader:
    """Text layer where a page has one; Tesseract, PP-OCR and the digit model on scans."""
    return PageKindReader(CombinedReader())


def _reading(
    layout: Layout, row_key: str, field: str, cells: list[tuple[str, Box, int, CellText]] | None
) -> Reading:
    if not cells:
        return Reading(
            row_key=row_key,
            field=field,
            value=None,
            text="",
            confidence=0.0,
            status=ReadingStatus.UNREADABLE,
            reasons=(Reason.ROW_NOT_FOUND,),
        )
    filled = [c for c in cells if c[3].has_ink]
    if not filled:
        return _blank_reading(layout, row_key, field, cells)
    col_key, box, page_index, text = filled[0]
    if len(filled) == 2:
        text = _spilled(filled[0][3], filled[1][3]) or text
    reasons = list(text.reasons)
    confidence = text.confidence
    values = {c[3].value for c in filled}
    if len(filled) > 1 and len(values) > 1 and text.bucket != SPILLED:
        reasons.append(Reason.BOTH_COLUMNS_FILLED)
        confidence = min(confidence, BOTH_FILLED_CONFIDENCE)
    reading = _finish(
        layout,
        layout.row(row_key),
        field,
        text=text.text,
        value=text.value,
        confidence=confidence,
        reasons=reasons,
        where=(page_index, box, col_key),
    )
    return replace(
        reading,
        bucket=text.bucket,
        score=text.score,
        suggestion=text.suggestion,
        alternatives=text.alternatives,
    )


def _spilled(left: CellText, right: CellText) -> CellText | None:
    """One long amount written across both cells of a single-value row, if that is what it is.

    "172.100.000 đồng" spilling over the sub-column rule is read as "172.1" and
    "00.000"; when the joined text groups as one number (``ocr.numbers.join_spilled``)
    and the join is sure, the row's value is the joined number, as doubtful as its
    weaker half (bucket ``spilled``, calibrated). An unsure join (two plain numbers)
    stays a both-columns doubt, with the joined number among the alternatives.
    """
    spill = join_spilled(left.text, right.text)
    if spill is None:
        return None
    if not spill.is_sure:
        options = (left.value, spill.value, *left.alternatives, right.value)
        alternatives = tuple(dict.fromkeys(v for v in options if v is not None))
        return replace(left, alternatives=alternatives)
    halves = (left, right)
    kept = [r for h in halves for r in h.reasons if r not in _HALF_REASONS]
    score = min(h.score if h.value is not None else SPILL_UNPARSED_SCORE for h in halves)
    evidence = Evidence(SPILLED, score)
    return CellText(
        text=spill.text,
        value=spill.value,
        confidence=probability(evidence),
        reasons=tuple(dict.fromkeys(kept)),
        bucket=SPILLED,
        score=score,
    )


def _blank_reading(
    layout: Layout, row_key: str, field: str, cells: list[tuple[str, Box, int, CellText]]
) -> Reading:
    """Blank means "not reported" (null), never zero; a doubtful blank goes to review."""
    weakest = min(cells, key=lambda c: c[3].confidence)
    col_key, box, page_index, text = weakest
    is_sure = text.confidence >= layout.review.min_confidence
    return Reading(
        row_key=row_key,
        field=field,
        value=None,
        text="",
        confidence=round(text.confidence, 4),
        status=ReadingStatus.EMPTY if is_sure else ReadingStatus.NEEDS_REVIEW,
        reasons=() if is_sure else (Reason.LOW_CONFIDENCE,),
        page_index=page_index,
        box=box,
        column_key=col_key,
        bucket=text.bucket,
        score=text.score,
    )


def _finish(
    layout: Layout,
    row: Row,
    field: str,
    *,
    text: str,
    value: int | None,
    confidence: float,
    reasons: list[str],
    where: tuple[int, Box, str],
) -> Reading:
    is_doubtful = confidence < layout.review.min_confidence
    if value is None:
        status = ReadingStatus.UNREADABLE
        if Reason.UNREADABLE not in reasons:
            reasons.append(Reason.UNREADABLE)
    elif is_doubtful:
        status = ReadingStatus.NEEDS_REVIEW
        reasons.insert(0, Reason.LOW_CONFIDENCE)
    elif any(r not in EXPLANATORY_REASONS for r in reasons):
        status = ReadingStatus.NEEDS_REVIEW
    else:
        status = ReadingStatus.OK
    if status is ReadingStatus.OK or (not is_doubtful and value is not None):
        # Explanations of a low confidence are noise on a reading that is trusted.
        reasons = [r for r in reasons if r not in EXPLANATORY_REASONS]
    page_index, box, col_key = where
    return Reading(
        row_key=row.key,
        field=field,
        value=value,
        text=text,
        confidence=round(confidence, 4),
        status=status,
        reasons=tuple(reasons),
        page_index=page_index,
        box=box,
        column_key=col_key,
    )
