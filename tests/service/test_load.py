"""A bounded load run on loopback: 200 concurrent uploads to a live API lose nothing.

``formscan serve`` and two ``formscan worker`` processes run against the real
PostgreSQL and Redis (skipped locally without them, failing under ``CI=true``, like
the other Celery tests). The run itself (``bench.scale``) checks every upload
against the database and the blob store; this test also counts on its own and shows
that the check would see a corrupt or missing original.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.scale import Deployment, LoadRun, run_load_bench, verify_uploads
from service.models import Job, Submission, SubmissionFile
from service.storage import LocalBlobStore
from tests.conftest import SAMPLES

UPLOADS = 200
# One of each kind the upload path sniffs (PDF with a text layer, PNG, JPEG), the
# cheapest of each to read, so 200 forms are read in about a minute on 2 cores.
DOCUMENTS = ("born-digital-one-page.pdf", "typed-clean-200dpi.png", "typed-150dpi-low-quality.jpg")


@pytest.fixture
def documents(tmp_path: Path) -> Path:
    directory = tmp_path / "documents"
    directory.mkdir()
    for name in DOCUMENTS:
        shutil.copy(SAMPLES / name, directory / name)
    return directory


def check_independently(dep: Deployment, run: LoadRun) -> None:
    """Count from the database, hash from the disk, then break one original on purpose."""
    sent = {u.submission_id: u.sha256 for u in run.uploads}
    with dep.sessions() as session:
        rows = session.execute(select(SubmissionFile.submission_id, SubmissionFile.sha256)).all()
        assert {sid: [sha] for sid, sha in rows} == sent
        assert session.scalar(select(func.count()).select_from(Submission)) == UPLOADS
        attempts = session.scalars(select(Job.attempt)).all()
        assert sorted(set(attempts)) == [1]  # nothing was read twice
    store = LocalBlobStore(dep.settings.blob_dir)
    for shas in sent.values():
        assert hashlib.sha256(store.path(shas[0]).read_bytes()).hexdigest() == shas[0]

    victim, missing = run.uploads[0].sha256[0], run.uploads[1].sha256[0]
    store.path(victim).write_bytes(b"not the original")
    store.path(missing).unlink()
    found = verify_uploads(dep, run.uploads)
    assert len(found.lost) == 2
    assert victim in found.lost[0] and missing in found.lost[1]


def test_load_run_200_concurrent_uploads_lose_nothing(
    documents: Path, pg_database_url: str, broker_url: str, tmp_path: Path
) -> None:
    run = run_load_bench(
        documents,
        uploads=UPLOADS,
        concurrency=UPLOADS,
        workers=2,
        database_url=pg_database_url,
        broker_url=broker_url,
        work_dir=tmp_path / "run",
        inspect=check_independently,
    )
    assert [u.status_code for u in run.uploads] == [202] * UPLOADS
    assert len({u.submission_id for u in run.uploads}) == UPLOADS
    assert run.found.lost == []
    assert run.found.not_final == []
    assert run.found.incomplete_readings == []
    assert sum(run.found.statuses.values()) == UPLOADS
    assert "failed" not in run.found.statuses
    assert run.is_lossless
