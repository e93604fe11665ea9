"""Scale benchmarks of the distributed mode: throughput by worker processes, and a load run.

Both run the real deployment on this machine (``bench.cluster``): ``formscan serve``
and ``formscan worker`` processes against PostgreSQL and Redis on loopback, each run
in a scratch PostgreSQL schema, data directory and Celery queue of its own, removed
afterwards.

``python -m bench throughput`` reads the same batch with 1 and with 2 worker
processes (or any list) in one run and prints pages per minute and the ratio. To time
OCR and not start-up, every submission is uploaded and queued first, the workers are
started on an idle holding queue and answer a ping, and then all of them are told at
once to consume the batch's queue (``add_consumer``); the clock runs from the first
job's claim to the last job's result, as the database records them (``timeline.json``
in the work directory has every job's span).

``python -m bench load`` starts the API and its workers, fires N uploads at once
(one per unit, each a distinct file: sample bytes with a numbered comment), and then
proves from the database and the blob store that nothing was lost: every accepted
upload has its submission, every original is stored under the SHA-256 the client
computed and hashes to it, and every submission reached a final status with a full
set of readings. It reports the API's latency while uploading and while processing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bench.cluster import ApiProcess, start_api, start_worker, stop_process
from service.db import create_db_engine, make_session_factory
from service.models import Job, Reading, Submission, SubmissionStatus, utc_now
from service.settings import Settings
from service.storage import BlobStore, open_blob_store

FINAL_STATUSES = frozenset(
    {SubmissionStatus.CLEAN, SubmissionStatus.NEEDS_REVIEW, SubmissionStatus.FAILED}
)
# A 2-core machine reads ~1 page/s per process; generous bounds so a run always ends.
WORKER_READY_TIMEOUT_S = 90.0
PROCESSING_TIMEOUT_S = 1800.0
UPLOAD_TIMEOUT_S = 300.0
POLL_INTERVAL_S = 0.5

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


# --- the batch ---------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """The files (pages in order) of one submission."""

    name: str
    files: tuple[tuple[str, bytes], ...]


# The file types ``numbered_copy`` can make distinct; a benchmark batch is made of them.
NUMBERABLE = frozenset({".pdf", ".png", ".jpg", ".jpeg"})


def load_documents(directory: Path) -> list[Document]:
    """Documents of a samples directory: each ``*.truth.json`` names its files.

    A directory without truth files gives one document per PDF, PNG or JPEG.
    """
    documents = []
    for truth in sorted(directory.rglob("*.truth.json")):
        names = json.loads(truth.read_text(encoding="utf-8"))["files"]
        files = tuple((n, (truth.parent / n).read_bytes()) for n in names)
        documents.append(Document(name=truth.name.removesuffix(".truth.json"), files=files))
    if not documents:
        for path in sorted(p for p in directory.rglob("*") if p.suffix.lower() in NUMBERABLE):
            documents.append(Document(name=path.stem, files=((path.name, path.read_bytes()),)))
    if not documents:
        raise ValueError(
            f"{directory}: no *.truth.json, PDF, PNG or JPEG files. "
            "Fix: name a directory of forms, e.g. samples/llw-summary-2022"
        )
    return documents


def numbered_copy(data: bytes, number: int) -> bytes:
    """The same document in distinct bytes: a comment carrying ``number`` is added.

    A PDF gets a comment line after its end, a PNG a ``tEXt`` chunk before ``IEND``,
    a JPEG a COM segment after its start marker: every reader ignores them, and every
    copy has a SHA-256 of its own, so the load run cannot pass by deduplication.
    """
    note = f"formscan load run {number}".encode()
    if data.startswith(b"%PDF"):
        return data.rstrip(b"\r\n") + b"\n%" + note + b"\n"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        end = data.rindex(b"IEND") - 4
        body = b"tEXt" + b"Comment\x00" + note
        chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
        return data[:end] + chunk + data[end:]
    if data.startswith(b"\xff\xd8"):
        return data[:2] + b"\xff\xfe" + struct.pack(">H", len(note) + 2) + note + data[2:]
    raise ValueError("only PDF, PNG and JPEG documents can be numbered")


def numbered_document(document: Document, number: int) -> Document:
    """``document`` with every file made distinct by ``numbered_copy``."""
    files = tuple((name, numbered_copy(data, number)) for name, data in document.files)
    return Document(name=f"{document.name}#{number}", files=files)


# --- a scratch deployment ----------------------------------------------------------


class ServiceUnreachableError(RuntimeError):
    """PostgreSQL or Redis does not answer where the benchmark was told to find them."""

    def __init__(self, detail: str, *, fix: str) -> None:
        super().__init__(f"{detail}. Fix: {fix}")
        self.detail, self.fix = detail, fix


def check_services(database_url: str, broker_url: str | None) -> None:
    """Fail at once, with the fix, when the database or the broker does not answer."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        engine = create_engine(database_url, connect_args={"connect_timeout": 5})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            raise ServiceUnreachableError(
                f"PostgreSQL at {url.render_as_string()} does not answer "
                f"({' '.join(str(exc.orig).split())})",
                fix="start it, or pass --database-url",
            ) from exc
        finally:
            engine.dispose()
    if broker_url:
        import redis

        client = redis.Redis.from_url(broker_url, socket_connect_timeout=5)
        try:
            client.ping()
        except redis.RedisError as exc:
            raise ServiceUnreachableError(
                f"Redis at {broker_url} does not answer ({exc})",
                fix="start it, or pass --broker-url",
            ) from exc
        finally:
            client.close()


