"""``run_job``: the one job function, whichever runner executes it.

Contract (what a runner may rely on):

1. The caller has claimed the job (``store.claim_job``) and passes the attempt it
   got; every database write of this function is fenced by that attempt, so a late or
   duplicate execution writes nothing (``StaleAttemptError`` is logged and swallowed).
2. Steps: load the originals from the blob store -> ``ocr.load.load_document`` ->
   record the page count -> ``ocr.pipeline.extract`` -> store the cleaned page images
   (``service.page_images``) -> replace the submission's pages
   and readings, mark the job done and set the submission's status (``needs_review``
   if any reading is flagged, else ``clean``), in one transaction.
3. A failure is recorded as ``service.jobs.policy`` classifies it: ``InputError`` and
   ``LayoutError`` (the file or the campaign's layout) fail the job at once with their
   code, message and fix; anything else (an engine timeout, a bug) is retried with
   backoff until the attempts are used up; unexpected exceptions are logged with
   their traceback and recorded as ``internal_error``.
4. It records its own outcome and returns it; it never raises. A runner only has
   to notice when the process running it dies (``policy.WORKER_LOST``) and to renew
   the lease while it runs.

Arguments are plain picklable values, so the same function runs in a process pool
and as a Celery task body. ``reader`` is the seam between the job and the OCR engine:
by default ``TesseractFormReader`` (the whole ``ocr`` pipeline); tests of the service
that do not test reading pass a fake that returns known readings at once.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ocr.clean import clean_page
from ocr.errors import InputError, LayoutError, OcrError
from ocr.layout import Layout, load_layout
from ocr.load import InputFile, LoadLimits, load_document
from ocr.pipeline import extract_cleaned
from ocr.read import Reader
from ocr.types import Extraction
from ocr.types import Page as OcrPage
from service import store
from service.db import make_session_factory, shared_engine
from service.errors import StaleAttemptError
from service.jobs import policy
from service.models import Submission
from service.page_images import store_page_images
from service.settings import Settings, get_settings
from service.storage import BlobStore, open_blob_store

log = logging.getLogger(__name__)


class FormReader(Protocol):
    """Reads a submission's cleaned pages into readings: what a job asks of the engine.

    ``on_page_read(n)`` is told that ``n`` pages are done, for the progress shown to
    the uploader. Errors are ``ocr.errors`` exceptions (an ``InputError`` fails the
    job, an ``EngineError`` is retried). Implementations are picklable: the embedded
    runner sends the reader to its worker processes with each job.
    """

    def read_form(
        self,
        pages: Sequence[OcrPage],
        layout: Layout,
        *,
        on_page_read: Callable[[int], None],
    ) -> Extraction:
        """Read ``pages`` with ``layout``; tell ``on_page_read`` as pages are done."""
        ...


@dataclass(frozen=True)
class TesseractFormReader:
    """The production reader: ``ocr.pipeline.extract_cleaned`` with ``reader``'s cells.

    ``reader`` None is the engine's default cell reader (Tesseract, see ``ocr.read``).
    """

    reader: Reader | None = None

    def read_form(
        self,
        pages: Sequence[OcrPage],
        layout: Layout,
        *,
        on_page_read: Callable[[int], None],
    ) -> Extraction:
        """Find the table, match its rows, read the value cells and apply the rules."""
        return extract_cleaned(pages, layout, reader=self.reader, on_page_read=on_page_read)


DEFAULT_READER = TesseractFormReader()


def run_job(
    submission_id: int,
    attempt: int,
    settings: Settings | None = None,
    *,
    reader: FormReader = DEFAULT_READER,
) -> str:
    """Process one submission under a claimed attempt; returns the outcome.

    The outcome is the submission status (``needs_review``, ``clean``, ``failed``),
    ``queued`` when a retry was scheduled, or ``stale`` when the attempt had been
    taken over and nothing was written.
    """
    settings = settings or get_settings()
    extra = {"submission_id": submission_id, "attempt": attempt}
    try:
        return _process(submission_id, attempt, settings, reader)
    except StaleAttemptError:
        log.warning(
            "attempt %d of submission %d was superseded", attempt, submission_id, extra=extra
        )
        return "stale"
    except (InputError, LayoutError) as exc:
        return _record(submission_id, attempt, settings, exc)
    except OcrError as exc:
        log.warning("submission %d: %s: %s", submission_id, exc.code, exc.message, extra=extra)
        return _record(submission_id, attempt, settings, exc)
    except Exception as exc:  # the job boundary: anything unexpected is logged and recorded
        log.exception("submission %d attempt %d failed", submission_id, attempt, extra=extra)
        return _record(submission_id, attempt, settings, exc)


def _process(submission_id: int, attempt: int, settings: Settings, reader: FormReader) -> str:
    started = time.perf_counter()
    sessions = make_session_factory(shared_engine(settings.database_url))
    blobs = _blob_store(settings, pid=os.getpid())
    with sessions() as session:
        submission = session.get_one(Submission, submission_id)
        layout_id = submission.layout_id
        files = [InputFile(name=f.name, data=blobs.read(f.sha256)) for f in submission.files]
    limits = LoadLimits(max_bytes=settings.max_upload_bytes)
    pages = load_document(files, limits=limits)
    with sessions.begin() as session:
        store.record_pages(
            session, submission_id=submission_id, attempt=attempt, pages_total=len(pages)
        )
    cleaned = [clean_page(page) for page in pages]

    def report(pages_done: int) -> None:
        with sessions.begin() as progress_session:
            store.record_progress(
                progress_session,
                submission_id=submission_id,
                attempt=attempt,
                pages_done=pages_done,
            )

    extraction = reader.read_form(cleaned, load_layout(layout_id), on_page_read=report)
    # Stored before the rows that name them (like the originals): a crash in between
    # leaves unreferenced blobs, never a page pointing at nothing.
    images = store_page_images(cleaned, blobs)
    with sessions.begin() as session:
        return store.persist_extraction(
            session,
            submission_id=submission_id,
            attempt=attempt,
            extraction=extraction,
            pages=page_infos(cleaned, images),
            seconds=time.perf_counter() - started,
        )


@functools.lru_cache(maxsize=4)
def _blob_store(settings: Settings, *, pid: int) -> BlobStore:
    """The store of ``settings``, opened and checked once per worker process.

    An S3 store holds a client and its connection pool, too costly to rebuild per job.
    The process id is part of the key because a forked child cannot use its parent's
    client (fsspec's event-loop thread does not survive the fork). ``Settings`` is a
    frozen pydantic model, hence hashable.
    """
    del pid  # only a cache key
    return open_blob_store(settings)


def page_infos(pages: Sequence[OcrPage], images: Sequence[str | None] = ()) -> list[store.PageInfo]:
    """What the database keeps of each page; ``images`` are the cleaned pages' blob keys."""
    keys = list(images) or [None] * len(pages)
    return [
        store.PageInfo(
            page_index=p.index,
            source=p.source,
            dpi=p.dpi,
            width_px=int(p.image.shape[1]),
            height_px=int(p.image.shape[0]),
            has_text_layer=p.has_text_layer,
            image_sha256=key,
        )
        for p, key in zip(pages, keys, strict=True)
    ]


def _record(submission_id: int, attempt: int, settings: Settings, exc: Exception) -> str:
    """Record the attempt's failure as ``service.jobs.policy`` classifies it."""
    return policy.record_failure(
        make_session_factory(shared_engine(settings.database_url)),
        submission_id=submission_id,
        attempt=attempt,
        failure=policy.failure_of(exc),
        settings=settings,
    )
