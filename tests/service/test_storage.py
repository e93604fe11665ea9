"""The blob store contract, on a local directory, on fsspec ``file://`` and on S3.

S3 is moto's server on loopback (``moto[server]``, a dev dependency): the real S3
protocol through s3fs and botocore, so the same client code runs as against AWS or
MinIO. Without moto the S3 cases are skipped, except under ``CI=true``, where they
fail. The end-to-end test checks that an upload's original goes to the S3 store and
that the embedded runner's worker process, spawned with the same environment, reads it
back from there.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service.app import create_app
from service.settings import Settings
from service.storage import (
    BlobStore,
    BlobStoreConfigError,
    FsspecBlobStore,
    LocalBlobStore,
    open_blob_store,
    sha256_file,
)
from tests.conftest import SAMPLES
from tests.service.conftest import (
    make_settings,
    setup_campaign,
    sign_in_admin,
    upload,
    wait_for_submission,
)

BORN_DIGITAL = SAMPLES / "born-digital-one-page.pdf"
STORE_KINDS = ("local", "fsspec-file", "s3")
THREADS = 8
REPO_ROOT = Path(__file__).resolve().parents[2]


def require_s3_test_packages() -> None:
    """Skip without s3fs and moto[server] (dev dependencies), but fail under ``CI=true``."""
    try:
        importlib.import_module("s3fs")
        importlib.import_module("moto.server")
    except ImportError as exc:
        reason = f"s3fs or moto[server] is not installed ({exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the S3 tests must run)", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """The endpoint URL of a moto S3 server on 127.0.0.1 (a free port)."""
    require_s3_test_packages()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials in ``os.environ``, where botocore (and spawned workers) find them.

    ``~/.aws`` and instance metadata are shut out, so nothing of the machine's own
    AWS set-up takes part.
    """
    require_s3_test_packages()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "formscan-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "formscan-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def s3_bucket(s3_server: str, aws_env: None) -> str:
    """A new, empty bucket on the moto server."""
    import boto3

    name = f"formscan-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=name)
    return name


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return make_settings(tmp_path, f"sqlite:///{tmp_path / 'formscan.db'}", **overrides)


def _s3_settings(tmp_path: Path, endpoint: str, bucket: str, **overrides: object) -> Settings:
    return _settings(
        tmp_path, blob_url=f"s3://{bucket}/blobs", s3_endpoint_url=endpoint, **overrides
    )


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """An empty store of each kind, opened through ``open_blob_store`` like the service."""
    if request.param == "local":
        settings = _settings(tmp_path)
    elif request.param == "fsspec-file":
        settings = _settings(tmp_path, blob_url=(tmp_path / "fsspec-blobs").as_uri())
    else:
        endpoint = request.getfixturevalue("s3_server")
        bucket = request.getfixturevalue("s3_bucket")
        settings = _s3_settings(tmp_path, endpoint, bucket)
    return open_blob_store(settings)


def stored_keys(store: BlobStore) -> list[str]:
    """Every object under the store's root, relative to it (temp files included)."""
    if isinstance(store, LocalBlobStore):
        files = (p for p in store.root.rglob("*") if p.is_file())
        return sorted(p.relative_to(store.root).as_posix() for p in files)
    assert isinstance(store, FsspecBlobStore)
    found: list[str] = store.fs.find(store.root)
    return sorted(key.removeprefix(f"{store.root}/") for key in found)