@contextmanager
def scratch_database(base_url: str, work_dir: Path) -> Iterator[str]:
    """An empty database for one run: a new PostgreSQL schema (dropped after), or SQLite."""
    url = make_url(base_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{work_dir / 'formscan.db'}"
        return
    schema = f"formscan_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Deployment:
    """A running API with an admin token, and the database it writes to."""

    settings: Settings
    api: ApiProcess
    token: str
    sessions: sessionmaker[Session]

    @property
    def headers(self) -> dict[str, str]:
        """The bearer token of the deployment's admin, for every request."""
        return {"Authorization": f"Bearer {self.token}"}

    def register_units(self, count: int) -> tuple[list[str], int]:
        """A district with ``count`` schools and a campaign expecting them all."""
        codes = [f"S{i:05d}" for i in range(count)]
        with httpx.Client(base_url=self.api.base_url, headers=self.headers, timeout=60) as client:
            district = {"code": "D1", "name": "Phòng GD&ĐT", "kind": "district"}
            client.post("/api/units", json=district).raise_for_status()
            for code in codes:
                unit = {
                    "code": code,
                    "name": f"Trường {code}",
                    "kind": "school",
                    "parent_code": "D1",
                }
                client.post("/api/units", json=unit).raise_for_status()
            campaign = {"name": "Tuần lễ", "year": 2022, "expected_unit_codes": codes}
            response = client.post("/api/campaigns", json=campaign)
            response.raise_for_status()
            return codes, int(response.json()["id"])


@contextmanager
def deployment(settings: Settings, work_dir: Path) -> Iterator[Deployment]:
    """``formscan serve`` for ``settings``, signed in as its first admin; stopped after."""
    api = start_api(settings, log_path=work_dir / "api.log")
    engine = create_db_engine(settings.database_url)
    try:
        yield Deployment(
            settings=settings,
            api=api,
            token=api.admin_token(settings.data_dir),
            sessions=make_session_factory(engine),
        )
    finally:
        stop_process(api.proc)
        engine.dispose()


def bench_settings(
    work_dir: Path, database_url: str, broker_url: str | None, **extra: object
) -> Settings:
    """Settings of one run: its own data directory, database and queue."""
    values: dict[str, object] = {
        "data_dir": work_dir / "data",
        "database_url": database_url,
        "broker_url": broker_url,
        "celery_queue": f"formscan-bench-{uuid.uuid4().hex[:10]}",
    }
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


def delete_queues(broker_url: str | None, *queues: str) -> None:
    """Remove a run's Celery queues from Redis (messages a stopped run left behind)."""
    if not broker_url or not broker_url.startswith("redis"):
        return
    import redis

    client = redis.Redis.from_url(broker_url)
    with suppress(redis.RedisError):
        client.delete(*queues)
    client.close()


# --- uploading ---------------------------------------------------------------------


@dataclass
class UploadResult:
    """What the client sent and what the API answered, for one upload."""

    unit: str
    document: str
    sha256: list[str]
    status_code: int = 0
    seconds: float = 0.0
    submission_id: int | None = None
    error: str | None = None


async def _upload_one(
    client: httpx.AsyncClient,
    slots: asyncio.Semaphore,
    *,
    campaign: int,
    unit: str,
    document: Document,
) -> UploadResult:
    async with slots:  # latency counts from the moment the request may go, not before
        return await _send_upload(client, campaign=campaign, unit=unit, document=document)


async def _send_upload(
    client: httpx.AsyncClient, *, campaign: int, unit: str, document: Document
) -> UploadResult:
    result = UploadResult(
        unit=unit,
        document=document.name,
        sha256=[hashlib.sha256(data).hexdigest() for _, data in document.files],
    )
    files = [("files", (name, data, "application/octet-stream")) for name, data in document.files]
    started = time.perf_counter()
    try:
        response = await client.post(
            "/api/submissions", data={"unit": unit, "campaign": str(campaign)}, files=files
        )
    except httpx.HTTPError as exc:
        result.error = repr(exc)
        return result
    finally:
        result.seconds = time.perf_counter() - started
    result.status_code = response.status_code
    if response.status_code in (200, 202):
        result.submission_id = int(response.json()["id"])
    else:
        result.error = response.text[:300]
    return result


async def _upload_all(
    base_url: str,
    headers: dict[str, str],
    *,
    campaign: int,
    jobs: Sequence[tuple[str, Document]],
    concurrency: int,
) -> list[UploadResult]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=UPLOAD_TIMEOUT_S
    ) as client:
        slots = asyncio.Semaphore(concurrency)
        return list(
            await asyncio.gather(
                *(
                    _upload_one(client, slots, campaign=campaign, unit=unit, document=doc)
                    for unit, doc in jobs
                )
            )
        )


