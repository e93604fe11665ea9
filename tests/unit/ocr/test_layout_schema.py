"""layouts/: the generated schema is current, and every layout file (and the README's
worked example) passes validation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from ocr.layout import layout_json_schema, load_layout_file, parse_layout
from service.cli import layout_schema_text, main

LAYOUTS_DIR = Path(__file__).resolve().parents[3] / "layouts"
SCHEMA_FILE = LAYOUTS_DIR / "schema.json"
REGENERATE = ".venv/bin/formscan layouts --schema > layouts/schema.json"
LAYOUT_FILES = sorted(LAYOUTS_DIR.glob("*.yaml"))


def test_layout_json_schema_file_is_current() -> None:
    fresh = layout_schema_text(layout_json_schema())
    assert SCHEMA_FILE.exists(), f"layouts/schema.json is missing; run: {REGENERATE}"
    stale = SCHEMA_FILE.read_text(encoding="utf-8") != fresh
    assert not stale, f"layouts/schema.json is stale; run: {REGENERATE}"


def test_layouts_schema_command_prints_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["layouts", "--schema"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == layout_json_schema()
    assert printed == layout_schema_text(layout_json_schema())


def test_layouts_command_lists_layouts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["layouts"]) == 0
    ids = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert ids == [p.stem for p in LAYOUT_FILES]


def test_layout_files_exist() -> None:
    assert LAYOUT_FILES, "no layouts/*.yaml found"


@pytest.mark.parametrize("path", LAYOUT_FILES, ids=[p.name for p in LAYOUT_FILES])
def test_load_layout_file_every_layout_valid(path: Path) -> None:
    layout = load_layout_file(path)
    # --layout takes the file stem: <id>.yaml, or <id>.v<N>.yaml for a later edition.
    assert path.stem in (layout.id, f"{layout.id}.v{layout.version}")
    assert layout.field_keys()


def test_parse_layout_readme_example_valid() -> None:
    """The worked example in layouts/README.md is a valid layout, so the docs stay true."""
    readme = (LAYOUTS_DIR / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, flags=re.DOTALL)
    examples = [yaml.safe_load(b) for b in blocks if b.startswith("id:")]
    assert examples, "layouts/README.md has no complete ```yaml example starting with 'id:'"
    for data in examples:
        layout = parse_layout(data, source="layouts/README.md")
        assert len(layout.table.value_columns) == 3
