"""``formscan unit import units.xlsx``: the first sheet, same columns and rules as CSV."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from service.cli import main
from service.models import Unit
from service.settings import get_settings
from tests.service.test_cli import _session

HEADER = ("code", "name", "kind", "parent_code")
FORMULA_NAME = '=HYPERLINK("http://evil.example","x")'


def write_xlsx(path: Path, rows: list[tuple[object, ...]], *, extra_sheet: bool = True) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Đơn vị"
    for row in rows:
        sheet.append(row)
    if extra_sheet:  # only the first sheet is read
        book.create_sheet("notes").append(("code", "name", "kind", "parent_code"))
        book["notes"].append(("ZZ", "not a unit", "school", ""))
    book.save(path)
    return path


@pytest.fixture
def configured(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FORMSCAN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FORMSCAN_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def units_in_db() -> dict[str, tuple[str, str, str | None]]:
    with _session() as session:
        return {
            u.code: (u.name, u.kind, u.parent.code if u.parent else None)
            for u in session.scalars(select(Unit))
        }


def test_xlsx_import_then_update(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = write_xlsx(
        configured / "units.xlsx",
        [
            HEADER,
            ("A1", "Trường A1", "school", "A"),  # its parent comes after it
            (None, None, None, None),  # an empty row is skipped
            ("A", "Phòng A", "district", "P"),
            ("P", "Sở GD&ĐT", "province", None),
            (101, FORMULA_NAME, "school", "A"),  # a numeric code, a formula-like name
        ],
    )
    second = write_xlsx(
        configured / "update.xlsx",
        [
            (" Code ", "NAME", "kind", "parent_code"),  # header case and spaces ignored
            ("A1", "Trường A1 mới", "school", "B"),
            ("B", "Phòng B", "district", "P"),
            ("P", "Sở GD&ĐT", "province", ""),
        ],
        extra_sheet=False,
    )
    assert main(["unit", "import", str(first)]) == 0
    assert main(["unit", "import", str(second)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert json.loads(out[0]) == {"created": 4, "updated": 0, "unchanged": 0}
    assert json.loads(out[1]) == {"created": 1, "updated": 1, "unchanged": 1}
    assert units_in_db() == {
        "P": ("Sở GD&ĐT", "province", None),
        "A": ("Phòng A", "district", "P"),
        "B": ("Phòng B", "district", "P"),
        "A1": ("Trường A1 mới", "school", "B"),
        "101": (FORMULA_NAME, "school", "A"),
    }


def test_xlsx_refusals(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    no_column = write_xlsx(configured / "cols.xlsx", [("code", "name", "kind"), ("X", "x", "s")])
    unknown_parent = write_xlsx(configured / "parent.xlsx", [HEADER, ("X1", "x", "school", "NOPE")])
    blank_name = write_xlsx(configured / "blank.xlsx", [HEADER, ("X1", "", "school", None)])
    not_xlsx = configured / "broken.xlsx"
    not_xlsx.write_bytes(b"code,name\n")
    for path in (no_column, unknown_parent, blank_name, not_xlsx):
        assert main(["unit", "import", str(path)]) == 2, path
    err = capsys.readouterr().err
    assert "parent_code" in err and "unknown_unit" in err
    assert "invalid_xlsx" in err and "line 2" in err
    assert units_in_db() == {}