def upload_all(
    dep: Deployment, *, campaign: int, jobs: Sequence[tuple[str, Document]], concurrency: int
) -> list[UploadResult]:
    """Send every (unit, document) upload, ``concurrency`` of them at a time."""
    return asyncio.run(
        _upload_all(
            dep.api.base_url, dep.headers, campaign=campaign, jobs=jobs, concurrency=concurrency
        )
    )


def wait_until_final(
    sessions: sessionmaker[Session], ids: Sequence[int], *, timeout_s: float = PROCESSING_TIMEOUT_S
) -> bool:
    """Poll the database until every submission is final; False on time-out."""
    deadline = time.monotonic() + timeout_s
    wanted = set(ids)
    while time.monotonic() < deadline:
        with sessions() as session:
            final = session.scalar(
                select(func.count()).where(
                    Submission.id.in_(wanted), Submission.status.in_(FINAL_STATUSES)
                )
            )
        if final == len(wanted):
            return True
        time.sleep(POLL_INTERVAL_S)
    return False


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile (0-100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


# --- throughput ----------------------------------------------------------------------


@dataclass
class ThroughputRun:
    """One batch read by ``processes`` worker processes."""

    processes: int
    documents: int
    pages: int
    seconds: float
    failed: int
    busy_seconds: float

    @property
    def pages_per_minute(self) -> float:
        """Pages read per minute of the timed span (0 for an empty span)."""
        return 60.0 * self.pages / self.seconds if self.seconds > 0 else 0.0

    @property
    def busy_share(self) -> float:
        """How much of the processes' time went to jobs (claim to result); 1.0 = no idling."""
        return self.busy_seconds / (self.seconds * self.processes) if self.seconds > 0 else 0.0

    @property
    def seconds_per_page(self) -> float:
        """Time a job took per page (its claim to its result), over the whole batch."""
        return self.busy_seconds / self.pages if self.pages else 0.0


def measure_throughput(
    documents: Sequence[Document],
    *,
    processes: int,
    database_url: str,
    broker_url: str,
    work_dir: Path,
    progress: Progress = _quiet,
) -> ThroughputRun:
    """Queue every document, then time ``processes`` workers reading them all."""
    work_dir.mkdir(parents=True, exist_ok=True)
    with scratch_database(database_url, work_dir) as url:
        settings = bench_settings(work_dir, url, broker_url)
        holding = f"{settings.celery_queue}-hold"
        try:
            with deployment(settings, work_dir) as dep:
                units, campaign = dep.register_units(len(documents))
                results = upload_all(
                    dep,
                    campaign=campaign,
                    jobs=list(zip(units, documents, strict=True)),
                    concurrency=4,
                )
                ids = _accepted_ids(results)
                progress(f"{len(ids)} submissions queued; starting {processes} worker(s)")
                return _time_workers(
                    dep, ids, processes=processes, holding=holding, work_dir=work_dir
                )
        finally:
            delete_queues(broker_url, settings.celery_queue, holding)


def _accepted_ids(results: Sequence[UploadResult]) -> list[int]:
    refused = [r for r in results if r.submission_id is None]
    if refused:
        raise RuntimeError(f"{len(refused)} upload(s) refused, e.g. {refused[0].error}")
    return [r.submission_id for r in results if r.submission_id is not None]


def _time_workers(
    dep: Deployment, ids: Sequence[int], *, processes: int, holding: str, work_dir: Path
) -> ThroughputRun:
    from service.jobs.celery_app import create_celery_app

    hold_settings = dep.settings.model_copy(update={"celery_queue": holding})
    names = [f"bench{i}@{holding}" for i in range(processes)]
    procs = [
        start_worker(hold_settings, name=name, log_path=work_dir / f"worker{i}.log")
        for i, name in enumerate(names)
    ]
    control = create_celery_app(dep.settings)
    try:
        _wait_for_pings(control, names)
        started = utc_now()
        control.control.add_consumer(dep.settings.celery_queue, destination=names, reply=True)
        if not wait_until_final(dep.sessions, ids):
            raise RuntimeError(f"the batch was not read in {PROCESSING_TIMEOUT_S} s")
        return _throughput_of(
            dep.sessions, ids, processes=processes, started=started, work_dir=work_dir
        )
    finally:
        for proc in procs:
            stop_process(proc)
        control.close()


def _wait_for_pings(control: object, names: Sequence[str]) -> None:
    deadline = time.monotonic() + WORKER_READY_TIMEOUT_S
    answered: set[str] = set()
    while time.monotonic() < deadline:
        replies = control.control.ping(destination=list(names), timeout=1.0)  # type: ignore[attr-defined]
        answered |= {name for reply in replies for name in reply}
        if answered >= set(names):
            return
    raise RuntimeError(f"workers {sorted(set(names) - answered)} did not start")


def _throughput_of(
    sessions: sessionmaker[Session],
    ids: Sequence[int],
    *,
    processes: int,
    started: datetime,
    work_dir: Path,
) -> ThroughputRun:
    """Pages per minute from the jobs' own times; their timeline goes to ``timeline.json``."""
    with sessions() as session:
        pages, failed = session.execute(
            select(
                func.coalesce(func.sum(Submission.pages_total), 0),
                func.count().filter(Submission.status == SubmissionStatus.FAILED),
            ).where(Submission.id.in_(ids))
        ).one()
        spans = session.execute(
            select(Job.started_at, Job.finished_at, Job.claimed_by, Submission.pages_total)
            .join(Submission, Submission.id == Job.submission_id)
            .where(Job.submission_id.in_(ids))
        ).all()
    timeline = [
        {
            "worker": worker,
            "pages": n,
            "start": (begin - started).total_seconds(),
            "end": (end - started).total_seconds(),
        }
        for begin, end, worker, n in spans
        if begin and end
    ]
    (work_dir / "timeline.json").write_text(json.dumps(timeline, indent=1), encoding="utf-8")
    # From the first claim, not from the broadcast: a consumer takes ~0.7 s to start
    # reading a queue it was just given, a cost of this set-up, not of the workers.
    first = min(t["start"] for t in timeline)
    last = max(t["end"] for t in timeline)
    return ThroughputRun(
        processes=processes,
        documents=len(ids),
        pages=int(pages),
        seconds=last - first,
        failed=int(failed),
        busy_seconds=sum(t["end"] - t["start"] for t in timeline),
    )


def run_throughput_bench(
    directory: Path,
    *,
    processes: Sequence[int],
    copies: int,
    rounds: int,
    database_url: str,
    broker_url: str,
    work_dir: Path,
    progress: Progress = _quiet,
) -> list[ThroughputRun]:
    """Every process count in turn, ``rounds`` times (alternating, so drift hits all)."""
    check_services(database_url, broker_url)
    base = load_documents(directory)
    batch = [numbered_document(doc, copy) for copy in range(copies) for doc in base]
    runs = []
    for round_number in range(rounds):
        for count in processes:
            progress(
                f"round {round_number + 1}: {count} worker process(es), {len(batch)} documents"
            )
            run = measure_throughput(
                batch,
                processes=count,
                database_url=database_url,
                broker_url=broker_url,
                work_dir=work_dir / f"r{round_number}-p{count}",
                progress=progress,
            )
            progress(
                f"  {run.pages} pages in {run.seconds:.1f} s: {run.pages_per_minute:.1f} pages/min,"
                f" {run.seconds_per_page:.2f} s per page in a job, busy {run.busy_share:.0%}"
            )
            runs.append(run)
    return runs


def format_throughput(runs: Sequence[ThroughputRun]) -> str:
    """Median pages per minute per process count and the ratio to the smallest count."""
    by_count: dict[int, list[float]] = {}
    for run in runs:
        by_count.setdefault(run.processes, []).append(run.pages_per_minute)
    counts = sorted(by_count)
    base = statistics.median(by_count[counts[0]])
    lines = ["processes  runs  pages  median pages/min  ratio"]
    for count in counts:
        rate = statistics.median(by_count[count])
        pages = next(r.pages for r in runs if r.processes == count)
        runs_n = len(by_count[count])
        lines.append(f"{count:>9}  {runs_n:>4}  {pages:>5}  {rate:>16.1f}  {rate / base:>5.2f}x")
    failed = sum(r.failed for r in runs)
    if failed:
        lines.append(f"warning: {failed} submission(s) failed; their pages still count")
    return "\n".join(lines)


# --- load run ------------------------------------------------------------------------


@dataclass
class Verification:
    """What the database and the blob store hold for the uploads of a load run."""

    statuses: dict[str, int]
    lost: list[str]
    not_final: list[int]
    incomplete_readings: list[int]

    @property
    def is_complete(self) -> bool:
        """Nothing lost, nothing left unfinished, every reading recorded."""
        return not (self.lost or self.not_final or self.incomplete_readings)


@dataclass
class LoadRun:
    """What a load run sent, what came back, and what was found afterwards."""

    uploads: list[UploadResult]
    upload_wall_seconds: float
    processing_seconds: float
    poll_latencies: list[float]
    found: Verification

    @property
    def accepted(self) -> int:
        """Uploads the API accepted (202)."""
        return sum(1 for u in self.uploads if u.status_code == 202)

    @property
    def is_lossless(self) -> bool:
        """Every upload was accepted and every accepted one was found complete."""
        return self.found.is_complete and self.accepted == len(self.uploads)


Inspect = Callable[[Deployment, LoadRun], None]


def run_load_bench(
    directory: Path,
    *,
    uploads: int,
    concurrency: int,
    workers: int,
    database_url: str,
    broker_url: str | None,
    work_dir: Path,
    progress: Progress = _quiet,
    inspect: Inspect | None = None,
) -> LoadRun:
    """``uploads`` distinct uploads at once against a live API with ``workers`` processes.

    With ``broker_url`` the workers are ``formscan worker`` processes; without, the
    API's embedded runner reads with ``workers`` processes. ``inspect`` is called with
    the deployment and the result before anything is torn down (tests look further).
    """
    check_services(database_url, broker_url)
    base = load_documents(directory)
    batch = [numbered_document(base[i % len(base)], i) for i in range(uploads)]
    work_dir.mkdir(parents=True, exist_ok=True)
    with scratch_database(database_url, work_dir) as url:
        settings = bench_settings(work_dir, url, broker_url, workers=workers)
        try:
            with deployment(settings, work_dir) as dep:
                units, campaign = dep.register_units(uploads)
                procs = _start_workers(settings, workers, work_dir) if broker_url else []
                try:
                    jobs = list(zip(units, batch, strict=True))
                    run = _load(dep, campaign, jobs, concurrency, progress)
                finally:
                    for proc in procs:
                        stop_process(proc)
                if inspect is not None:
                    inspect(dep, run)
                return run
        finally:
            delete_queues(broker_url, settings.celery_queue)


def _start_workers(settings: Settings, count: int, work_dir: Path) -> list[subprocess.Popen[bytes]]:
    return [
        start_worker(
            settings, name=f"load{i}@{settings.celery_queue}", log_path=work_dir / f"worker{i}.log"
        )
        for i in range(count)
    ]


def _load(
    dep: Deployment,
    campaign: int,
    jobs: list[tuple[str, Document]],
    concurrency: int,
    progress: Progress,
) -> LoadRun:
    progress(f"sending {len(jobs)} uploads, {concurrency} at a time")
    started = time.perf_counter()
    results = upload_all(dep, campaign=campaign, jobs=jobs, concurrency=concurrency)
    upload_wall = time.perf_counter() - started
    ids = [r.submission_id for r in results if r.submission_id is not None]
    progress(f"{len(ids)} accepted in {upload_wall:.1f} s; waiting for the workers")
    poll_latencies = _poll_until_final(dep, ids)
    return LoadRun(
        uploads=results,
        upload_wall_seconds=upload_wall,
        processing_seconds=time.perf_counter() - started - upload_wall,
        poll_latencies=poll_latencies,
        found=verify_uploads(dep, results),
    )


def _poll_until_final(dep: Deployment, ids: Sequence[int]) -> list[float]:
    """Ask the API for each submission in turn, as uploaders' pages do, until all are final."""
    latencies: list[float] = []
    pending = list(ids)
    deadline = time.monotonic() + PROCESSING_TIMEOUT_S
    with httpx.Client(base_url=dep.api.base_url, headers=dep.headers, timeout=60) as client:
        while pending and time.monotonic() < deadline:
            still = []
            for sid in pending:
                started = time.perf_counter()
                response = client.get(f"/api/submissions/{sid}")
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or response.json()["status"] not in FINAL_STATUSES:
                    still.append(sid)
            pending = still
            if pending:
                time.sleep(POLL_INTERVAL_S)
    return latencies


def verify_uploads(dep: Deployment, results: Sequence[UploadResult]) -> Verification:
    """Check every upload against the database and the blob store, bytes read back.

    Lost: an upload refused, a submission missing, files recorded under other
    digests than the client computed, a blob missing or not hashing to its key.
    """
    from ocr.layout import load_layout

    found = Verification(statuses={}, lost=[], not_final=[], incomplete_readings=[])
    store = open_blob_store(dep.settings)
    with dep.sessions() as session:
        for result in results:
            if result.submission_id is None:
                found.lost.append(f"{result.unit}: refused ({result.status_code}: {result.error})")
                continue
            submission = session.get(Submission, result.submission_id)
            if submission is None:
                found.lost.append(f"{result.unit}: submission {result.submission_id} missing")
                continue
            stored = [f.sha256 for f in submission.files]
            if stored != result.sha256:
                found.lost.append(f"{result.unit}: stored {stored}, sent {result.sha256}")
            found.lost.extend(
                f"{result.unit}: blob {key} missing or corrupt"
                for key in stored
                if not _blob_matches(store, key)
            )
            found.statuses[submission.status] = found.statuses.get(submission.status, 0) + 1
            if submission.status not in FINAL_STATUSES:
                found.not_final.append(submission.id)
            elif submission.status != SubmissionStatus.FAILED:
                expected = len(load_layout(submission.layout_id).field_keys())
                count = session.scalar(
                    select(func.count()).where(Reading.submission_id == submission.id)
                )
                if count != expected:
                    found.incomplete_readings.append(submission.id)
    return found


def _blob_matches(store: BlobStore, key: str) -> bool:
    """The store holds ``key`` and its bytes hash to it (read back, not trusted)."""
    try:
        return hashlib.sha256(store.read(key)).hexdigest() == key
    except FileNotFoundError:
        return False


def format_load(run: LoadRun) -> str:
    """The load run's figures, one per line."""
    latencies = [u.seconds for u in run.uploads if u.status_code]
    codes: dict[int, int] = {}
    for u in run.uploads:
        codes[u.status_code] = codes.get(u.status_code, 0) + 1

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f} ms"

    lines = [
        f"uploads sent            {len(run.uploads)}",
        f"answers                 {_counts(codes)}",
        f"upload wall time        {run.upload_wall_seconds:.1f} s",
        f"upload latency          p50 {ms(percentile(latencies, 50))}, "
        f"p95 {ms(percentile(latencies, 95))}, max {ms(max(latencies, default=None))}",
        f"status latency (polls)  p50 {ms(percentile(run.poll_latencies, 50))}, "
        f"p95 {ms(percentile(run.poll_latencies, 95))} over {len(run.poll_latencies)} requests",
        f"processing after upload {run.processing_seconds:.1f} s",
        f"final statuses          {_counts(run.found.statuses)}",
        f"lost or corrupt         {len(run.found.lost)}",
        f"not final               {len(run.found.not_final)}",
        f"incomplete readings     {len(run.found.incomplete_readings)}",
        f"verdict                 {'nothing lost' if run.is_lossless else 'LOSS'}",
    ]
    lines.extend(f"  {problem}" for problem in run.found.lost[:20])
    return "\n".join(lines)


