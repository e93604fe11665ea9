"""Totals, CSV, XLSX and charts of a campaign (the only module that imports pandas).

Exact integers: a value column is pandas' nullable ``Int64`` (never float, so a blank
never turns a sum into NaN arithmetic); sums are taken over the reported values only,
cast to ``int64``, and ``n_reported`` counts them. A total with ``n_reported == 0``
is blank, not zero: nobody reported that field. Totals of 64-bit integers are exact
far beyond the money this form carries (hundreds of millions of đồng).

Every text a person typed or registered (unit names, labels) that starts with ``=``,
``+``, ``-``, ``@`` (or a tab or carriage return) is neutralised with a leading ``'``
in CSV and XLSX alike: spreadsheet programs would otherwise run it as a formula.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ocr.layout import Layout, Row, load_layout
from service.reports.aggregate import Facts, UnitInfo

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
TITLE_NOTE = "(Kèm theo Báo cáo kết quả tổ chức Tuần lễ)"
MONEY_UNIT = "đồng"
MONEY_FORMAT = "#,##0"
# Columns of the long CSV, in order (documented in the README).
CSV_COLUMNS = (
    "campaign",
    "unit_code",
    "unit_name",
    "district",
    "row_key",
    "field",
    "value",
    "status",
    "submission_status",
    "source_submission",
)
TOTAL_COLUMNS = ("total", "n_reported", "n_submitted", "n_expected", "includes_unreviewed")


def neutralise(text: str) -> str:
    """``text`` as a literal for spreadsheets: a leading ``'`` when it could be a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


# --- frames ---------------------------------------------------------------------------


def readings_frame(facts: Facts) -> pd.DataFrame:
    """One row per reading of an included submission (the long format, unneutralised)."""
    units = {u.id: u for u in facts.units}
    latest = {s.id: s for s in facts.latest.values()}
    records = [
        {
            "campaign": facts.campaign_id,
            "unit_code": units[r.unit_id].code,
            "unit_name": units[r.unit_id].name,
            "district": units[r.unit_id].district_code,
            "row_key": r.row_key,
            "field": r.field,
            "value": r.value,
            "status": r.status,
            "submission_status": latest[r.submission_id].status,
            "source_submission": r.submission_id,
            "reading_id": r.id,
            "position": r.position,
        }
        for r in facts.readings
    ]
    frame = pd.DataFrame.from_records(records, columns=[*CSV_COLUMNS, "reading_id", "position"])
    return frame.astype(
        {"value": "Int64", "campaign": "int64", "source_submission": "int64", "position": "int64"}
    )


def totals(facts: Facts, layout: Layout, *, by: str) -> pd.DataFrame:
    """Totals of every (row_key, field) of the layout per group, in the layout's order.

    ``by`` is ``"district"`` or ``"province"`` (a group per district or province) or
    ``"target"`` (one group: the report's unit, or everything). Index: (group, row_key,
    field); columns
    ``TOTAL_COLUMNS``: ``total`` (int64, 0 when ``n_reported`` is 0: read it as blank),
    ``n_reported`` (units that gave the field a value), ``n_submitted`` (units whose
    submission is included), ``n_expected`` and ``includes_unreviewed``.
    """
    group_of = _group_of(facts, by)
    groups = sorted(set(group_of.values()))
    keys = layout.field_keys()
    index = pd.MultiIndex.from_tuples(
        [(g, row, field) for g in groups for row, field in keys],
        names=["group", "row_key", "field"],
    )
    frame = readings_frame(facts)
    frame["group"] = frame["unit_code"].map(_code_group(facts, group_of))
    reported = frame[frame["value"].notna()].astype({"value": "int64"})
    sums = reported.groupby(["group", "row_key", "field"])["value"].agg(["sum", "count"])
    result = pd.DataFrame(index=index)
    result["total"] = sums["sum"].reindex(index, fill_value=0).astype("int64")
    result["n_reported"] = sums["count"].reindex(index, fill_value=0).astype("int64")
    units_per_group = pd.Series(list(group_of.values())).value_counts()
    submitted = frame.drop_duplicates("unit_code").groupby("group")["unit_code"].count()
    unreviewed = frame["submission_status"] != "clean"
    has_unreviewed = frame[unreviewed].groupby("group").size() > 0
    level0 = result.index.get_level_values("group")
    result["n_submitted"] = submitted.reindex(level0, fill_value=0).to_numpy(dtype="int64")
    result["n_expected"] = units_per_group.reindex(level0, fill_value=0).to_numpy(dtype="int64")
    result["includes_unreviewed"] = has_unreviewed.reindex(level0, fill_value=False).to_numpy(
        dtype=bool
    )
    return result


