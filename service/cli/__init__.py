"""The ``formscan`` command line.

One module per concern, each calling the use cases the API calls: ``extract`` reads
files without the service (``cli.extract``); ``serve`` and ``worker`` run the processes
(``cli.serve``); ``unit``, ``user``, ``campaign`` and ``export`` are the operator's
(``cli.admin``, with ``cli.unit_files`` for unit lists).

``formscan extract FILE... --layout ID [--json OUT] [--debug-dir DIR]`` reads the files
as the pages of one submission and prints the extraction JSON (see ``ocr.result``).
``formscan layouts`` lists the layouts; ``formscan layouts --schema`` prints the JSON
Schema of the layout format, from which ``layouts/schema.json`` is generated.
``formscan serve [--host H] [--port P]`` runs the web service (migrations applied, the
embedded job runner started; see ``service.settings`` for the ``FORMSCAN_*``
variables). ``formscan worker [--concurrency N]`` runs a Celery worker reading jobs
from ``FORMSCAN_BROKER_URL`` (see ``service.jobs.celery_app``). ``formscan unit add CODE
NAME --kind K [--parent CODE]`` and ``formscan campaign add NAME --year Y [--layout ID]
[--deadline DATE] [--unit CODE ...]`` register
units and campaigns in the service's database; ``formscan unit import FILE.csv|.xlsx``
creates or updates units from a CSV file or the first sheet of an XLSX workbook
(columns code,name,kind,parent_code). ``formscan user
add USERNAME --role R [--unit CODE] [--password-stdin]`` creates an account (the
password is asked for, or read from standard input; never an argument).
``formscan export --campaign ID --level province|district [--unit CODE] --format
xlsx|csv --out FILE [--include-unreviewed]`` writes a campaign's official summary table
(XLSX) or its values in long format (CSV); see ``service.reports.export``.
Exit status: 0 when the document was processed (even with flagged fields), 2 for a
usage error, 3 for a document that cannot be read (the message names the problem
and the fix), 4 for a broken installation or layout.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ocr.errors import InputError, OcrError
from service.cli import admin, extract, serve
from service.cli.common import (
    EXIT_ENGINE,
    EXIT_INPUT,
    EXIT_USAGE,
    fail,
    settings_error,
    settings_problem,
)
from service.cli.extract import layout_schema_text

__all__ = ["EXIT_ENGINE", "EXIT_INPUT", "EXIT_USAGE", "layout_schema_text", "main"]

# Maintainers' tools that were commands of this program; they now live in ``bench/``
# (not installed with the product), so an old habit gets a pointer, not a usage error.
MOVED_COMMANDS = {
    "bench": "accuracy",
    "calibrate": "calibrate",
    "bench-throughput": "throughput",
    "bench-load": "load",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status; errors become one line, not a traceback."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in MOVED_COMMANDS:
        command = MOVED_COMMANDS[arguments[0]]
        fail(f"moved: run `python -m bench {command} …` from a source checkout")
        return EXIT_USAGE
    args = _parser().parse_args(arguments)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args))
    except settings_error() as exc:
        fail(settings_problem(exc))
        return EXIT_ENGINE
    except InputError as exc:
        fail(f"{exc.code}: {exc.message} Fix: {exc.fix}")
        return EXIT_INPUT
    except OcrError as exc:
        fail(f"{exc.code}: {exc.message} Fix: {exc.fix}")
        return EXIT_ENGINE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="formscan", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"formscan {_version()}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    extract.add_commands(sub)
    serve.add_commands(sub)
    admin.add_commands(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("formscan")
    except PackageNotFoundError:  # running from a source tree without installing
        return "unknown"
