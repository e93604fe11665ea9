"""Content-addressed storage of uploaded originals.

A blob's key is the SHA-256 of its bytes, so storing the same file twice is a no-op
and a stored file can always be checked against its key. The upload path stores
every original *before* any database row names it: a crash in between leaves an
unreferenced blob (harmless), never a row pointing at nothing.

``BlobStore`` is the seam for other stores (an object store shared by Celery
workers on other machines); ``LocalBlobStore`` is the embedded default.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

_SHA256 = re.compile(r"[0-9a-f]{64}")
COPY_CHUNK_BYTES = 1024 * 1024


class BlobStore(Protocol):
    """Where originals live, addressed by the lowercase hex SHA-256 of their bytes."""

    def put_file(self, source: Path, *, sha256: str) -> None:
        """Store a copy of ``source`` (whose digest the caller computed) under ``sha256``."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def read(self, sha256: str) -> bytes: ...

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` and return its key (derived images such as cleaned pages)."""
        ...


def sha256_file(path: Path) -> str:
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
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def put_file(self, source: Path, *, sha256: str) -> None:
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