def _group_of(facts: Facts, by: str) -> dict[int, str]:
    if by == "district":
        return {u.id: u.district_code for u in facts.units}
    if by == "province":
        return {u.id: u.province_code for u in facts.units}
    if by == "target":
        code = "" if facts.target is None else facts.target.code
        return {u.id: code for u in facts.units}
    raise ValueError(f"unknown grouping {by!r}")


def _code_group(facts: Facts, group_of: dict[int, str]) -> dict[str, str]:
    return {u.code: group_of[u.id] for u in facts.units}


def group_names(facts: Facts) -> dict[str, str]:
    """Names of the districts and provinces of ``facts``, by code."""
    names = {u.district_code: u.district_name for u in facts.units}
    names |= {u.province_code: u.province_name for u in facts.units}
    if facts.target is not None:
        names[facts.target.code] = facts.target.name
    return names


def unit_table(facts: Facts, layout: Layout) -> pd.DataFrame:
    """Rows (row_key, field) in layout order, a column per unit code (nullable Int64)."""
    frame = readings_frame(facts)
    index = pd.MultiIndex.from_tuples(layout.field_keys(), names=["row_key", "field"])
    wide = frame.pivot_table(
        index=["row_key", "field"], columns="unit_code", values="value", aggfunc="first"
    )
    wide = wide.reindex(index=index, columns=[u.code for u in facts.units])
    return wide.astype("Int64")


# --- CSV ------------------------------------------------------------------------------


def to_csv(facts: Facts) -> bytes:
    """The long CSV (``CSV_COLUMNS``), UTF-8 with a BOM so Excel reads Vietnamese right."""
    frame = readings_frame(facts)[list(CSV_COLUMNS)].copy()
    for column in ("unit_name", "unit_code", "district"):
        frame[column] = frame[column].map(neutralise)
    text: str = frame.to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")


# --- XLSX -----------------------------------------------------------------------------


def to_xlsx(facts: Facts, layout: Layout) -> bytes:
    """The official summary table for ``facts.target``, a sheet per unit, missing units."""
    totals_frame = totals(facts, layout, by="target")
    group = "" if facts.target is None else facts.target.code
    figures: dict[tuple[str, str], tuple[int, int]] = {}
    if len(totals_frame):
        for (_, row, field), t in totals_frame.loc[[group]].iterrows():
            figures[(row, field)] = (int(t["total"]), int(t["n_reported"]))
    book = _new_book()
    _summary_sheet(
        book,
        layout,
        figures=figures,
        expected=len(facts.units),
        heading=_heading(facts, is_unreviewed=bool(totals_frame["includes_unreviewed"].any())),
    )
    _units_sheet(book, layout, facts.units, unit_table(facts, layout))
    if facts.target is not None and facts.target.kind == "province":
        by_district = totals(facts, layout, by="district")
        _districts_sheet(book, layout, by_district, group_names(facts))
    _missing_sheet(book, missing_units(facts))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _heading(facts: Facts, *, is_unreviewed: bool) -> str:
    who = "Tất cả đơn vị" if facts.target is None else facts.target.name
    text = f"Đơn vị: {who} — {facts.campaign_name} ({facts.year})"
    if is_unreviewed:
        text += " — CÓ SỐ LIỆU CHƯA DUYỆT (includes unreviewed)"
    return text


def missing_units(facts: Facts) -> list[tuple[UnitInfo, str]]:
    """Expected units whose data is not in the totals, with why (Vietnamese, for print)."""
    why = {
        "needs_review": "chưa duyệt xong",
        "failed": "phiếu không đọc được",
        "received": "đang xử lý",
        "processing": "đang xử lý",
    }
    result = []
    for unit in facts.units:
        submission = facts.latest.get(unit.id)
        if submission is None:
            result.append((unit, "chưa nộp"))
        elif not facts.is_included(submission):
            result.append((unit, why.get(submission.status, submission.status)))
    return result


def export_file(facts: Facts, *, file_format: str) -> bytes:
    """The report as a file: ``csv`` (long format) or ``xlsx`` (the official table)."""
    if file_format == "csv":
        return to_csv(facts)
    return to_xlsx(facts, load_layout(facts.layout_id))


# --- charts ---------------------------------------------------------------------------


