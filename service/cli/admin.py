"""The operator's commands: ``unit``, ``user``, ``campaign`` and ``export``.

Each calls the use-case function its API route calls (``store.create_unit``,
``auth.create_user``, ``campaigns.create_campaign``, ``reports``), with everything in
scope: whoever runs the command line on the server is its operator, like an admin.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from service.cli.common import migrated_session, run_registration
from service.cli.extract import SubParsers


def add_commands(sub: SubParsers[argparse.ArgumentParser]) -> None:
    """Register ``unit``, ``export``, ``user`` and ``campaign`` on the ``formscan`` parser."""
    _add_unit_commands(sub)
    _add_export_command(sub)
    _add_user_commands(sub)
    _add_campaign_commands(sub)


def _registering(
    add: Callable[[argparse.Namespace], str],
) -> Callable[[argparse.Namespace], int]:
    """The ``run`` of a command whose work is ``add``: its JSON printed, refusals exit 2."""
    return partial(run_registration, add=add)


def _add_unit_commands(sub: SubParsers[argparse.ArgumentParser]) -> None:
    unit = sub.add_parser("unit", help="manage reporting units").add_subparsers(
        required=True, metavar="ACTION"
    )
    unit_add = unit.add_parser("add", help="register a unit")
    unit_add.add_argument("code")
    unit_add.add_argument("name")
    unit_add.add_argument("--kind", required=True, help="school, commune, district, province...")
    unit_add.add_argument("--parent", default=None, metavar="CODE", help="the parent unit's code")
    unit_add.set_defaults(run=_registering(add_unit))
    unit_import = unit.add_parser("import", help="create or update units from a CSV or XLSX file")
    unit_import.add_argument("file", type=Path, metavar="FILE.csv|FILE.xlsx")
    unit_import.set_defaults(run=_registering(import_units))


def _add_export_command(sub: SubParsers[argparse.ArgumentParser]) -> None:
    export = sub.add_parser("export", help="write a campaign's totals as XLSX or its data as CSV")
    export.add_argument("--campaign", type=int, required=True, metavar="ID")
    export.add_argument("--level", choices=["province", "district"], default="province")
    export.add_argument("--unit", default=None, metavar="CODE", help="the district or province")
    export.add_argument("--format", choices=["xlsx", "csv"], required=True)
    export.add_argument("--out", type=Path, required=True, metavar="FILE")
    export.add_argument(
        "--include-unreviewed", action="store_true", help="also count submissions under review"
    )
    export.set_defaults(run=_registering(export_campaign))


def _add_user_commands(sub: SubParsers[argparse.ArgumentParser]) -> None:
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
    user_add.set_defaults(run=_registering(add_user))


def _add_campaign_commands(sub: SubParsers[argparse.ArgumentParser]) -> None:
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
    campaign_add.set_defaults(run=_registering(add_campaign))


def add_unit(args: argparse.Namespace) -> str:
    """Register one unit, validated as ``POST /api/units`` validates it."""
    from service import store
    from service.schemas import UnitCreate, UnitPublic

    body = UnitCreate(code=args.code, name=args.name, kind=args.kind, parent_code=args.parent)
    with migrated_session() as session:
        unit = store.create_unit(
            session, code=body.code, name=body.name, kind=body.kind, parent_code=body.parent_code
        )
        session.commit()
        return UnitPublic.of(unit).model_dump_json()


def import_units(args: argparse.Namespace) -> str:
    """Create or update the units a CSV or XLSX file lists, in one transaction."""
    import dataclasses

    from service import store
    from service.cli.unit_files import unit_rows

    rows = unit_rows(args.file)
    with migrated_session() as session:
        counts = store.import_units(session, rows)
        session.commit()
    return json.dumps(dataclasses.asdict(counts))


def export_campaign(args: argparse.Namespace) -> str:
    """Write the export the API would give an admin; everything is in scope."""
    from service.reports import aggregate, export
    from service.scope import EVERYTHING

    with migrated_session() as session:
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


def add_user(args: argparse.Namespace) -> str:
    """Create an account; its password never appears on the command line."""
    from service import auth
    from service.models import Role
    from service.schemas import UserPublic

    password = read_password(is_stdin=args.password_stdin)
    with migrated_session() as session:
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


def read_password(*, is_stdin: bool) -> str:
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


def add_campaign(args: argparse.Namespace) -> str:
    """Register a campaign through the same function as ``POST /api/campaigns``."""
    from service import campaigns
    from service.schemas import CampaignCreate, CampaignPublic

    body = CampaignCreate(
        name=args.name,
        layout_id=args.layout,
        year=args.year,
        deadline=args.deadline,
        expected_unit_codes=args.unit,
    )
    with migrated_session() as session:
        campaign = campaigns.create_campaign(session, body)
        session.commit()
        return CampaignPublic.of(campaign).model_dump_json()
