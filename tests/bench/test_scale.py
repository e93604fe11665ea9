"""The scale benchmarks' parts, and both commands end to end on a tiny batch.

``python -m bench throughput`` needs the CI's PostgreSQL and Redis (skipped locally without
them, failing under ``CI=true``); ``python -m bench load --embedded`` needs neither.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.cluster import REPO_ROOT
from bench.scale import load_documents, numbered_copy, percentile
from ocr.load import InputFile, load_document
from tests.conftest import SAMPLES

PNG = SAMPLES / "typed-clean-200dpi.png"
JPEG = SAMPLES / "typed-150dpi-low-quality.jpg"
PDF = SAMPLES / "born-digital-one-page.pdf"


@pytest.mark.parametrize("path", [PNG, JPEG])
def test_numbered_copy_image_distinct_bytes_same_pixels(path: Path) -> None:
    data = path.read_bytes()
    first, second = numbered_copy(data, 1), numbered_copy(data, 2)
    digests = {hashlib.sha256(d).hexdigest() for d in (data, first, second)}
    assert len(digests) == 3
    original = np.asarray(Image.open(io.BytesIO(data)))
    for copy in (first, second):
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(copy))), original)


def test_numbered_copy_pdf_same_pages_and_text() -> None:
    data = PDF.read_bytes()
    copy = numbered_copy(data, 7)
    assert copy != data
    before = load_document([InputFile(name="a.pdf", data=data)])
    after = load_document([InputFile(name="b.pdf", data=copy)])
    assert len(after) == len(before)
    for page_before, page_after in zip(before, after, strict=True):
        assert np.array_equal(page_before.image, page_after.image)
        assert page_before.words == page_after.words


def test_numbered_copy_other_type_refused() -> None:
    with pytest.raises(ValueError, match="PDF, PNG and JPEG"):
        numbered_copy(b"II*\x00tiff", 1)


def test_load_documents_truth_files_group_pages() -> None:
    documents = {d.name: d for d in load_documents(SAMPLES)}
    assert len(documents) == len(list(SAMPLES.glob("*.truth.json")))
    two_jpgs = documents["typed-two-page-jpgs-no-repeated-header"]
    assert [name for name, _ in two_jpgs.files] == [
        "typed-two-page-jpgs-no-repeated-header-p1.jpg",
        "typed-two-page-jpgs-no-repeated-header-p2.jpg",
    ]


def test_load_documents_plain_files_and_empty_dir(tmp_path: Path) -> None:
    shutil.copy(PNG, tmp_path / "a.png")
    (tmp_path / "notes.txt").write_text("not a form")
    (tmp_path / "b.tif").write_bytes(b"II*\x00")  # cannot be numbered: not in a batch
    assert [d.name for d in load_documents(tmp_path)] == ["a"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"no \*\.truth\.json"):
        load_documents(empty)


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 95) == 95.0
    assert percentile(values, 50) == 50.0
    assert percentile([3.0], 95) == 3.0
    assert percentile([], 95) is None


def _bench(*args: str, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def test_bench_load_embedded_command_reports_nothing_lost(tmp_path: Path) -> None:
    documents = tmp_path / "documents"
    documents.mkdir()
    shutil.copy(PDF, documents / PDF.name)
    result = _bench(
        "load", str(documents), "--embedded", "--uploads", "4", "--concurrency", "4",
        "--workers", "1", "--work-dir", str(tmp_path / "run"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "answers                 202: 4" in result.stdout
    assert "verdict                 nothing lost" in result.stdout


def test_bench_throughput_command_prints_ratio(
    tmp_path: Path, broker_url: str, pg_database_url: str
) -> None:
    documents = tmp_path / "documents"
    documents.mkdir()
    shutil.copy(PDF, documents / PDF.name)
    result = _bench(
        "throughput", str(documents), "--processes", "1", "2", "--copies", "2",
        "--database-url", pg_database_url,
        "--broker-url", broker_url, "--work-dir", str(tmp_path / "run"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["processes", "runs", "pages", "median", "pages/min", "ratio"]
    rows = [line.split() for line in lines[1:3]]
    assert [row[0] for row in rows] == ["1", "2"]
    assert [row[2] for row in rows] == ["2", "2"]  # two one-page copies each time
    assert rows[0][4] == "1.00x"
    assert float(rows[1][3]) > 0
    timeline = tmp_path / "run" / "r0-p2" / "timeline.json"
    assert timeline.is_file()


def test_bench_commands_unreachable_services_one_line(tmp_path: Path) -> None:
    closed = "postgresql+psycopg://postgres@127.0.0.1:1/test"
    result = _bench("throughput", "--database-url", closed, timeout_s=60)
    assert result.returncode == 1
    assert result.stderr.startswith("formscan: bench_failed: PostgreSQL at ")
    assert result.stderr.strip().endswith("Fix: start it, or pass --database-url")
    assert len(result.stderr.strip().splitlines()) == 1
    result = _bench(
        "load", "--database-url", "sqlite://", "--broker-url", "redis://127.0.0.1:1/0",
        timeout_s=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Redis at redis://127.0.0.1:1/0 does not answer" in result.stderr
    assert "Traceback" not in result.stderr
