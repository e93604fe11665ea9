"""Fixtures of the service tests: a fresh database per test on SQLite and PostgreSQL.

PostgreSQL is the CI's (127.0.0.1:5432, database ``test``, trust auth). Each test gets
its own schema (``search_path`` set in the URL), dropped afterwards. When the server
is not reachable the PostgreSQL cases are skipped, except under ``CI=true``, where
they fail: CI must run them.
"""

from __future__ import annotations

import functools
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service import auth, store
from service.app import create_app
from service.models import Role, Unit, User
from service.settings import Settings
from tests.conftest import SAMPLES
from tests.service.fakes import TruthReader

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_DATABASE = "test"
PG_ROLES = ("postgres", "root")
PNG_SAMPLE = SAMPLES / "typed-clean-200dpi.png"
PDF_SAMPLE = SAMPLES / "typed-two-page-repeated-header.pdf"
# OCR of one page takes ~1.5 s, a worker process starts in ~1 s; generous for CI.
PROCESSING_TIMEOUT_S = 90.0
FINAL_STATUSES = ("needs_review", "clean", "failed")
TEST_PASSWORD = "correct horse battery"
REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
REDIS_DB = 7  # away from the default database 0; the queue name is unique per test
# ``workers`` of the ``settings`` fixture: jobs run in a thread of the test process.
# Starting a worker process (spawn, then importing the OCR stack) costs more than the
# job in most tests, and only the tests of worker processes (restart, kill, lease
# expiry, Celery, S3 credentials seen by a worker) need one; they build their own
# settings with ``make_settings``, whose default keeps one real worker process.
IN_PROCESS_WORKERS = 0


@functools.cache
def pg_conninfo() -> str | None:
    """A libpq conninfo for a role that can connect, or None."""
    import psycopg

    for role in PG_ROLES:
        conninfo = f"host={PG_HOST} port={PG_PORT} dbname={PG_DATABASE} user={role}"
        try:
            with psycopg.connect(conninfo, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError:
            continue
        return conninfo
    return None


def _required_pg_conninfo() -> str:
    """The conninfo, or skip (fail under ``CI=true``) when PostgreSQL does not answer."""
    conninfo = pg_conninfo()
    if conninfo is None:
        reason = f"PostgreSQL at {PG_HOST}:{PG_PORT} not reachable"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run)", pytrace=False)
        pytest.skip(reason)
    return conninfo


def _postgres_schema_url() -> Iterator[str]:
    import psycopg

    conninfo = _required_pg_conninfo()
    role = conninfo.split("user=")[1]
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            f"postgresql+psycopg://{role}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"
            f"?options=-csearch_path%3D{schema}"
        )
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def pg_database_url() -> str:
    """The CI's PostgreSQL database itself (for tools that make their own schema)."""
    role = _required_pg_conninfo().split("user=")[1]
    return f"postgresql+psycopg://{role}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A SQLAlchemy URL of an empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'formscan.db'}"
        return
    yield from _postgres_schema_url()


@pytest.fixture
def broker_url() -> str:
    """The CI's Redis as a Celery broker; skipped when absent, except under ``CI=true``."""
    import redis

    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        reason = f"Redis at {REDIS_HOST}:{REDIS_PORT} not reachable"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the Celery tests must run)", pytrace=False)
        pytest.skip(reason)
    return url


def queue_submission(session: Session, *, unit_code: str, campaign_id: int, sha256: str) -> int:
    """A submission of one (never stored) PNG with its queued job; returns its id."""
    file = store.StoredFile(name="a.png", sha256=sha256, media_type="image/png", size_bytes=1)
    submission, _ = store.create_submission(
        session, unit_code=unit_code, campaign_id=campaign_id, files=[file], attempt_limit=3
    )
    return submission.id


def open_campaign(session: Session) -> int:
    """A 2022 campaign of the shipped layout that expects no particular units."""
    return store.create_campaign(
        session,
        name="2022",
        layout_id="llw-summary-2022",
        year=2022,
        deadline=None,
        expected_unit_codes=[],
    ).id


