"""What every ``formscan`` command shares: exit codes, error lines, the database session.

The commands report a refusal as one ``code: detail Fix: ...`` line on standard error,
the same code the API returns, so an operator can look either up in one place.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    from sqlalchemy.orm import Session

    from service.settings import Settings

EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_ENGINE = 4


def fail(message: str) -> None:
    """Write one ``formscan: ...`` line on standard error (never a traceback)."""
    sys.stderr.write(f"formscan: {message}\n")


def settings_error() -> type[Exception]:
    """The exception a wrong ``FORMSCAN_*`` variable raises, imported only when needed."""
    from pydantic import ValidationError

    return ValidationError


def settings_problem(exc: Exception) -> str:
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


def open_blob_store_or_fail(settings: Settings) -> bool:
    """Check the blob store before serving or consuming: a bad store stops start-up."""
    from service.storage import BlobStoreConfigError, open_blob_store

    try:
        open_blob_store(settings)
    except BlobStoreConfigError as exc:
        fail(f"{exc.code}: {exc.detail}. Fix: {exc.fix}")
        return False
    return True


def run_registration(args: argparse.Namespace, add: Callable[[argparse.Namespace], str]) -> int:
    """Run ``add`` (which registers something and returns its JSON); refusals exit 2."""
    from pydantic import ValidationError

    from service.errors import ServiceError

    try:
        sys.stdout.write(add(args) + "\n")
    except ServiceError as exc:
        fail(f"{exc.code}: {exc.detail}" + (f" Fix: {exc.fix}" if exc.fix else ""))
        return EXIT_USAGE
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"invalid_argument: {'.'.join(map(str, first['loc']))}: {first['msg']}")
        return EXIT_USAGE
    return 0


def migrated_session() -> Session:
    """A session on the configured database, migrated first: commands may run before serve."""
    from service.db import create_db_engine, make_session_factory, upgrade_database
    from service.settings import get_settings

    engine = create_db_engine(get_settings().database_url)
    upgrade_database(engine)
    return make_session_factory(engine)()
