"""The rows of a unit list, from a CSV file or the first sheet of an XLSX workbook.

Offices keep their unit lists in spreadsheets; both formats become the same
``store.UnitRow`` values, validated by the API's ``UnitCreate``, so a unit imported
from a file obeys the rules of one created through the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.store import UnitRow

UNIT_COLUMNS = ("code", "name", "kind", "parent_code")


def unit_rows(path: Path) -> list[UnitRow]:
    """Every unit the file lists; the first bad line stops the import with its number."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        lines, code = _xlsx_unit_lines(path), "invalid_xlsx"
    else:
        lines, code = _csv_unit_lines(path), "invalid_csv"
    return [_unit_row(line, number, code=code) for number, line in lines]


def _missing_columns(path: Path, names: object, code: str, first: str) -> None:
    from service.errors import InvalidRequestError

    missing = set(UNIT_COLUMNS) - set(names)  # type: ignore[call-overload]
    if missing:
        raise InvalidRequestError(
            f"{path}: missing column(s) {', '.join(sorted(missing))}.",
            code=code,
            fix=f"The {first} must name the columns {','.join(UNIT_COLUMNS)}.",
        )


def _csv_unit_lines(path: Path) -> list[tuple[int, dict[str, str | None]]]:
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        _missing_columns(path, reader.fieldnames or (), "invalid_csv", "first line")
        return list(enumerate(reader, start=2))


def _xlsx_unit_lines(path: Path) -> list[tuple[int, dict[str, str | None]]]:
    """The first sheet's rows as the CSV reader gives them: text by column name.

    Cells are taken as written (never evaluated): a name such as ``=A1`` stays that
    text. Numbers become their digits (a code typed as 0101 in a text cell stays so;
    one typed as the number 101 reads ``101``). Empty rows are skipped.
    """
    import zipfile

    import openpyxl

    from service.errors import InvalidRequestError

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidRequestError(
            f"{path}: not a readable XLSX workbook ({exc}).",
            code="invalid_xlsx",
            fix="Save the file as an Excel workbook (.xlsx) or as CSV (UTF-8).",
        ) from exc
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [_cell_text(v).strip().lower() for v in next(rows, ())]
        _missing_columns(path, header, "invalid_xlsx", "first row")
        lines: list[tuple[int, dict[str, str | None]]] = []
        for number, values in enumerate(rows, start=2):
            texts = [_cell_text(v) for v in values]
            if any(t.strip() for t in texts):
                lines.append((number, dict(zip(header, texts, strict=False))))
        return lines
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _unit_row(line: dict[str, str | None], number: int, *, code: str = "invalid_csv") -> UnitRow:
    from pydantic import ValidationError

    from service import store
    from service.errors import InvalidRequestError
    from service.schemas import UnitCreate

    values = {k: (line.get(k) or "").strip() for k in UNIT_COLUMNS}
    try:
        body = UnitCreate.model_validate({**values, "parent_code": values["parent_code"] or None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise InvalidRequestError(f"line {number}: {where}: {first['msg']}", code=code) from exc
    return store.UnitRow(body.code, body.name, body.kind, body.parent_code)
