"""The ``formscan`` command line.

``formscan extract FILE... --layout ID [--json OUT] [--debug-dir DIR]`` reads the files
as the pages of one submission and prints the extraction JSON (see ``ocr.result``).
``formscan layouts`` lists the layouts; ``formscan layouts --schema`` prints the JSON
Schema of the layout format, from which ``layouts/schema.json`` is generated.
Exit status: 0 when the document was processed (even with flagged fields), 2 for a
usage error, 3 for a document that cannot be read (the message names the problem
and the fix), 4 for a broken installation or layout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ocr.errors import InputError, OcrError

EXIT_INPUT = 3
EXIT_ENGINE = 4


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args))
    except InputError as exc:
        _fail(f"{exc.code}: {exc.message} Fix: {exc.fix}")
        return EXIT_INPUT
    except OcrError as exc:
        _fail(f"{exc.code}: {exc.message} Fix: {exc.fix}")
        return EXIT_ENGINE
    except KeyboardInterrupt:
        return 130


def _fail(message: str) -> None:
    sys.stderr.write(f"formscan: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="formscan", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"formscan {_version()}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

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
    ext.set_defaults(run=_run_extract)

    bench = sub.add_parser("bench", help="measure accuracy and speed on samples with truth")
    bench.add_argument("directory", type=Path, metavar="DIR")
    bench.add_argument("--layout", default=None, help="only cases of this layout")
    bench.add_argument("--peer", choices=["img2table"], help="also run a peer on the same pages")
    bench.add_argument("--limit", type=int, default=None, help="at most this many cases")
    bench.add_argument("--json", type=Path, metavar="OUT", help="write per-case results here")
    bench.set_defaults(run=_run_bench)

    calibrate = sub.add_parser(
        "calibrate", help="fit confidence to measured accuracy on samples with ground truth"
    )
    calibrate.add_argument("directory", type=Path, metavar="DIR")
    calibrate.add_argument("--limit", type=int, default=None, help="at most this many cases")
    calibrate.add_argument(
        "--dry-run", action="store_true", help="print the threshold table, write nothing"
    )
    calibrate.set_defaults(run=_run_calibrate)

    layouts = sub.add_parser("layouts", help="list the available layouts")
    layouts.add_argument(
        "--schema",
        action="store_true",
        help="print the JSON Schema of the layout format instead (layouts/schema.json)",
    )
    layouts.set_defaults(run=_run_layouts)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("formscan")
    except PackageNotFoundError:  # running from a source tree without installing
        return "unknown"


def _run_extract(args: argparse.Namespace) -> int:
    from ocr.api import extract_files

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


def _run_bench(args: argparse.Namespace) -> int:
    from ocr.bench import run_bench

    return run_bench(
        args.directory, layout=args.layout, peer=args.peer, limit=args.limit, json_out=args.json
    )


def _run_calibrate(args: argparse.Namespace) -> int:
    from ocr.calibrate import run_calibration

    return run_calibration(args.directory, limit=args.limit, write=not args.dry_run)


def _run_layouts(args: argparse.Namespace) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
