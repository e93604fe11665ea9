"""``formscan unit add`` and ``formscan campaign add`` against the configured database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import main
from service.settings import get_settings


def test_main_unit_and_campaign_add(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FORMSCAN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FORMSCAN_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        assert main(["unit", "add", "D1", "Phòng GD&ĐT", "--kind", "district"]) == 0
        assert main(["unit", "add", "S1", "Trường A", "--kind", "school", "--parent", "D1"]) == 0
        assert main(["unit", "add", "S2", "Trường B", "--kind", "school", "--parent", "X"]) == 2
        assert main(["campaign", "add", "LLW 2022", "--year", "2022", "--unit", "S1"]) == 0
        assert main(["campaign", "add", "x", "--year", "2022", "--layout", "nope"]) == 4
    finally:
        get_settings.cache_clear()
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[1]["parent_code"] == "D1"
    assert lines[2]["expected_unit_codes"] == ["S1"]
    assert "unknown_unit" in err
    assert "unknown_layout" in err
