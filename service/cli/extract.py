"""``formscan extract`` and ``formscan layouts``: the reading engine without the service.

These commands need no database: they read files with ``ocr`` and print JSON, so the
engine can be tried (and scripted) on a machine that runs nothing else.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

SubParsers = argparse._SubParsersAction  # the type argparse gives ``add_subparsers``


def add_commands(sub: SubParsers[argparse.ArgumentParser]) -> None:
    """Register ``extract`` and ``layouts`` on the ``formscan`` parser."""
    ext = sub.add_parser("extract", help="read one submission (its pages as files) to JSON")
    ext.add_argument("files", nargs="+", type=Path, metavar="FILE")
    ext.add_argument("--layout", default="llw-summary-2022", help="layout id or YAML path")
    ext.add_argument("--json", type=Path, metavar="OUT", help="write JSON here, not stdout")
    ext.add_argument(
        "--debug-dir",
        type=Path,
        metavar="DIR",
        help="write a PNG per page with the grid and cells coloured by status",
    )
    ext.set_defaults(run=run_extract)

    layouts = sub.add_parser("layouts", help="list the available layouts")
    layouts.add_argument(
        "--schema",
        action="store_true",
        help="print the JSON Schema of the layout format instead (layouts/schema.json)",
    )
    layouts.set_defaults(run=run_layouts)


def run_extract(args: argparse.Namespace) -> int:
    """Read the files as the pages of one submission and print (or write) the JSON."""
    from ocr.files import extract_files

    started = time.perf_counter()
    result = extract_files(
        args.files, layout=args.layout, debug_dir=args.debug_dir, started=started
    )
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return 0


def layout_schema_text(schema: dict[str, object]) -> str:
    """The text of ``layouts/schema.json``: key order kept (it follows the model), UTF-8."""
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def run_layouts(args: argparse.Namespace) -> int:
    """List the layouts, or print the layout format's JSON Schema with ``--schema``."""
    from ocr.layout import available_layouts, layout_json_schema, load_layout

    if args.schema:
        sys.stdout.write(layout_schema_text(layout_json_schema()))
        return 0
    for layout_id in available_layouts():
        layout = load_layout(layout_id)
        sys.stdout.write(
            f"{layout_id}\tv{layout.version}\t{len(layout.field_keys())} fields\t{layout.title}\n"
        )
    return 0
