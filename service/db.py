"""Database engines, sessions and migrations (the sole place that configures SQLAlchemy).

SQLite is the embedded default: WAL mode (readers never block the writer),
``synchronous=FULL`` (a committed submission survives a power cut), foreign keys on,
and every transaction opened with ``BEGIN IMMEDIATE``. The last one matters because
the API threads, the runner thread and the worker processes all write: a deferred
transaction that reads and then writes fails with "database is locked" when another
writer got in between, whereas an immediate one waits (``busy_timeout``) for its turn.
PostgreSQL (``postgresql+psycopg://``) needs none of this.

Migrations run through Alembic's API (no ``alembic.ini``, no subprocess) at start-up.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# How long a SQLite writer waits for another one before giving up; a job's whole
# result is written in one short transaction, so this is generous.
SQLITE_BUSY_TIMEOUT_S = 30.0


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names SQLite, whose locking and migrations need their own settings."""
    return make_url(url).get_backend_name() == "sqlite"


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``, with the SQLite pragmas described above when it is SQLite."""
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True)
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: object) -> None:
    # Hand transaction control to SQLAlchemy's "begin" event (pysqlite would otherwise
    # open deferred transactions lazily, see the module docstring).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@functools.cache
def shared_engine(url: str) -> Engine:
    """One engine per URL per process, for job functions run in worker processes."""
    return create_db_engine(url)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit: responses are built after committing."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` built in code, so no ``alembic.ini`` is shipped."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` on ``engine``'s database (idempotent).

    On SQLite, foreign keys are off while migrating: a batch migration copies a table,
    drops the original and renames the copy, and dropping a table with foreign keys on
    first deletes its rows, cascading to their children (a submission's readings).
    The pragma cannot change inside a transaction, so it is set before one starts,
    and the foreign keys are checked before they are turned back on.
    """
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    is_lite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if is_lite:
            _set_sqlite_foreign_keys(connection, is_on=False)
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if is_lite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
        finally:
            if is_lite:
                _set_sqlite_foreign_keys(connection, is_on=True)


def _set_sqlite_foreign_keys(connection: Connection, *, is_on: bool) -> None:
    # Straight on the DB-API connection: through SQLAlchemy it would open a transaction.
    cursor = connection.connection.cursor()
    cursor.execute(f"PRAGMA foreign_keys={'ON' if is_on else 'OFF'}")
    cursor.close()


def rows_changed(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE and return how many rows it changed.

    The job protocol's fences and claims are conditional updates: one row changed
    means this caller won. ``Session.execute`` is typed as returning a plain
    ``Result``; for these statements it is a ``CursorResult``, which has the count.
    """
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
