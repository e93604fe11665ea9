"""The form as a real Word document (python-docx): the official table, as units type it.

The table follows the template: STT | Các hoạt động | Đơn vị | Số lượng (split into
"Số lớp/số cuộc thi" and "Người") | Ghi chú, with the header's merged cells, bold
section rows and the 44 printed rows. Word features do the rendering work that the
other generator draws by hand: borders of a chosen width, cell margins, rows that never
split across pages, a header row repeated on the next page or not, and a page break
after the narrative pages of a whole report.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table, _Cell

from bench.office_forms.spec import FormSpec, PrintedRow

TITLE = "MẪU TỔNG HỢP SỐ LIỆU KẾT QUẢ TỔ CHỨC TUẦN LỄ"
SUBTITLE = "HƯỞNG ỨNG HỌC TẬP SUỐT ĐỜI NĂM 2022"
NARRATIVE = (Path(__file__).with_name("narrative.txt")).read_text(encoding="utf-8").splitlines()
# Ink colours of typed values: black; handwriting fonts get a pen's blue or black.
INK_RGB = {"black": (0x10, 0x10, 0x10), "blue": (0x1A, 0x2F, 0xA8)}
# Handwriting is larger than the printed type around it.
HAND_SIZE_FACTOR = 1.25
HAND_MIN_PT = 11.0
# Word cell margins, in cm: tight enough that a long unit text meets the rule.
CELL_MARGIN_CM = 0.08


def _set_cell_text(
    cell: _Cell,
    text: str,
    *,
    size_pt: float,
    font: str,
    bold: bool = False,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT,
    rgb: tuple[int, int, int] | None = None,
) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.space_before = Pt(0)
    if not text:
        return
    run = paragraph.add_run(text)
    run.bold = bold
    run.font.size = Pt(size_pt)
    run.font.name = font
    # East-Asian and complex-script slots too, or LibreOffice may substitute a font.
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), font)
    if rgb is not None:
        run.font.color.rgb = RGBColor(*rgb)


def _borders(table: Table, eighths: int) -> None:
    """Single rules of ``eighths``/8 pt around and inside every cell."""
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "single")
        element.set(qn("w:sz"), str(eighths))
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), "000000")
        borders.append(element)
    tbl_pr.append(borders)
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), str(int(CELL_MARGIN_CM / 2.54 * 1440)))
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    tbl_pr.append(margins)


def _row_flags(table: Table, index: int, *, is_header: bool) -> None:
    """Rows never split across pages; header rows repeat when ``is_header``."""
    tr_pr = table.rows[index]._tr.get_or_add_trPr()
    cant_split = OxmlElement("w:cantSplit")
    tr_pr.append(cant_split)
    if is_header:
        tr_pr.append(OxmlElement("w:tblHeader"))


def _header(table: Table, spec: FormSpec) -> None:
    size, font = spec.font_size_pt, spec.font
    top, sub = table.rows[0].cells, table.rows[1].cells
    center = WD_ALIGN_PARAGRAPH.CENTER
    names = ["STT", "Các hoạt động", spec.header_unit]
    for i, name in enumerate(names):
        merged = top[i].merge(sub[i])
        _set_cell_text(merged, name, size_pt=size, font=font, bold=True, align=center)
    quantity = top[3].merge(top[4])
    _set_cell_text(quantity, "Số lượng", size_pt=size, font=font, bold=True, align=center)
    _set_cell_text(sub[3], spec.header_count, size_pt=size, font=font, bold=True, align=center)
    _set_cell_text(sub[4], "Người", size_pt=size, font=font, bold=True, align=center)
    if spec.has_note_column:
        note = top[5].merge(sub[5])
        _set_cell_text(note, "Ghi chú", size_pt=size, font=font, bold=True, align=center)
    for row in (0, 1):
        _row_flags(table, row, is_header=spec.repeat_header)
        for cell in table.rows[row].cells:
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def _value_style(spec: FormSpec) -> tuple[str, tuple[int, int, int] | None]:
    if spec.kind == "handwritten":  # a hand writes larger than 9-pt type
        return spec.value_font, INK_RGB[spec.ink]
    return spec.font, None


def _body_row(table: Table, index: int, printed: PrintedRow, spec: FormSpec) -> None:
    cells = table.rows[index].cells
    size, font = spec.font_size_pt, spec.font
    is_bold = printed.kind in ("section", "total")
    center, right = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT
    _set_cell_text(cells[0], printed.stt, size_pt=size, font=font, bold=is_bold, align=center)
    _set_cell_text(cells[1], printed.label, size_pt=size, font=font, bold=is_bold)
    unit_align = right if printed.is_long_unit else center
    _set_cell_text(cells[2], printed.unit, size_pt=size, font=font, align=unit_align)
    value_font, rgb = _value_style(spec)
    if spec.kind == "handwritten":
        size = max(size * HAND_SIZE_FACTOR, HAND_MIN_PT)
    is_blank_form = spec.kind == "handwritten-real"
    count_text = "" if is_blank_form else printed.count_text
    people_text = "" if is_blank_form else printed.people_text
    if printed.is_spill:
        merged = cells[3].merge(cells[4])
        _set_cell_text(merged, count_text, size_pt=size, font=value_font, align=center, rgb=rgb)
    else:
        _set_cell_text(cells[3], count_text, size_pt=size, font=value_font, align=center, rgb=rgb)
        _set_cell_text(cells[4], people_text, size_pt=size, font=value_font, align=center, rgb=rgb)
    if spec.has_note_column:
        _set_cell_text(cells[5], printed.note_text, size_pt=size * 0.9, font=font)
    _row_flags(table, index, is_header=False)
    for cell in cells:
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def _paragraph(
    doc: Document,
    text: str,
    spec: FormSpec,
    *,
    bold: bool = False,  # type: ignore[valid-type]
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER,
    size_pt: float | None = None,
) -> None:
    paragraph = doc.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(2)
    run = paragraph.add_run(text)
    run.bold = bold
    run.font.name = spec.font
    run.font.size = Pt(size_pt or max(spec.font_size_pt, 10.5))


def _narrative(doc: Document, spec: FormSpec) -> None:  # type: ignore[valid-type]
    """The report's narrative pages (seed 001), then a page break before the table."""
    _paragraph(
        doc, "BÁO CÁO KẾT QUẢ TỔ CHỨC TUẦN LỄ HƯỞNG ỨNG HỌC TẬP SUỐT ĐỜI NĂM 2022", spec, bold=True
    )
    for text in NARRATIVE:
        _paragraph(doc, text, spec, align=WD_ALIGN_PARAGRAPH.JUSTIFY, size_pt=12)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def build_docx(spec: FormSpec) -> Document:  # type: ignore[valid-type]
    """The whole document: narrative (whole reports), title, the table, signature lines."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    top, bottom, left, right = spec.margins_cm
    section.top_margin, section.bottom_margin = Cm(top), Cm(bottom)
    section.left_margin, section.right_margin = Cm(left), Cm(right)
    if spec.whole_report:
        _narrative(doc, spec)
    _paragraph(doc, "ĐƠN VỊ: TRƯỜNG THCS THỊ TRẤN", spec, align=WD_ALIGN_PARAGRAPH.LEFT)
    _paragraph(doc, TITLE, spec, bold=True, size_pt=spec.font_size_pt + 2)
    _paragraph(doc, SUBTITLE, spec, bold=True, size_pt=spec.font_size_pt + 1)
    columns = 6 if spec.has_note_column else 5
    table = doc.add_table(rows=2 + len(spec.rows), cols=columns)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _borders(table, spec.rule_eighths)
    for i, width in enumerate(spec.widths_cm[:columns]):
        table.columns[i].width = Cm(width)
        for cell in table.columns[i].cells:
            cell.width = Cm(width)
    _header(table, spec)
    for i, printed in enumerate(spec.rows, start=2):
        _body_row(table, i, printed, spec)
    _paragraph(doc, "Ngày 12 tháng 10 năm 2022", spec, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _paragraph(doc, "THỦ TRƯỞNG ĐƠN VỊ", spec, bold=True, align=WD_ALIGN_PARAGRAPH.RIGHT)
    return doc
