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