def _counts(counts: dict[str, int] | dict[int, int]) -> str:
    return ", ".join(f"{key}: {n}" for key, n in sorted(counts.items()))


# --- the commands ------------------------------------------------------------------

# Where the scale benchmarks find PostgreSQL and Redis unless told (the CI machine's).
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"


def throughput_main(argv: Sequence[str]) -> int:
    """``python -m bench throughput``: pages per minute by worker process count."""
    parser = argparse.ArgumentParser(
        prog="python -m bench throughput",
        description="pages per minute of the Celery workers with 1, 2, ... processes",
    )
    parser.add_argument(
        "--processes", type=int, nargs="+", default=[1, 2], help="worker process counts (1 2)"
    )
    parser.add_argument(
        "--copies", type=int, default=3, help="numbered copies of every document in the batch"
    )
    parser.add_argument("--rounds", type=int, default=1, help="repeat every count (median)")
    _add_common_arguments(parser)
    args = parser.parse_args(argv)
    with _work_dir(args) as work_dir, _one_line_errors():
        runs = run_throughput_bench(
            args.directory,
            processes=args.processes,
            copies=args.copies,
            rounds=args.rounds,
            database_url=args.database_url,
            broker_url=args.broker_url,
            work_dir=Path(work_dir),
            progress=_progress,
        )
    sys.stdout.write(format_throughput(runs) + "\n")
    return 0


