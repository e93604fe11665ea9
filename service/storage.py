"""Content-addressed storage of uploaded originals.

A blob's key is the SHA-256 of its bytes, so storing the same file twice is a no-op
and a stored file can always be checked against its key. The upload path stores
every original *before* any database row names it: a crash in between leaves an
unreferenced blob (harmless), never a row pointing at nothing.

``BlobStore`` is the seam for other stores. ``LocalBlobStore`` (a directory, local or
a network mount shared by Celery workers on other machines) is the default;
``FsspecBlobStore`` keeps the same key layout on any fsspec filesystem, in practice an
S3-compatible object store (``FORMSCAN_BLOB_URL=s3://bucket/prefix``) that every
service and worker machine reaches. ``open_blob_store(settings)`` picks one and checks,
at start-up, that it can be used, so a misconfigured store stops the service before
the first upload rather than failing it. This module is the only fsspec importer.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import fsspec
from fsspec.spec import AbstractFileSystem

if TYPE_CHECKING:
    from service.settings import Settings

_SHA256 = re.compile(r"[0-9a-f]{64}")
COPY_CHUNK_BYTES = 1024 * 1024
S3_PROTOCOLS = frozenset({"s3", "s3a"})
# Object stores publish an object only once its upload (one PUT, or a completed
# multipart upload) is whole, so a reader never sees part of it: no temp name needed.
ATOMIC_PUT_PROTOCOLS = S3_PROTOCOLS | {"gs", "gcs", "az", "abfs", "abfss"}
# botocore waits 60 s for a TCP connection; an S3 server that does not answer in 10 s
# is down or misconfigured, and start-up should say so within a minute.
S3_CONNECT_TIMEOUT_S = 10
# botocore's "standard" retry mode (AWS's recommendation; 3 attempts with jittered
# backoff) instead of "legacy" (5 attempts): transient errors are still retried, and a
# store that is not there is reported in about a second, not in 3-11 s (botocore 1.43).
S3_RETRY_MODE = "standard"
S3_EXTRA_FIX = "pip install 'formscan[s3]'"


class BlobStore(Protocol):
    """Where originals live, addressed by the lowercase hex SHA-256 of their bytes."""

    def put_file(self, source: Path, *, sha256: str) -> None:
        """Store a copy of ``source`` (whose digest the caller computed) under ``sha256``."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether ``sha256`` is stored: an identical upload then stores nothing again."""

    def read(self, sha256: str) -> bytes:
        """The bytes stored under ``sha256``; the job reads the originals through this."""

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` and return its key (derived images such as cleaned pages)."""
        ...


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in chunks: uploads are spooled to disk, not in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(COPY_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


class LocalBlobStore:
    """Blobs as files ``<root>/ab/cd/<sha256>`` on a local disk.

    Writes are atomic and durable: the bytes go to a temp file in the target
    directory, are fsynced, renamed over the final name with ``os.replace`` and the
    directory is fsynced, so a reader sees either nothing or the whole file.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """Where ``sha256`` lives; a key that is not a SHA-256 is refused, so no path escapes."""
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        """Whether the file is there (complete: writes are renamed into place)."""
        return self.path(sha256).is_file()

    def read(self, sha256: str) -> bytes:
        """The stored bytes."""
        return self.path(sha256).read_bytes()

    def put_file(self, source: Path, *, sha256: str) -> None:
        """Copy ``source`` in atomically and durably; a blob already there is kept as it is."""
        target = self.path(sha256)
        if target.is_file():
            return  # content-addressed: the same key always holds the same bytes
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, COPY_CHUNK_BYTES)
                out.flush()
                os.fsync(out.fileno())
            tmp.replace(target)  # os.replace: atomic on POSIX
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` and return its key (cleaned page images, scripts, tests)."""
        sha256 = hashlib.sha256(data).hexdigest()
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            self.put_file(tmp, sha256=sha256)
        finally:
            tmp.unlink(missing_ok=True)
        return sha256


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStoreConfigError(ValueError):
    """The configured blob store cannot be used (no package, no bucket, no route).

    Raised when a store is opened, which the API does at start-up. A ``ValueError`` so
    that pydantic reports it as a settings validation error when ``Settings`` checks
    ``FORMSCAN_BLOB_URL``.
    """

    code = "blob_store_unusable"

    def __init__(self, detail: str, *, fix: str) -> None:
        super().__init__(f"{detail}. Fix: {fix}")
        self.detail = detail
        self.fix = fix


class FsspecBlobStore:
    """Blobs as objects ``<root>/ab/cd/<sha256>`` on an fsspec filesystem (S3 and others).

    The layout is ``LocalBlobStore``'s, so a store can be copied between the two as is.
    Writes never expose a partial object: on object stores (``ATOMIC_PUT_PROTOCOLS``)
    the backend's PUT is atomic; elsewhere the bytes go to a temp name beside the
    target and are moved over it (a rename, atomic on local and POSIX network
    filesystems; unlike ``LocalBlobStore`` nothing is fsynced). Putting a key that
    exists is a no-op, and concurrent puts of one blob write identical bytes.
    """

    def __init__(self, fs: AbstractFileSystem, root: str, *, is_put_atomic: bool) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.is_put_atomic = is_put_atomic

    @classmethod
    def from_url(cls, url: str, *, endpoint_url: str | None = None) -> FsspecBlobStore:
        """The store at ``url`` (``s3://bucket/prefix``, ``file:///srv/blobs``), unchecked.

        S3 credentials and region come from botocore's usual sources (``AWS_*``
        variables, ``~/.aws``, an instance role); ``endpoint_url`` selects an
        S3-compatible server (MinIO, Ceph, Garage) instead of AWS.
        """
        protocol = blob_url_protocol(url)
        options: dict[str, object] = {
            # Our own cache holds the instance; fsspec's would ignore changed credentials.
            "skip_instance_cache": True,
            # Listings are never used and a cached one could hide another machine's write.
            "use_listings_cache": False,
        }
        if protocol in S3_PROTOCOLS:
            options["config_kwargs"] = {
                "connect_timeout": S3_CONNECT_TIMEOUT_S,
                "retries": {"mode": S3_RETRY_MODE},
            }
            if endpoint_url:
                options["endpoint_url"] = endpoint_url
        fs, root = fsspec.core.url_to_fs(url, **options)
        return cls(fs, root, is_put_atomic=protocol in ATOMIC_PUT_PROTOCOLS)

    def key(self, sha256: str) -> str:
        """The object key of ``sha256``; anything but a SHA-256 is refused before the store."""
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
        return f"{self.root}/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def exists(self, sha256: str) -> bool:
        """Whether the object exists in the bucket or directory."""
        return bool(self.fs.exists(self.key(sha256)))

    def read(self, sha256: str) -> bytes:
        """The object's bytes; a missing object is the same ``FileNotFoundError`` as on disk."""
        key = self.key(sha256)
        try:
            return bytes(self.fs.cat_file(key))
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"no blob {sha256} in the blob store ({key})") from exc

    def put_file(self, source: Path, *, sha256: str) -> None:
        """Store ``source`` under ``sha256``, after checking that it is its digest.

        Hashing a local file costs far less than uploading it, and a wrong key would
        hand other bytes to everyone who later reads that key.
        """
        key = self.key(sha256)
        actual = sha256_file(source)
        if actual != sha256:
            raise ValueError(f"{source} has SHA-256 {actual}, not {sha256}")
        if self.fs.exists(key):
            return  # content-addressed: the same key always holds the same bytes
        self._publish(key, lambda path: self.fs.put_file(str(source), path))

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` and return its key (cleaned page images, scripts, tests)."""
        sha256 = hashlib.sha256(data).hexdigest()
        key = self.key(sha256)
        if not self.fs.exists(key):
            self._publish(key, lambda path: self.fs.pipe_file(path, data))
        return sha256

    def check(self) -> None:
        """Raise ``BlobStoreConfigError`` unless the store's root can be reached.

        One cheap call at start-up: an S3 ``HeadBucket``, or creating the directory on a
        local filesystem. A missing bucket is an error, never created here: a typo in
        one machine's URL must not split the blobs over two buckets.
        """
        if _is_local(self.fs):
            self.fs.makedirs(self.root, exist_ok=True)
            return
        bucket = self.root.split("/", 1)[0]
        if _protocols(self.fs) & S3_PROTOCOLS:
            _head_bucket(self.fs, bucket)
        elif not self.fs.exists(bucket):
            raise BlobStoreConfigError(
                f"blob store {self.root!r}: {bucket!r} does not exist or is not reachable",
                fix="create it, or correct FORMSCAN_BLOB_URL",
            )

    def _publish(self, key: str, write: Callable[[str], object]) -> None:
        """Make ``key`` appear whole: ``write(path)`` puts the bytes at ``path``."""
        if self.is_put_atomic:
            write(key)
            return
        parent = key.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"
        try:
            write(tmp)
            self.fs.mv(tmp, key)
        except BaseException:
            with contextlib.suppress(OSError):
                self.fs.rm_file(tmp)
            raise


def blob_url_protocol(url: str) -> str:
    """The fsspec protocol of ``url`` (``file`` when it has none)."""
    protocol, _ = fsspec.core.split_protocol(url)
    return protocol or "file"


def check_blob_url(url: str) -> None:
    """Raise ``BlobStoreConfigError`` if no installed package serves ``url``'s protocol.

    Cheap and offline (an import), so ``Settings`` runs it and every process that
    reads the settings, the API and ``formscan worker`` alike, refuses to start.
    """
    protocol = blob_url_protocol(url)
    try:
        fsspec.get_filesystem_class(protocol)
    except ImportError as exc:
        fix = S3_EXTRA_FIX if protocol in S3_PROTOCOLS else str(exc)
        raise BlobStoreConfigError(
            f"FORMSCAN_BLOB_URL {url!r} needs a package that is not installed "
            f"for the protocol {protocol!r}",
            fix=fix,
        ) from exc
    except ValueError as exc:
        raise BlobStoreConfigError(
            f"FORMSCAN_BLOB_URL {url!r}: unknown protocol {protocol!r}",
            fix="use s3://bucket/prefix or file:///path",
        ) from exc


def open_blob_store(settings: Settings) -> BlobStore:
    """The blob store the settings name, checked to be usable.

    ``LocalBlobStore`` under ``FORMSCAN_DATA_DIR`` by default; with
    ``FORMSCAN_BLOB_URL`` an ``FsspecBlobStore`` there (``FORMSCAN_S3_ENDPOINT_URL``
    for a server other than AWS). Raises ``BlobStoreConfigError`` when it cannot be
    used, so callers fail at start-up.
    """
    if not settings.blob_url:
        return LocalBlobStore(settings.blob_dir)
    check_blob_url(settings.blob_url)
    store = FsspecBlobStore.from_url(settings.blob_url, endpoint_url=settings.s3_endpoint_url)
    store.check()
    return store


def _protocols(fs: AbstractFileSystem) -> frozenset[str]:
    """The names fsspec registers ``fs`` under (a string or a tuple of them)."""
    protocol = fs.protocol
    return frozenset([protocol] if isinstance(protocol, str) else protocol)


def _is_local(fs: AbstractFileSystem) -> bool:
    return "file" in _protocols(fs)


def _head_bucket(fs: AbstractFileSystem, bucket: str) -> None:
    """``HeadBucket``, translated into a start-up error that names the likely fix."""
    endpoint = getattr(fs, "endpoint_url", None) or "AWS"
    where = f"S3 bucket {bucket!r} at {endpoint}"
    try:
        fs.call_s3("head_bucket", Bucket=bucket)
    except FileNotFoundError as exc:
        raise BlobStoreConfigError(
            f"{where} does not exist", fix="create the bucket, or correct FORMSCAN_BLOB_URL"
        ) from exc
    except PermissionError as exc:
        raise BlobStoreConfigError(
            f"{where}: access denied",
            fix="check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY and the bucket's policy",
        ) from exc
    # botocore's exception classes are not importable without the s3 extra, and any
    # other failure of this one call (no route, no credentials) means the same thing.
    except Exception as exc:
        raise BlobStoreConfigError(
            f"{where} is not reachable: {exc}",
            fix="check FORMSCAN_S3_ENDPOINT_URL, AWS_DEFAULT_REGION and the credentials",
        ) from exc
