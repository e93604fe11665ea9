"""The ``formscan`` command line.

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
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ocr.errors import InputError, OcrError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from service.settings import Settings
    from service.store import UnitRow

EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_ENGINE = 4
# Maintainers' tools that were commands of this program; they now live in ``bench/``
# (not installed with the product), so an old habit gets a pointer, not a usage error.
MOVED_COMMANDS = {
    "bench": "accuracy",
    "calibrate": "calibrate",
    "bench-throughput": "throughput",
    "bench-load": "load",
}


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in MOVED_COMMANDS:
        command = MOVED_COMMANDS[arguments[0]]
        _fail(f"moved: run `python -m bench {command} …` from a source checkout")
        return EXIT_USAGE
    parser = _parser()
    args = parser.parse_args(arguments)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args))
    except _settings_error() as exc:
        _fail(_settings_problem(exc))
        return EXIT_ENGINE
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


def _settings_error() -> type[Exception]:
    from pydantic import ValidationError

    return ValidationError


def _settings_problem(exc: Exception) -> str:
    """One line per wrong ``FORMSCAN_*`` variable, instead of a traceback."""
    from pydantic import ValidationError

    assert isinstance(exc, ValidationError)
    if exc.title != "Settings":
        raise exc
    problems = "; ".join(
        f"FORMSCAN_{'_'.join(str(p) for p in error['loc']).upper() or 'SETTINGS'}: {error['msg']}"
        for error in exc.errors()
    )
    fix = "" if "Fix:" in problems else ". Fix: correct the environment variables named"
    return f"invalid_configuration: {problems}{fix}."


def _open_blob_store_or_fail(settings: Settings) -> bool:
    """Check the blob store before serving or consuming: a bad store stops start-up."""
    from service.storage import BlobStoreConfigError, open_blob_store

    try:
        open_blob_store(settings)
    except BlobStoreConfigError as exc:
        _fail(f"{exc.code}: {exc.detail}. Fix: {exc.fix}")
        return False
    return True


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

    layouts = sub.add_parser("layouts", help="list the available layouts")
    layouts.add_argument(
        "--schema",
        action="store_true",
        help="print the JSON Schema of the layout format instead (layouts/schema.json)",
    )
    layouts.set_defaults(run=_run_layouts)
    _add_service_commands(sub)
    return parser


def _add_service_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="run the web service with its embedded job runner")
    serve.add_argument("--host", default=None, help="listen address (FORMSCAN_HOST)")
    serve.add_argument("--port", type=int, default=None, help="listen port (FORMSCAN_PORT)")
    serve.set_defaults(run=_run_serve)
    worker = sub.add_parser("worker", help="run a Celery worker (needs FORMSCAN_BROKER_URL)")
    worker.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="worker processes (default FORMSCAN_WORKERS: one per core, at most 2)",
    )
    worker.add_argument("--name", default=None, help="Celery node name (default formscan@HOST)")
    worker.set_defaults(run=_run_worker)

    unit = sub.add_parser("unit", help="manage reporting units").add_subparsers(
        required=True, metavar="ACTION"
    )
    unit_add = unit.add_parser("add", help="register a unit")
    unit_add.add_argument("code")
    unit_add.add_argument("name")
    unit_add.add_argument("--kind", required=True, help="school, commune, district, province...")
    unit_add.add_argument("--parent", default=None, metavar="CODE", help="the parent unit's code")
    unit_add.set_defaults(run=_run_unit_add)
    unit_import = unit.add_parser("import", help="create or update units from a CSV or XLSX file")
    unit_import.add_argument("file", type=Path, metavar="FILE.csv|FILE.xlsx")
    unit_import.set_defaults(run=_run_unit_import)

    export = sub.add_parser("export", help="write a campaign's totals as XLSX or its data as CSV")
    export.add_argument("--campaign", type=int, required=True, metavar="ID")
    export.add_argument("--level", choices=["province", "district"], default="province")
    export.add_argument("--unit", default=None, metavar="CODE", help="the district or province")
    export.add_argument("--format", choices=["xlsx", "csv"], required=True)
    export.add_argument("--out", type=Path, required=True, metavar="FILE")
    export.add_argument(
        "--include-unreviewed", action="store_true", help="also count submissions under review"
    )
    export.set_defaults(run=_run_export)

    user = sub.add_parser("user", help="manage accounts").add_subparsers(
        required=True, metavar="ACTION"
    )
    user_add = user.add_parser("add", help="create an account")
    user_add.add_argument("username")
    user_add.add_argument("--role", required=True, choices=["admin", "reviewer", "uploader"])
    user_add.add_argument(
        "--unit",
        default=None,
        metavar="CODE",
        help="reviewer: its district or province; uploader: its unit; admin: none",
    )
    user_add.add_argument("--name", default=None, help="display name (default: the username)")
    user_add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    user_add.set_defaults(run=_run_user_add)

    campaign = sub.add_parser("campaign", help="manage campaigns").add_subparsers(
        required=True, metavar="ACTION"
    )
    campaign_add = campaign.add_parser("add", help="register a campaign")
    campaign_add.add_argument("name")
    campaign_add.add_argument("--year", type=int, required=True)
    campaign_add.add_argument("--layout", default="llw-summary-2022", help="layout id")
    campaign_add.add_argument("--deadline", default=None, help="YYYY-MM-DD")
    campaign_add.add_argument(
        "--unit", action="append", default=[], metavar="CODE", help="an expected unit (repeat)"
    )
    campaign_add.set_defaults(run=_run_campaign_add)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("formscan")
    except PackageNotFoundError:  # running from a source tree without installing
        return "unknown"


def _run_extract(args: argparse.Namespace) -> int:
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


def _run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app
    from service.auth import FIRST_ADMIN, ensure_first_admin
    from service.settings import get_settings

    settings = get_settings()
    if not _open_blob_store_or_fail(settings):
        return EXIT_ENGINE
    with _migrated_session() as session:
        created = ensure_first_admin(session, settings)
        session.commit()
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    if created is not None:
        sys.stderr.write(
            f"formscan: created the administrator '{FIRST_ADMIN}'; its password is in "
            f"{created} (readable by this user only). Sign in at http://{host}:{port}/login, "
            "then add accounts with 'formscan user add'.\n"
        )
    logging.getLogger().setLevel(logging.INFO)
    uvicorn.run(create_app(settings), host=host, port=port)
    return 0


def _run_worker(args: argparse.Namespace) -> int:
    # Before anything loads Tesseract: forked worker processes inherit it.
    os.environ["OMP_THREAD_LIMIT"] = "1"
    from service.settings import get_settings

    settings = get_settings()
    if not settings.broker_url:
        _fail("FORMSCAN_BROKER_URL is not set; the worker needs the broker the API sends to.")
        return EXIT_USAGE
    if not _open_blob_store_or_fail(settings):
        return EXIT_ENGINE
    from service.jobs.celery_app import app

    concurrency = args.concurrency or settings.workers
    argv = [
        "worker",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        f"--queues={settings.celery_queue}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
    ]
    if args.name:
        argv.append(f"--hostname={args.name}")
    app.worker_main(argv)
    return 0


def _run_registration(args: argparse.Namespace, add: Callable[[argparse.Namespace], str]) -> int:
    """Run ``add`` (which registers something and returns its JSON); refusals exit 2."""
    from pydantic import ValidationError

    from service.errors import ServiceError

    try:
        sys.stdout.write(add(args) + "\n")
    except ServiceError as exc:
        _fail(f"{exc.code}: {exc.detail}" + (f" Fix: {exc.fix}" if exc.fix else ""))
        return EXIT_USAGE
    except ValidationError as exc:
        first = exc.errors()[0]
        _fail(f"invalid_argument: {'.'.join(map(str, first['loc']))}: {first['msg']}")
        return EXIT_USAGE
    return 0


def _run_unit_add(args: argparse.Namespace) -> int:
    return _run_registration(args, _add_unit)


def _run_campaign_add(args: argparse.Namespace) -> int:
    return _run_registration(args, _add_campaign)


def _add_unit(args: argparse.Namespace) -> str:
    from service import store
    from service.schemas import UnitCreate, UnitPublic

    body = UnitCreate(code=args.code, name=args.name, kind=args.kind, parent_code=args.parent)
    with _migrated_session() as session:
        unit = store.create_unit(
            session, code=body.code, name=body.name, kind=body.kind, parent_code=body.parent_code
        )
        session.commit()
        return UnitPublic.of(unit).model_dump_json()


def _run_unit_import(args: argparse.Namespace) -> int:
    return _run_registration(args, _import_units)


def _run_user_add(args: argparse.Namespace) -> int:
    return _run_registration(args, _add_user)


UNIT_COLUMNS = ("code", "name", "kind", "parent_code")


def _import_units(args: argparse.Namespace) -> str:
    import dataclasses

    from service import store

    if args.file.suffix.lower() in {".xlsx", ".xlsm"}:
        lines, code = _xlsx_unit_lines(args.file), "invalid_xlsx"
    else:
        lines, code = _csv_unit_lines(args.file), "invalid_csv"
    rows = [_unit_row(line, number, code=code) for number, line in lines]
    with _migrated_session() as session:
        counts = store.import_units(session, rows)
        session.commit()
    return json.dumps(dataclasses.asdict(counts))


def _missing_columns(path: Path, names: object, code: str, first: str) -> None:
    from service.errors import InvalidRequestError

    missing = set(UNIT_COLUMNS) - set(names)  # type: ignore[call-overload]
    if missing:
        raise InvalidRequestError(
            f"{path}: missing column(s) {', '.join(sorted(missing))}.",
            code=code,
            fix=f"The {first} must name the columns {','.join(UNIT_COLUMNS)}.",
        )


def _csv_unit_lines(path: Path) -> list[tuple[int, dict[str, str | None]]]:
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        _missing_columns(path, reader.fieldnames or (), "invalid_csv", "first line")
        return list(enumerate(reader, start=2))


def _xlsx_unit_lines(path: Path) -> list[tuple[int, dict[str, str | None]]]:
    """The first sheet's rows as the CSV reader gives them: text by column name.

    Cells are taken as written (never evaluated): a name such as ``=A1`` stays that
    text. Numbers become their digits (a code typed as 0101 in a text cell stays so;
    one typed as the number 101 reads ``101``). Empty rows are skipped.
    """
    import zipfile

    import openpyxl

    from service.errors import InvalidRequestError

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidRequestError(
            f"{path}: not a readable XLSX workbook ({exc}).",
            code="invalid_xlsx",
            fix="Save the file as an Excel workbook (.xlsx) or as CSV (UTF-8).",
        ) from exc
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [_cell_text(v).strip().lower() for v in next(rows, ())]
        _missing_columns(path, header, "invalid_xlsx", "first row")
        lines: list[tuple[int, dict[str, str | None]]] = []
        for number, values in enumerate(rows, start=2):
            texts = [_cell_text(v) for v in values]
            if any(t.strip() for t in texts):
                lines.append((number, dict(zip(header, texts, strict=False))))
        return lines
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _unit_row(line: dict[str, str | None], number: int, *, code: str = "invalid_csv") -> UnitRow:
    from pydantic import ValidationError

    from service import store
    from service.errors import InvalidRequestError
    from service.schemas import UnitCreate

    values = {k: (line.get(k) or "").strip() for k in UNIT_COLUMNS}
    try:
        body = UnitCreate.model_validate({**values, "parent_code": values["parent_code"] or None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise InvalidRequestError(f"line {number}: {where}: {first['msg']}", code=code) from exc
    return store.UnitRow(body.code, body.name, body.kind, body.parent_code)


def _run_export(args: argparse.Namespace) -> int:
    return _run_registration(args, _export)


def _export(args: argparse.Namespace) -> str:
    """Everything is in scope: the command line is the operator's (like an admin)."""
    from service.reports import aggregate, export
    from service.scope import EVERYTHING

    with _migrated_session() as session:
        facts = aggregate.report_facts(
            session,
            args.campaign,
            scope=EVERYTHING,
            level=aggregate.Level(args.level),
            unit_code=args.unit,
            home_unit_id=None,
            include_unreviewed=args.include_unreviewed,
        )
    body = export.export_file(facts, file_format=args.format)
    args.out.write_bytes(body)
    return json.dumps({"out": str(args.out), "bytes": len(body), "units": len(facts.units)})