def chart_png(facts: Facts, layout: Layout, row: Row) -> bytes:
    """Totals of one row by district, a bar per field (PNG, matplotlib's Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    frame = totals(facts, layout, by="district").xs(row.key, level="row_key")
    districts = sorted({g for g, _ in frame.index})
    names = group_names(facts)
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        width = 0.8 / max(len(row.fields), 1)
        for i, field in enumerate(row.fields):
            values = [int(frame.loc[(d, field), "total"]) for d in districts]
            positions = [x + i * width for x in range(len(districts))]
            axes.bar(positions, values, width=width, label=layout.fields[field].title)
        axes.set_xticks([x + width * (len(row.fields) - 1) / 2 for x in range(len(districts))])
        axes.set_xticklabels([names.get(d, d) for d in districts], rotation=20, ha="right")
        axes.set_title(_short(f"{row.number or row.key}. {row.label}"), fontsize=10)
        axes.set_ylabel(row.unit)
        axes.legend(fontsize=8)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    finally:
        plt.close(figure)
    return buffer.getvalue()


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- XLSX sheets (openpyxl) -----------------------------------------------------------

SUMMARY_SHEET = "Tổng hợp"
UNITS_SHEET = "Theo đơn vị"
DISTRICTS_SHEET = "Theo huyện"
MISSING_SHEET = "Chưa báo cáo"
HEADER_TOP = 5  # first of the two header rows of the official table
FIRST_DATA_ROW = HEADER_TOP + 2
# Widths in characters of STT | Các hoạt động | Đơn vị | Số lớp | Người | Ghi chú: about
# 190 mm together, the printable width of A4 portrait with default margins.
SUMMARY_WIDTHS = (6, 52, 13, 12, 14, 16)


def _new_book() -> Workbook:
    book = Workbook()
    book.remove(book.active)
    return book


def _summary_sheet(
    book: Workbook,
    layout: Layout,
    *,
    figures: dict[tuple[str, str], tuple[int, int]],
    expected: int,
    heading: str,
) -> None:
    """The official table: title, header rows, the layout's rows in order, signatures."""
    sheet = book.create_sheet(SUMMARY_SHEET)
    bold, center = (
        Font(bold=True),
        Alignment(horizontal="center", vertical="center", wrap_text=True),
    )
    for row_no, text, font in (
        (1, layout.title, Font(bold=True, size=13)),
        (2, TITLE_NOTE, Font(italic=True)),
        (3, heading, Font(italic=True, size=10)),
    ):
        sheet.merge_cells(start_row=row_no, start_column=1, end_row=row_no, end_column=6)
        cell = sheet.cell(row_no, 1, neutralise(text))
        cell.font, cell.alignment = font, center
    _summary_header(sheet, layout, bold, center)
    row_no = FIRST_DATA_ROW
    for row in layout.rows:
        _summary_row(sheet, row_no, row, figures=figures, expected=expected)
        row_no += 1
    _borders(sheet, HEADER_TOP, row_no - 1, 6)
    _signatures(sheet, row_no + 1, bold)
    for i, width in enumerate(SUMMARY_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    _print_setup(sheet, f"{HEADER_TOP}:{HEADER_TOP + 1}")


def _summary_header(sheet: Worksheet, layout: Layout, bold: Font, center: Alignment) -> None:
    top, below = HEADER_TOP, HEADER_TOP + 1
    headers = {c.role: c.header for c in layout.table.columns}
    values = layout.table.value_columns
    for column, text in ((1, headers["row_number"]), (2, headers["label"]), (3, headers["unit"])):
        sheet.merge_cells(start_row=top, start_column=column, end_row=below, end_column=column)
        sheet.cell(top, column, text)
    sheet.merge_cells(start_row=top, start_column=4, end_row=top, end_column=5)
    sheet.cell(top, 4, "Số lượng")
    sheet.cell(below, 4, values[0].header)
    sheet.cell(below, 5, values[1].header)
    sheet.merge_cells(start_row=top, start_column=6, end_row=below, end_column=6)
    sheet.cell(top, 6, headers.get("note", "Ghi chú"))
    for row in (top, below):
        for column in range(1, 7):
            cell = sheet.cell(row, column)
            cell.font, cell.alignment = bold, center


def _summary_row(
    sheet: Worksheet,
    row_no: int,
    row: Row,
    *,
    figures: dict[tuple[str, str], tuple[int, int]],
    expected: int,
) -> None:
    is_heading = row.kind in ("section", "total")
    sheet.cell(row_no, 1, neutralise(row.number)).alignment = Alignment(horizontal="center")
    label = sheet.cell(row_no, 2, neutralise(row.label))
    label.alignment = Alignment(wrap_text=True, vertical="center")
    sheet.cell(row_no, 3, neutralise(row.unit)).alignment = Alignment(horizontal="center")
    if is_heading:
        for column in (1, 2):
            sheet.cell(row_no, column).font = Font(bold=True)
    # A single-value row is printed in the first sub-column, as clerks usually type it.
    reported = []
    for column, field in enumerate(row.fields, start=4):
        total, n_reported = figures.get((row.key, field), (0, 0))
        reported.append(n_reported)
        if n_reported == 0:
            continue  # nobody reported it: blank, not zero
        cell = sheet.cell(row_no, column, total)
        if row.unit == MONEY_UNIT:
            cell.number_format = MONEY_FORMAT
    if reported and min(reported) < expected:
        sheet.cell(row_no, 6, f"{min(reported)}/{expected} đơn vị báo cáo")


def _borders(sheet: Worksheet, first: int, last: int, columns: int) -> None:
    thin = Side(style="thin")
    for row in sheet.iter_rows(min_row=first, max_row=last, max_col=columns):
        for cell in row:
            cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)


