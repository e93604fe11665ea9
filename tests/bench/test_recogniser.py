"""``python -m bench recogniser`` on one committed sample: real pipeline, real model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.recogniser import SYSTEMS, _field_slices
from tests.conftest import SAMPLES, load_truth

NAME = "typed-clean-200dpi"


@pytest.mark.tesseract
def test_bench_recogniser_on_a_clean_scan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = load_truth(NAME)
    for name in [f"{NAME}.truth.json", *truth["files"]]:  # type: ignore[misc]
        shutil.copy(SAMPLES / name, tmp_path / name)
    out = tmp_path / "rows.json"
    assert main(["recogniser", str(tmp_path), "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| all | 59 |" in table
    assert "ms per cell" in table
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert len(rows) == len(truth["fields"])  # type: ignore[arg-type]
    assert all(set(SYSTEMS) <= set(row) for row in rows)
    right = {s: sum(row[s] == row["truth"] for row in rows) for s in SYSTEMS}
    # A clean 200 dpi typed scan: both engines read nearly every field.
    assert right["tesseract"] >= 57
    assert right["pp-ink"] >= 57
    assert right["pp-own"] >= 50
    assert main(["recogniser", str(tmp_path), "--from-json", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[2] == table.splitlines()[2]  # the "all" line


def test_bench_recogniser_without_truth_files(tmp_path: Path) -> None:
    assert main(["recogniser", str(tmp_path)]) == 2


def test_field_slices() -> None:
    assert _field_slices(("10.1", "value"), 0, "-") == ["zero", "dash", "money"]
    assert _field_slices(("1.01", "count"), 0, "0") == ["zero"]
    assert _field_slices(("2", "value"), 12, "12") == []