def layout_key(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def test_open_blob_store_kinds(store: BlobStore) -> None:
    assert isinstance(store, LocalBlobStore | FsspecBlobStore)


def test_put_file_round_trip(store: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "scan.pdf"
    source.write_bytes(BORN_DIGITAL.read_bytes())
    sha256 = sha256_file(source)
    assert not store.exists(sha256)
    store.put_file(source, sha256=sha256)
    assert store.exists(sha256)
    assert store.read(sha256) == source.read_bytes()
    assert stored_keys(store) == [layout_key(sha256)]


def test_put_bytes_key_is_sha256_of_bytes(store: BlobStore) -> None:
    data = b"\x89PNG cleaned page" * 1000
    key = store.put_bytes(data)
    assert key == hashlib.sha256(data).hexdigest()
    assert store.exists(key)
    assert hashlib.sha256(store.read(key)).hexdigest() == key
    assert stored_keys(store) == [layout_key(key)]


def test_put_same_content_twice_one_object(store: BlobStore, tmp_path: Path) -> None:
    data = b"the same scan, uploaded twice"
    first = store.put_bytes(data)
    second = store.put_bytes(data)
    source = tmp_path / "again.bin"
    source.write_bytes(data)
    store.put_file(source, sha256=first)
    assert first == second
    assert stored_keys(store) == [layout_key(first)]


@pytest.mark.parametrize("key", ["", "ABCD" * 16, "0" * 63, "../" + "0" * 61, "g" * 64])
def test_invalid_key_raises_value_error(store: BlobStore, tmp_path: Path, key: str) -> None:
    source = tmp_path / "x.bin"
    source.write_bytes(b"x")
    with pytest.raises(ValueError, match="SHA-256"):
        store.exists(key)
    with pytest.raises(ValueError, match="SHA-256"):
        store.read(key)
    with pytest.raises(ValueError, match="SHA-256"):
        store.put_file(source, sha256=key)


def test_read_missing_key_raises_file_not_found(store: BlobStore) -> None:
    missing = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(missing)
    with pytest.raises(FileNotFoundError):
        store.read(missing)


def test_put_concurrently_same_blob_is_safe(store: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(256 * 1024)
    sha256 = hashlib.sha256(data).hexdigest()
    source = tmp_path / "upload.bin"
    source.write_bytes(data)

    def put(i: int) -> str:
        if i % 2:
            store.put_file(source, sha256=sha256)
            return sha256
        return store.put_bytes(data)

    with ThreadPoolExecutor(THREADS) as pool:
        keys = list(pool.map(put, range(THREADS * 2)))
    assert set(keys) == {sha256}
    assert store.read(sha256) == data
    assert stored_keys(store) == [layout_key(sha256)]  # no temp file left behind


@pytest.mark.parametrize("kind", ["fsspec-file", "s3"])
def test_fsspec_put_file_wrong_digest_refused(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    if kind == "s3":
        endpoint = request.getfixturevalue("s3_server")
        settings = _s3_settings(tmp_path, endpoint, request.getfixturevalue("s3_bucket"))
    else:
        settings = _settings(tmp_path, blob_url=(tmp_path / "fsspec-blobs").as_uri())
    store = open_blob_store(settings)
    source = tmp_path / "scan.bin"
    source.write_bytes(b"the real bytes")
    claimed = hashlib.sha256(b"other bytes").hexdigest()
    with pytest.raises(ValueError, match="has SHA-256"):
        store.put_file(source, sha256=claimed)
    assert not store.exists(claimed)


def test_fsspec_file_store_same_layout_as_local(tmp_path: Path) -> None:
    """A directory written by one store reads with the other: the layouts are the same."""
    local = LocalBlobStore(tmp_path / "blobs")
    key = local.put_bytes(b"written by LocalBlobStore")
    fsspec_store = open_blob_store(_settings(tmp_path, blob_url=(tmp_path / "blobs").as_uri()))
    assert fsspec_store.read(key) == b"written by LocalBlobStore"
    other = fsspec_store.put_bytes(b"written by FsspecBlobStore")
    assert local.read(other) == b"written by FsspecBlobStore"


def test_open_blob_store_s3_uses_endpoint_and_bucket(
    tmp_path: Path, s3_server: str, s3_bucket: str
) -> None:
    import boto3

    store = open_blob_store(_s3_settings(tmp_path, s3_server, s3_bucket))
    key = store.put_bytes(b"on the S3 server")
    listed = boto3.client("s3", endpoint_url=s3_server).list_objects_v2(Bucket=s3_bucket)
    assert [item["Key"] for item in listed["Contents"]] == [f"blobs/{layout_key(key)}"]


def test_app_upload_stored_in_s3_and_read_by_job(
    tmp_path: Path, s3_server: str, s3_bucket: str
) -> None:
    import boto3

    settings = _s3_settings(tmp_path, s3_server, s3_bucket)
    data = BORN_DIGITAL.read_bytes()
    with TestClient(create_app(settings)) as client:
        sign_in_admin(client)
        campaign = setup_campaign(client, "S1")
        response = upload(client, unit="S1", campaign=campaign, files=[("scan.pdf", data)])
        assert response.status_code == 202, response.text  # type: ignore[attr-defined]
        submission = response.json()  # type: ignore[attr-defined]
        body = wait_for_submission(client, submission["id"])
        # The job's worker process read the original from S3: it did not fail.
        assert body["status"] in ("needs_review", "clean"), body
        page = client.get(f"/api/submissions/{submission['id']}/pages/1.png")
        assert page.status_code == 200
    s3 = boto3.client("s3", endpoint_url=s3_server)
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]}
    original = hashlib.sha256(data).hexdigest()
    assert submission["files"][0]["sha256"] == original
    assert f"blobs/{layout_key(original)}" in keys
    page_key = hashlib.sha256(page.content).hexdigest()
    assert f"blobs/{layout_key(page_key)}" in keys  # the cleaned page, stored by the job
    assert not settings.blob_dir.exists()  # nothing went to the local store


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_app_start_unreachable_s3_endpoint_refused(tmp_path: Path, aws_env: None) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    settings = _s3_settings(tmp_path, endpoint, "formscan")
    with (
        pytest.raises(BlobStoreConfigError, match="not reachable") as caught,
        TestClient(create_app(settings)),
    ):
        pass
    assert "FORMSCAN_S3_ENDPOINT_URL" in caught.value.fix
    assert not (tmp_path / "formscan.db").exists()  # refused before touching the database


def test_app_start_missing_bucket_refused(tmp_path: Path, s3_server: str, aws_env: None) -> None:
    settings = _s3_settings(tmp_path, s3_server, "formscan-no-such-bucket")
    with (
        pytest.raises(BlobStoreConfigError, match="does not exist") as caught,
        TestClient(create_app(settings)),
    ):
        pass
    assert "create the bucket" in caught.value.fix


def test_settings_unknown_protocol_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="unknown protocol 'nosuch'"):
        _settings(tmp_path, blob_url="nosuch://bucket/blobs")


def test_settings_s3_without_s3fs_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if s3fs were not installed: its import fails, and fsspec has not registered it.
    registry_module = importlib.import_module("fsspec.registry")
    monkeypatch.setitem(sys.modules, "s3fs", None)
    monkeypatch.delitem(registry_module._registry, "s3", raising=False)
    with pytest.raises(ValidationError, match=r"pip install 'formscan\[s3\]'"):
        _settings(tmp_path, blob_url="s3://formscan/blobs")


def run_worker_command(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``formscan worker`` with the ``FORMSCAN_*`` variables given; a broker nobody serves."""
    environ = dict(os.environ)
    environ.update(
        FORMSCAN_DATA_DIR=str(tmp_path / "data"),
        FORMSCAN_BROKER_URL=f"redis://127.0.0.1:{_closed_port()}/0",
        PYTHONPATH=str(REPO_ROOT),
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "worker"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )


def test_worker_start_unusable_blob_url_refused(tmp_path: Path) -> None:
    """``formscan worker`` reads the settings first, so it stops before Celery starts."""
    result = run_worker_command(tmp_path, FORMSCAN_BLOB_URL="nosuch://bucket/blobs")
    assert result.returncode == 4
    assert result.stderr.startswith("formscan: invalid_configuration: FORMSCAN_BLOB_URL")
    assert "FORMSCAN_BLOB_URL 'nosuch://bucket/blobs': unknown protocol" in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_start_missing_bucket_refused(tmp_path: Path, s3_server: str, aws_env: None) -> None:
    """The bucket is checked before the worker takes any job, like the API's start."""
    result = run_worker_command(
        tmp_path,
        FORMSCAN_BLOB_URL="s3://formscan-no-such-bucket/blobs",
        FORMSCAN_S3_ENDPOINT_URL=s3_server,
    )
    assert result.returncode == 4
    assert result.stderr.startswith("formscan: blob_store_unusable: S3 bucket")
    assert "does not exist" in result.stderr


def test_jobs_blob_store_opened_once_per_process(tmp_path: Path) -> None:
    from service.jobs import run as jobs

    settings = _settings(tmp_path, blob_url=(tmp_path / "blobs").as_uri())
    first = jobs._blob_store(settings, pid=os.getpid())
    assert jobs._blob_store(settings, pid=os.getpid()) is first
    assert jobs._blob_store(settings, pid=-1) is not first  # a forked child opens its own