def _signatures(sheet: Worksheet, row_no: int, bold: Font) -> None:
    sheet.cell(row_no, 2, "NGƯỜI LẬP BIỂU").font = bold
    sheet.merge_cells(start_row=row_no, start_column=4, end_row=row_no, end_column=6)
    sheet.cell(row_no, 4, "THỦ TRƯỞNG ĐƠN VỊ").font = bold
    sheet.cell(row_no + 1, 2, "(Ký, ghi rõ họ tên)").font = Font(italic=True)
    sheet.merge_cells(start_row=row_no + 1, start_column=4, end_row=row_no + 1, end_column=6)
    sheet.cell(row_no + 1, 4, "(Ký tên, đóng dấu)").font = Font(italic=True)
    for column in (2, 4):
        for row in (row_no, row_no + 1):
            sheet.cell(row, column).alignment = Alignment(horizontal="center")


def _print_setup(sheet: Worksheet, title_rows: str | None) -> None:
    """A4 portrait, as wide as the page, header rows repeated on every page."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    if title_rows is not None:
        sheet.print_title_rows = title_rows


def _field_rows(sheet: Worksheet, layout: Layout, first_row: int) -> None:
    """Columns A-D of a wide sheet: row key, printed number, label, field title."""
    rows = {r.key: r for r in layout.rows}
    for offset, (row_key, field) in enumerate(layout.field_keys()):
        row = rows[row_key]
        values = (row_key, row.number, row.label, layout.fields[field].title)
        for column, text in enumerate(values, start=1):
            sheet.cell(first_row + offset, column, neutralise(text))


def _wide_header(sheet: Worksheet, header_rows: Sequence[Sequence[str]]) -> None:
    for column, text in enumerate(("row_key", "STT", "Các hoạt động", "Chỉ tiêu"), start=1):
        sheet.cell(1, column, text).font = Font(bold=True)
    for row_no, texts in enumerate(header_rows, start=1):
        for column, text in enumerate(texts, start=5):
            sheet.cell(row_no, column, neutralise(text)).font = Font(bold=True)
    sheet.column_dimensions["C"].width = 50
    sheet.freeze_panes = sheet.cell(len(header_rows) + 1, 5)


def _units_sheet(
    book: Workbook, layout: Layout, units: Sequence[UnitInfo], table: pd.DataFrame
) -> None:
    """One column per unit (code, name, district on top), one row per field."""
    sheet = book.create_sheet(UNITS_SHEET)
    _wide_header(
        sheet,
        [[u.code for u in units], [u.name for u in units], [u.district_code for u in units]],
    )
    _field_rows(sheet, layout, first_row=4)
    for column, unit in enumerate(units, start=5):
        for offset, value in enumerate(table[unit.code].tolist()):
            if value is not pd.NA:
                sheet.cell(4 + offset, column, int(value))
    _print_setup(sheet, "1:3")
    sheet.page_setup.orientation = "landscape"


def _districts_sheet(
    book: Workbook, layout: Layout, frame: pd.DataFrame, names: dict[str, str]
) -> None:
    """One column per district: its totals (blank where no unit reported the field)."""
    sheet = book.create_sheet(DISTRICTS_SHEET)
    districts = sorted({g for g, _, _ in frame.index})
    _wide_header(sheet, [districts, [names.get(d, d) for d in districts]])
    _field_rows(sheet, layout, first_row=3)
    for column, district in enumerate(districts, start=5):
        for offset, (row_key, field) in enumerate(layout.field_keys()):
            figure = frame.loc[(district, row_key, field)]
            if int(figure["n_reported"]) > 0:
                sheet.cell(3 + offset, column, int(figure["total"]))
    _print_setup(sheet, "1:2")
    sheet.page_setup.orientation = "landscape"


def _missing_sheet(book: Workbook, missing: Sequence[tuple[UnitInfo, str]]) -> None:
    sheet = book.create_sheet(MISSING_SHEET)
    for column, text in enumerate(("Mã đơn vị", "Tên đơn vị", "Huyện", "Tình trạng"), start=1):
        sheet.cell(1, column, text).font = Font(bold=True)
    for row_no, (unit, why) in enumerate(missing, start=2):
        for column, text in enumerate((unit.code, unit.name, unit.district_code, why), start=1):
            sheet.cell(row_no, column, neutralise(text))
    sheet.column_dimensions["B"].width = 45
    _print_setup(sheet, "1:1")
