"""The accuracy benchmark's counting, on a hand-written truth file and a scripted extractor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import COMMANDS
from bench.__main__ import main as bench_main
from bench.accuracy import load_cases, run_system


def _truth_dir(tmp_path: Path) -> Path:
    truth = {
        "layout": "llw-summary-2022",
        "files": ["a.png"],
        "slices": ["typed", "scan"],
        "fields": [
            {"row_key": "1.01", "field": "count", "value": 3},
            {"row_key": "1.01", "field": "people", "value": 120},
            {"row_key": "2", "field": "value", "value": None},
            {"row_key": "3", "field": "value", "value": 0},
        ],
    }
    (tmp_path / "a.truth.json").write_text(json.dumps(truth), encoding="utf-8")
    return tmp_path


def _extractor(files: list[Path], layout: str) -> dict[str, object]:
    """Right and accepted, wrong but flagged, wrong and accepted (residual), missing."""
    fields = [
        {"row_key": "1.01", "field": "count", "value": 3, "flagged": False},
        {"row_key": "1.01", "field": "people", "value": 12, "flagged": True},
        {"row_key": "2", "field": "value", "value": 0, "flagged": False},
    ]
    return {"fields": fields, "pages": 2, "seconds": 3.0}


def test_run_system_counts_residual_and_review(tmp_path: Path) -> None:
    cases = load_cases(_truth_dir(tmp_path))
    tallies, details = run_system(cases, _extractor, progress=lambda _: None)
    row = tallies["all"].row()
    assert row["fields"] == 4
    assert row["accuracy"] == pytest.approx(1 / 4)
    # the missing field counts as flagged, as a reading nobody could accept would
    assert row["review_rate"] == pytest.approx(2 / 4)
    assert row["auto_accept_precision"] == pytest.approx(1 / 2)
    assert row["residual_error"] == pytest.approx(1 / 4)
    assert row["s_per_page"] == pytest.approx(1.5)
    assert set(tallies) == {"all", "typed", "scan", "typed/scan", "field:zero"}
    zero = tallies["field:zero"].row()  # the one zero ("3"/value) was not read at all
    assert (zero["fields"], zero["accuracy"], zero["review_rate"]) == (1, 0.0, 1.0)
    assert details[0]["residual"] == 1


def test_run_system_counts_vetoes(tmp_path: Path) -> None:
    def vetoing(files: list[Path], layout: str) -> dict[str, object]:
        veto = {"flagged": True, "reasons": ["engines_disagree"]}
        fields = [
            {"row_key": "1.01", "field": "count", "value": 3, **veto},
            {"row_key": "1.01", "field": "people", "value": 12, "alternatives": [12, 120], **veto},
            {"row_key": "2", "field": "value", "value": 0, "flagged": False, "reasons": []},
        ]
        return {"fields": fields, "pages": 1, "seconds": 1.0}

    tallies, _ = run_system(load_cases(_truth_dir(tmp_path)), vetoing, progress=lambda _: None)
    t = tallies["all"]
    assert (t.vetoed, t.veto_proposed_right, t.veto_truth_offered) == (2, 1, 2)


def test_bench_main_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["--help"]) == 0
    err = capsys.readouterr().err
    assert all(name in err for name in ("accuracy", "calibrate", "samples"))


@pytest.mark.parametrize("command", ["accuracy", "calibrate"])
def test_bench_command_without_truth_files(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert command in COMMANDS
    assert bench_main([command, str(tmp_path)]) == 2
    assert "no *.truth.json" in capsys.readouterr().err
