from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ocr.errors import InvalidLayoutError, UnknownLayoutError
from ocr.layout import available_layouts, load_layout, load_layout_file, parse_layout

LAYOUT_FILE = Path(__file__).resolve().parents[3] / "layouts" / "llw-summary-2022.yaml"


def _data() -> dict[str, object]:
    return yaml.safe_load(LAYOUT_FILE.read_text(encoding="utf-8"))


def test_load_layout_llw_has_59_fields_in_dictionary_order() -> None:
    layout = load_layout("llw-summary-2022")
    keys = layout.field_keys()
    assert len(keys) == 59
    assert keys[0] == ("1.total", "count")
    assert keys[-1] == ("10.2", "value")
    assert "llw-summary-2022" in available_layouts()


def test_load_layout_rows_match_data_dictionary() -> None:
    tsv = Path(__file__).resolve().parents[4] / "shared" / "forms" / "llw-summary-2022.tsv"
    if not tsv.exists():
        pytest.skip("data dictionary not beside the checkout")
    lines = tsv.read_text(encoding="utf-8").splitlines()[1:]
    expected = [
        (c[0], c[1], tuple(f for f in c[2].split(",") if f))
        for c in (line.split("\t") for line in lines)
    ]
    layout = load_layout("llw-summary-2022")
    assert [(r.key, r.kind, r.fields) for r in layout.rows] == expected


def test_load_layout_unknown_id_names_available() -> None:
    with pytest.raises(UnknownLayoutError, match="llw-summary-2022"):
        load_layout("no-such-form")


def test_parse_layout_unknown_field_in_row_names_row(tmp_path: Path) -> None:
    data = _data()
    data["rows"][1]["fields"] = ["count", "persons"]  # type: ignore[index]
    with pytest.raises(InvalidLayoutError, match=r"rows\[1.total\].fields"):
        parse_layout(data, source="test.yaml")


def test_load_layout_file_broken_yaml_names_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidLayoutError, match=r"broken\.yaml"):
        load_layout_file(path)


def test_load_layout_file_missing_key_names_field(tmp_path: Path) -> None:
    data = _data()
    del data["table"]
    path = tmp_path / "no-table.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InvalidLayoutError, match=r"no-table.yaml.*table: Field required"):
        load_layout_file(path)


def test_parse_layout_check_with_unknown_row_rejected() -> None:
    data = _data()
    data["checks"][0]["parts"].append("1.99")  # type: ignore[index]
    with pytest.raises(InvalidLayoutError, match=r"unknown rows \['1.99'\]"):
        parse_layout(data, source="test.yaml")


def test_parse_layout_second_form_three_value_columns() -> None:
    layout = parse_layout(
        {
            "id": "livestock",
            "version": 1,
            "title": "Livestock census",
            "table": {
                "columns": [
                    {"key": "animal", "role": "label", "header": "Animal"},
                    {"key": "male", "role": "value", "header": "Male"},
                    {"key": "female", "role": "value", "header": "Female"},
                    {"key": "total", "role": "value", "header": "Total"},
                ]
            },
            "fields": {
                "male": {"title": "Male", "columns": ["male"], "max": 10000},
                "female": {"title": "Female", "columns": ["female"], "max": 10000},
                "total": {"title": "Total", "columns": ["total"], "max": 20000},
            },
            "rows": [
                {
                    "key": "cattle",
                    "kind": "item",
                    "label": "Cattle",
                    "fields": ["male", "female", "total"],
                },
                {
                    "key": "sheep",
                    "kind": "item",
                    "label": "Sheep",
                    "fields": ["male", "female", "total"],
                },
            ],
        },
        source="inline",
    )
    assert len(layout.field_keys()) == 6
    assert [c.key for c in layout.table.value_columns] == ["male", "female", "total"]
