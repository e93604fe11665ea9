"""``formscan serve`` and ``formscan worker``: the long-running processes.

Both check the blob store before they start, so a wrong ``FORMSCAN_BLOB_URL`` stops
start-up with its fix instead of failing the first upload or job.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from service.cli.common import (
    EXIT_ENGINE,
    EXIT_USAGE,
    fail,
    migrated_session,
    open_blob_store_or_fail,
)
from service.cli.extract import SubParsers


def add_commands(sub: SubParsers[argparse.ArgumentParser]) -> None:
    """Register ``serve`` and ``worker`` on the ``formscan`` parser."""
    serve = sub.add_parser("serve", help="run the web service with its embedded job runner")
    serve.add_argument("--host", default=None, help="listen address (FORMSCAN_HOST)")
    serve.add_argument("--port", type=int, default=None, help="listen port (FORMSCAN_PORT)")
    serve.set_defaults(run=run_serve)
    worker = sub.add_parser("worker", help="run a Celery worker (needs FORMSCAN_BROKER_URL)")
    worker.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="worker processes (default FORMSCAN_WORKERS: one per core, at most 2)",
    )
    worker.add_argument("--name", default=None, help="Celery node name (default formscan@HOST)")
    worker.set_defaults(run=run_worker)


def run_serve(args: argparse.Namespace) -> int:
    """Migrate, make sure an administrator exists, then serve until stopped."""
    import uvicorn

    from service.app import create_app
    from service.auth import FIRST_ADMIN, ensure_first_admin
    from service.settings import get_settings

    settings = get_settings()
    if not open_blob_store_or_fail(settings):
        return EXIT_ENGINE
    with migrated_session() as session:
        created = ensure_first_admin(session, settings)
        session.commit()
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    if created is not None:
        sys.stderr.write(
            f"formscan: created the administrator '{FIRST_ADMIN}'; its password is in "
            f"{created} (readable by this user only). Sign in at http://{host}:{port}/login, "
            "then add accounts with 'formscan user add'.\n"
        )
    logging.getLogger().setLevel(logging.INFO)
    uvicorn.run(create_app(settings), host=host, port=port)
    return 0


def run_worker(args: argparse.Namespace) -> int:
    """Run a Celery worker on the queue the API sends to (``service.jobs.celery_app``)."""
    # Before anything loads Tesseract: forked worker processes inherit it.
    os.environ["OMP_THREAD_LIMIT"] = "1"
    from service.settings import get_settings

    settings = get_settings()
    if not settings.broker_url:
        fail("FORMSCAN_BROKER_URL is not set; the worker needs the broker the API sends to.")
        return EXIT_USAGE
    if not open_blob_store_or_fail(settings):
        return EXIT_ENGINE
    from service.jobs.celery_app import app

    # FORMSCAN_WORKERS=0 means "in a thread" to the embedded runner only: a Celery worker
    # always runs at least one process.
    concurrency = args.concurrency or max(1, settings.workers)
    argv = [
        "worker",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        f"--queues={settings.celery_queue}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
    ]
    if args.name:
        argv.append(f"--hostname={args.name}")
    app.worker_main(argv)
    return 0
