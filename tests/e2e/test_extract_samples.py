"""End to end through the real Tesseract on the committed samples (see samples/README.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ocr.files import extract_files
from ocr.layout import load_layout
from tests.conftest import SAMPLES, load_truth, sample_files

pytestmark = pytest.mark.tesseract

LAYOUT = load_layout("llw-summary-2022")
CASES = sorted(p.name.removesuffix(".truth.json") for p in SAMPLES.glob("*.truth.json"))


def _truth(name: str) -> dict[tuple[str, str], int | None]:
    return {(f["row_key"], f["field"]): f["value"] for f in load_truth(name)["fields"]}  # type: ignore[index,union-attr]


def _by_key(result: dict[str, object]) -> dict[tuple[str, str], dict[str, object]]:
    return {(f["row_key"], f["field"]): f for f in result["fields"]}  # type: ignore[index,union-attr]


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, object]]:
    return {name: extract_files(sample_files(name), layout=LAYOUT) for name in CASES}


@pytest.mark.parametrize("name", CASES)
def test_extract_one_reading_per_field_in_layout_order(
    results: dict[str, dict[str, object]], name: str
) -> None:
    fields = results[name]["fields"]
    assert [(f["row_key"], f["field"]) for f in fields] == LAYOUT.field_keys()  # type: ignore[union-attr,index]
    for f in fields:  # type: ignore[union-attr]
        assert f["value"] is None or (isinstance(f["value"], int) and f["value"] >= 0)
        assert 0.0 <= f["confidence"] <= 1.0
        assert f["flagged"] == bool(f["reasons"]) or f["flagged"]


@pytest.mark.parametrize("name", ["born-digital-one-page", "born-digital-two-page"])
def test_extract_born_digital_exact_without_flags(
    results: dict[str, dict[str, object]], name: str
) -> None:
    truth = _truth(name)
    got = _by_key(results[name])
    assert {k: got[k]["value"] for k in truth} == truth
    rule_only = {"sum_mismatch", "people_lt_count", "zero_with_positive", "out_of_range"}
    assert all(set(got[k]["reasons"]) <= rule_only for k in truth)  # type: ignore[arg-type]
    assert all(got[k]["confidence"] == 1.0 for k in truth if truth[k] is not None)


def test_extract_typed_clean_scan_exact(results: dict[str, dict[str, object]]) -> None:
    truth = _truth("typed-clean-200dpi")
    got = _by_key(results["typed-clean-200dpi"])
    wrong = {k: (got[k]["value"], v) for k, v in truth.items() if got[k]["value"] != v}
    assert wrong == {}


def test_cli_extract_writes_contract_json(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    files = [str(p) for p in sample_files("typed-two-page-jpgs-no-repeated-header")]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "extract",
            *files,
            "--layout",
            "llw-summary-2022",
            "--json",
            str(out),
            "--debug-dir",
            str(tmp_path / "debug"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["layout"] == "llw-summary-2022"
    assert result["files"] == [Path(f).name for f in files]
    assert result["pages"] == 2
    assert result["seconds"] > 0
    assert len(result["fields"]) == 59
    required = {
        "row_key",
        "field",
        "value",
        "text",
        "confidence",
        "flagged",
        "reasons",
        "page",
        "box",
    }
    optional = {"suggestion", "alternatives"}  # only when the recognisers have them
    for entry in result["fields"]:
        assert required <= set(entry) <= required | optional
        assert all(isinstance(v, int) for v in entry.get("alternatives", []))
    assert sorted(p.name for p in (tmp_path / "debug").iterdir()) == ["page-01.png", "page-02.png"]
