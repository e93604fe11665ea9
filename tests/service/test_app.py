"""The app's contract: problem+json errors, a complete OpenAPI document, health, migrations."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import text

from service.db import create_db_engine, upgrade_database
from service.models import Base
from service.storage import LocalBlobStore, sha256_file


def test_openapi_every_route_documents_problems(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "ProblemPublic" in document["components"]["schemas"]
    operations = [
        (path, method, op)
        for path, methods in document["paths"].items()
        for method, op in methods.items()
    ]
    assert len(operations) >= 10
    for path, method, op in operations:
        errors = {s: r for s, r in op["responses"].items() if int(s) >= 400}
        assert "500" in errors, f"{method} {path}"
        for response in errors.values():
            assert list(response["content"]) == ["application/problem+json"], f"{method} {path}"
    upload = document["paths"]["/api/submissions"]["post"]
    assert {"202", "200", "413", "415", "422"} <= set(upload["responses"])
    assert "multipart/form-data" in upload["requestBody"]["content"]


def test_errors_unknown_route_and_bad_id_are_problems(client: TestClient) -> None:
    for url, status in (("/nope", 404), ("/api/jobs/abc", 422), ("/api/submissions/5", 404)):
        response = client.get(url)
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        assert {"type", "title", "status", "detail", "code", "fix"} <= set(response.json())


def test_create_unit_duplicate_and_unknown_layout(client: TestClient) -> None:
    body = {"code": "S1", "name": "Trường", "kind": "school"}
    assert client.post("/api/units", json=body).status_code == 201
    response = client.post("/api/units", json=body)
    assert (response.status_code, response.json()["code"]) == (409, "unit_exists")
    response = client.post("/api/campaigns", json={"name": "x", "year": 2022, "layout_id": "../x"})
    assert (response.status_code, response.json()["code"]) == (422, "unknown_layout")
    assert [u["code"] for u in client.get("/api/units").json()] == ["S1"]


def test_healthz_names_database(client: TestClient, db_url: str) -> None:
    body = client.get("/healthz").json()
    assert body == {"status": "ok", "database": db_url.split(":")[0].split("+")[0]}


def test_upgrade_database_matches_models(db_url: str) -> None:
    engine = create_db_engine(db_url)
    upgrade_database(engine)
    upgrade_database(engine)  # idempotent
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_local_blob_store_put_file_atomic_idempotent(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    source = tmp_path / "scan.png"
    source.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 1000)
    sha = sha256_file(source)
    store.put_file(source, sha256=sha)
    store.put_file(source, sha256=sha)
    path = store.path(sha)
    assert path == tmp_path / "blobs" / sha[:2] / sha[2:4] / sha
    assert store.read(sha) == source.read_bytes()
    assert store.exists(sha)
    assert [p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == [sha]
    assert store.put_bytes(source.read_bytes()) == sha


def test_upgrade_database_0003_keeps_submissions(db_url: str) -> None:
    """The batch copy of ``submission`` (SQLite) loses no reading, file or audit event."""
    engine = create_db_engine(db_url)
    upgrade_database(engine, "0002")
    now = "'2022-01-01 00:00:00'"
    with engine.begin() as conn:
        for sql in (
            "INSERT INTO unit (id, code, name, kind, created_at) "
            f"VALUES (1, 'S1', 's', 'school', {now})",
            "INSERT INTO campaign (id, name, layout_id, year, created_at) "
            f"VALUES (1, 'c', 'l', 2022, {now})",
            "INSERT INTO submission (id, unit_id, campaign_id, layout_id, version, files_sha256, "
            f"status, uploaded_by, pages_done, warnings, created_at, updated_at) VALUES "
            f"(1, 1, 1, 'l', 1, 'x', 'clean', 7, 0, '[]', {now}, {now})",
            "INSERT INTO reading (submission_id, position, row_key, field, text, confidence, "
            "status, reasons, version, is_decided_by_uploader, accepted_reasons) VALUES "
            "(1, 0, 'a', 'count', '', 1, 'ok', '[]', 1, false, '[]')",
            "INSERT INTO audit_event (submission_id, actor, action, at, is_by_uploader) "
            f"VALUES (1, 'x', 'y', {now}, false)",
        ):
            conn.execute(text(sql))
    upgrade_database(engine)
    with engine.connect() as conn:
        counts = [
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in ("submission", "reading", "audit_event")
        ]
        assert counts == [1, 1, 1]
        assert conn.execute(text("SELECT uploaded_by FROM submission")).scalar() is None
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
