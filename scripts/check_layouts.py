"""Validate every layout in ``layouts/`` and check that ``layouts/schema.json`` is current.

``schema.json`` is generated from the layout model (``formscan layouts --schema``), so
a layout the model accepts satisfies the schema; loading with the model also checks
what a JSON Schema cannot (unique keys, rules naming known fields). Run by the
pre-commit hook ``layouts``; exit status 1 names every problem found.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ocr.errors import InvalidLayoutError
from ocr.layout import layout_json_schema, load_layout_file
from service.cli import layout_schema_text

LAYOUTS = Path(__file__).resolve().parent.parent / "layouts"


def problems() -> list[str]:
    """One line per invalid layout, and one if the schema file is out of date."""
    found = []
    for path in sorted(LAYOUTS.glob("*.y*ml")):
        try:
            load_layout_file(path)
        except InvalidLayoutError as exc:
            found.append(f"{path.name}: {exc.message}")
    schema = LAYOUTS / "schema.json"
    if schema.read_text(encoding="utf-8") != layout_schema_text(layout_json_schema()):
        found.append("schema.json is out of date: formscan layouts --schema > layouts/schema.json")
    return found


def main() -> int:
    """Print the problems to standard error; 0 when there are none."""
    found = problems()
    for line in found:
        sys.stderr.write(f"layouts: {line}\n")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