def load_main(argv: Sequence[str]) -> int:
    """``python -m bench load``: many concurrent uploads; exit status 1 if one is lost."""
    parser = argparse.ArgumentParser(
        prog="python -m bench load",
        description="many concurrent uploads against a live API; proves nothing is lost",
    )
    parser.add_argument("--uploads", type=int, default=200, help="uploads, one per unit (200)")
    parser.add_argument("--concurrency", type=int, default=200, help="uploads in flight (200)")
    parser.add_argument("--workers", type=int, default=2, help="OCR worker processes (2)")
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="the embedded default (SQLite, in-process runner) instead of Celery",
    )
    _add_common_arguments(parser)
    args = parser.parse_args(argv)
    with _work_dir(args) as work_dir, _one_line_errors():
        run = run_load_bench(
            args.directory,
            uploads=args.uploads,
            concurrency=args.concurrency,
            workers=args.workers,
            database_url="sqlite://" if args.embedded else args.database_url,
            broker_url=None if args.embedded else args.broker_url,
            work_dir=Path(work_dir),
            progress=_progress,
        )
    sys.stdout.write(format_load(run) + "\n")
    return 0 if run.is_lossless else 1


def _add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory",
        type=Path,
        nargs="?",
        default=Path("samples/llw-summary-2022"),
        metavar="DIR",
        help="documents: *.truth.json with their files, or PDFs and images",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FORMSCAN_DATABASE_URL") or DEFAULT_DATABASE_URL,
        help="PostgreSQL to create a scratch schema in (dropped afterwards)",
    )
    parser.add_argument(
        "--broker-url",
        default=os.environ.get("FORMSCAN_BROKER_URL") or DEFAULT_BROKER_URL,
        help="Redis for the Celery queues",
    )
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="keep data and logs here (default: temp)"
    )


def _work_dir(args: argparse.Namespace) -> contextlib.AbstractContextManager[str]:
    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        return contextlib.nullcontext(str(args.work_dir))
    return tempfile.TemporaryDirectory(prefix="formscan-bench-")


@contextlib.contextmanager
def _one_line_errors() -> Iterator[None]:
    """A missing service, sample or process start ends the benchmark with one line."""
    try:
        yield
    except (RuntimeError, ValueError) as exc:
        sys.stderr.write(f"formscan: bench_failed: {exc}\n")
        raise SystemExit(1) from exc


def _progress(message: str) -> None:
    sys.stderr.write(f"{message}\n")