def _add_user(args: argparse.Namespace) -> str:
    from service import auth
    from service.models import Role
    from service.schemas import UserPublic

    password = _read_password(is_stdin=args.password_stdin)
    with _migrated_session() as session:
        user = auth.create_user(
            session,
            username=args.username,
            password=password,
            role=Role(args.role),
            unit_code=args.unit,
            display_name=args.name,
        )
        session.commit()
        return UserPublic.of(user).model_dump_json()


def _read_password(*, is_stdin: bool) -> str:
    """From standard input (one line), or asked twice on the terminal; never an argument."""
    import getpass

    from service.errors import InvalidRequestError

    if is_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InvalidRequestError(
            "No terminal to ask for the password.",
            code="password_required",
            fix="Pipe it in with --password-stdin.",
        )
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat it: ") != password:
        raise InvalidRequestError("The passwords differ.", code="password_mismatch")
    return password


def _add_campaign(args: argparse.Namespace) -> str:
    from service import campaigns
    from service.schemas import CampaignCreate, CampaignPublic

    body = CampaignCreate(
        name=args.name,
        layout_id=args.layout,
        year=args.year,
        deadline=args.deadline,
        expected_unit_codes=args.unit,
    )
    with _migrated_session() as session:
        campaign = campaigns.create_campaign(session, body)
        session.commit()
        return CampaignPublic.of(campaign).model_dump_json()


def _migrated_session() -> Session:
    from service.db import create_db_engine, make_session_factory, upgrade_database
    from service.settings import get_settings

    engine = create_db_engine(get_settings().database_url)
    upgrade_database(engine)
    return make_session_factory(engine)()


if __name__ == "__main__":
    sys.exit(main())