def make_settings(tmp_path: Path, db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": db_url,
        "workers": 1,
        "lease_seconds": 5.0,
        "retry_backoff_seconds": 0.2,
        "poll_seconds": 0.2,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings on a fresh database whose jobs run in a thread (``IN_PROCESS_WORKERS``).

    The same runner, claims, leases and retries as with worker processes: only where
    ``run_job`` executes differs.
    """
    return make_settings(tmp_path, db_url, workers=IN_PROCESS_WORKERS)


@functools.cache
def test_password_hash() -> str:
    """The argon2id hash of ``TEST_PASSWORD``, computed once (a hash takes ~0.2 s)."""
    return auth.hash_password(TEST_PASSWORD)


def add_user(
    sessions: sessionmaker[Session],
    username: str,
    role: Role,
    *,
    unit_code: str | None = None,
    is_active: bool = True,
) -> int:
    """An account with ``TEST_PASSWORD``; returns its id."""
    with sessions.begin() as session:
        unit_id = None
        if unit_code is not None:
            unit_id = session.scalars(select(Unit.id).where(Unit.code == unit_code)).one()
        user = User(
            username=username,
            display_name=username,
            password_hash=test_password_hash(),
            role=role,
            unit_id=unit_id,
            is_active=is_active,
        )
        session.add(user)
        session.flush()
        return user.id


def bearer_token(sessions: sessionmaker[Session], username: str) -> str:
    with sessions.begin() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return auth.create_api_token(session, user, name="tests")[1]


def sign_in_admin(client: TestClient, username: str = "admin") -> None:
    """Create an admin and authenticate ``client`` as it with a bearer token."""
    sessions = client.app.state.sessions  # type: ignore[attr-defined]
    add_user(sessions, username, Role.ADMIN)
    client.headers["Authorization"] = f"Bearer {bearer_token(sessions, username)}"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A live app (lifespan: migrations, embedded runner) on a fresh database, as an admin."""
    with TestClient(create_app(settings)) as test_client:
        sign_in_admin(test_client)
        yield test_client


@pytest.fixture
def fake_client(settings: Settings) -> Iterator[TestClient]:
    """``client`` whose jobs read with ``TruthReader`` (the sample's truth, no OCR)."""
    with TestClient(create_app(settings, reader=TruthReader())) as test_client:
        sign_in_admin(test_client)
        yield test_client


def setup_campaign(client: TestClient, *units: str) -> int:
    """Register units (children of a district) and a campaign; return the campaign id."""
    response = client.post(
        "/api/units", json={"code": "D1", "name": "Phòng GD&ĐT Gia Lâm", "kind": "district"}
    )
    assert response.status_code == 201, response.text
    for code in units:
        response = client.post(
            "/api/units",
            json={"code": code, "name": f"Trường {code}", "kind": "school", "parent_code": "D1"},
        )
        assert response.status_code == 201, response.text
    response = client.post(
        "/api/campaigns",
        json={"name": "Tuần lễ 2022", "year": 2022, "expected_unit_codes": list(units)},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def upload(
    client: TestClient, *, unit: str, campaign: int, files: list[tuple[str, bytes]]
) -> object:
    return client.post(
        "/api/submissions",
        data={"unit": unit, "campaign": str(campaign)},
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
    )


def wait_for_submission(
    client: TestClient, submission_id: int, *, timeout_s: float = PROCESSING_TIMEOUT_S
) -> dict[str, object]:
    """Poll the submission until it reaches a final status; return its JSON."""
    deadline = time.monotonic() + timeout_s
    while True:
        body: dict[str, object] = client.get(f"/api/submissions/{submission_id}").json()
        if body["status"] in FINAL_STATUSES:
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"submission {submission_id} still {body['status']} after {timeout_s} s")
        time.sleep(0.1)
