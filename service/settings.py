"""Service settings, read from ``FORMSCAN_*`` environment variables.

Every setting has a default that runs the embedded service on one machine with no
other server: SQLite and the blob store under ``FORMSCAN_DATA_DIR``, OCR in a local
process pool. Pointing ``FORMSCAN_DATABASE_URL`` at PostgreSQL
(``postgresql+psycopg://user@host/db``) is the only change needed to share the
database between several service or worker machines.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.storage import check_blob_url

# One form is 1-3 scanned pages, a few MB; 50 MB leaves room for a 600 dpi colour scan
# and still refuses what is certainly not a form before it fills the disk.
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# OCR is CPU-bound and Tesseract runs single-threaded in the workers (OMP_THREAD_LIMIT=1),
# so one process per core; two keeps a small server responsive to HTTP requests.
DEFAULT_MAX_WORKERS = 2
SQLITE_FILE_NAME = "formscan.db"


def _default_workers() -> int:
    return max(1, min(DEFAULT_MAX_WORKERS, os.cpu_count() or 1))


class Settings(BaseSettings):
    """Configuration of the web service and its job runner.

    Attributes:
        data_dir: Directory holding the SQLite database (by default), the blob store
            (``blobs/``) and upload temp files (``tmp/``). Default ``./data``.
        database_url: SQLAlchemy URL. Default: ``sqlite:///<data_dir>/formscan.db``
            (WAL mode). Use ``postgresql+psycopg://...`` for PostgreSQL.
        max_upload_bytes: Largest accepted upload (all files of one submission
            together), enforced while the request body streams in. Default 50 MB.
        workers: OCR processes of the embedded runner. Default min(2, CPU count).
            0 runs the jobs in one thread of the API process, without worker
            processes: for tests and tiny installs, since a crash or hang in the
            reader then affects the API. Only the embedded runner reads it so.
        is_runner_enabled: Start the embedded runner with the API. Turn it off when
            another runner (e.g. Celery workers) executes the jobs. Default true.
        lease_seconds: How long a claimed job stays reserved without a renewal; the
            runner renews every third of it. A worker that dies is noticed by its
            lease running out. Default 60 s.
        max_attempts: Attempts of a job before it fails for good (a worker crash,
            an engine timeout, an internal error). Bad input fails at once. Default 3.
        retry_backoff_seconds: Wait before retry n is ``retry_backoff_seconds *
            2**(n-1)``. Default 5 s.
        poll_seconds: How often the runner looks for work when not woken by an
            upload. Default 1 s.
        host: Address ``formscan serve`` listens on. Default 127.0.0.1.
        port: Port ``formscan serve`` listens on. Default 8000.
        secret_key: Signs session cookies and CSRF tokens. Default: generated on first
            start and kept in ``<data_dir>/secret_key``; set it when several service
            machines share the database, so a cookie from one is valid on the others.
        session_hours: How long a browser sign-in lasts. Default 12 h (a working day).
        broker_url: Celery broker (``redis://host:6379/0``). Unset (the default): the
            embedded runner executes the jobs. Set: the API only dispatches jobs and
            ``formscan worker`` processes execute them (``service.jobs.celery_app``).
        celery_queue: Name of the Celery queue the API sends to and workers read.
            Default ``formscan``.
        task_time_limit_seconds: Hard time limit of one job in a Celery worker.
            Default 900 s.
        visibility_timeout_seconds: How long Redis keeps an unacknowledged task before
            handing it to another worker; must be at least twice the task time limit,
            so a running task is never delivered twice by the broker. Default 3600 s.
        metrics_public: Serve ``GET /metrics`` (Prometheus format) without sign-in, for
            a scraper on a private network. Default false: an admin's bearer token.
        blob_url: Where originals and page images are stored when not under
            ``data_dir``: an fsspec URL, e.g. ``s3://formscan/blobs`` (needs the
            ``formscan[s3]`` extra) or ``file:///srv/blobs``. Every service and worker
            machine must name the same store. Unset (the default): ``<data_dir>/blobs``.
            A protocol no installed package serves is refused here, so no process
            starts with it.
        s3_endpoint_url: The S3-compatible server of an ``s3://`` blob URL (MinIO,
            Ceph, Garage: ``http://minio:9000``). Unset: AWS. Credentials and region
            are botocore's: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
            ``AWS_DEFAULT_REGION``.
    """

    model_config = SettingsConfigDict(env_prefix="FORMSCAN_", frozen=True)

    data_dir: Path = Path("data")
    database_url: str = ""
    max_upload_bytes: int = Field(default=DEFAULT_MAX_UPLOAD_BYTES, gt=0)
    workers: int = Field(default_factory=_default_workers, ge=0)
    is_runner_enabled: bool = True
    lease_seconds: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    retry_backoff_seconds: float = Field(default=5.0, ge=0)
    poll_seconds: float = Field(default=1.0, gt=0)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    secret_key: SecretStr | None = Field(default=None, min_length=16)
    session_hours: float = Field(default=12.0, gt=0)
    broker_url: str | None = None
    celery_queue: str = Field(default="formscan", min_length=1)
    task_time_limit_seconds: float = Field(default=900.0, gt=0)
    visibility_timeout_seconds: float = Field(default=3600.0, gt=0)
    metrics_public: bool = False
    blob_url: str | None = None
    s3_endpoint_url: str | None = None

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            path = (self.data_dir / SQLITE_FILE_NAME).resolve()
            object.__setattr__(self, "database_url", f"sqlite:///{path}")
        if self.visibility_timeout_seconds < 2 * self.task_time_limit_seconds:
            raise ValueError(
                "FORMSCAN_VISIBILITY_TIMEOUT_SECONDS must be at least twice "
                "FORMSCAN_TASK_TIME_LIMIT_SECONDS, or Redis redelivers running tasks"
            )
        return self

    @field_validator("blob_url")
    @classmethod
    def _served_blob_url(cls, url: str | None) -> str | None:
        """A protocol no installed package serves stops the process here, at start-up."""
        if not url:
            return None  # FORMSCAN_BLOB_URL= (empty) means the local store
        check_blob_url(url)
        return url

    @property
    def blob_dir(self) -> Path:
        """The local blob store, used when ``blob_url`` is unset."""
        return self.data_dir / "blobs"

    @property
    def tmp_dir(self) -> Path:
        """Upload temp files: on the data disk, so a stored blob is a rename away."""
        return self.data_dir / "tmp"


@functools.cache
def get_settings() -> Settings:
    """The settings of this process, read from the environment once."""
    return Settings()
