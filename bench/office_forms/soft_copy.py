"""The same table as a spreadsheet (openpyxl), as units who keep it in Excel send it.

The header has the template's merged cells (STT, Các hoạt động, Đơn vị and Ghi chú
over two rows, Số lượng over its two sub-columns); values are the texts typed in the
document (``"172.100.000 đồng"`` stays text, a plain number becomes a number, as Excel
would store what a clerk types).
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

from bench.office_forms.docx_form import SUBTITLE, TITLE
from bench.office_forms.spec import FormSpec

# Excel column widths (characters) of STT, label, unit, count, people, note.
COLUMN_WIDTHS = (6, 60, 14, 14, 12, 14)


def _cell_value(text: str) -> str | int:
    return int(text) if text.isdigit() else text


def write_xlsx(spec: FormSpec, path: Path) -> None:
    """Write the form's table to ``path``: title lines, merged header, one row per row."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Tong hop"
    sheet["A1"], sheet["A2"] = TITLE, SUBTITLE
    sheet.merge_cells("A1:F1")
    sheet.merge_cells("A2:F2")
    header = ["STT", "Các hoạt động", spec.header_unit, "Số lượng", None, "Ghi chú"]
    for column, text in enumerate(header, start=1):
        if text is not None:
            sheet.cell(row=4, column=column, value=text)
    sheet.cell(row=5, column=4, value=spec.header_count)
    sheet.cell(row=5, column=5, value="Người")
    for span in ("A4:A5", "B4:B5", "C4:C5", "D4:E4", "F4:F5"):
        sheet.merge_cells(span)
    thin = Side(style="thin")
    for index, printed in enumerate(spec.rows, start=6):
        values = [
            printed.stt,
            printed.label,
            printed.unit,
            _cell_value(printed.count_text),
            _cell_value(printed.people_text),
            printed.note_text,
        ]
        for column, value in enumerate(values, start=1):
            if value != "":
                sheet.cell(row=index, column=column, value=value)
        if printed.is_spill:
            sheet.merge_cells(start_row=index, start_column=4, end_row=index, end_column=5)
        if printed.kind in ("section", "total"):
            sheet.cell(row=index, column=2).font = Font(bold=True)
    for row in sheet.iter_rows(min_row=4, max_row=5 + len(spec.rows), max_col=6):
        for cell in row:
            cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
            cell.alignment = Alignment(wrap_text=True, vertical="center")
    for letter, width in zip("ABCDEF", COLUMN_WIDTHS, strict=True):
        sheet.column_dimensions[letter].width = width
    book.save(path)
