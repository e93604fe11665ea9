"""The web service: ``create_app(settings)`` wires database, blob store, runner and routes.

At start-up (the lifespan) the blob store is opened and checked (``service.storage``:
a misconfigured one stops the start-up), the database is migrated to the latest
revision and the embedded runner starts (unless ``FORMSCAN_IS_RUNNER_ENABLED=false``,
when another runner executes the jobs); at shutdown the runner lets running attempts
finish. With ``FORMSCAN_BROKER_URL`` set, a dispatcher (``service.jobs.dispatch``) hands
the jobs to Celery workers (``formscan worker``) instead of the embedded runner.
Every ``/api`` route needs a signed-in user (``service.auth``) except signing in.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.auth import count_users, load_secret_key
from service.db import create_db_engine, make_session_factory, upgrade_database
from service.errors import PROBLEM_MEDIA_TYPE, install_error_handlers
from service.jobs.embedded import EmbeddedRunner
from service.jobs.run import DEFAULT_READER, FormReader
from service.routes import (
    campaigns,
    exports,
    health,
    images,
    jobs,
    queue,
    review,
    sessions,
    submissions,
    tokens,
    units,
)
from service.settings import Settings, get_settings
from service.storage import open_blob_store
from service.web import pages as web_pages

log = logging.getLogger(__name__)

FIRST_ADMIN_HINT = (
    "create the first administrator with 'formscan user add admin --role admin' "
    "(it asks for the password), then sign in with POST /api/session"
)


def create_app(settings: Settings | None = None, *, reader: FormReader = DEFAULT_READER) -> FastAPI:
    """The service's ASGI app; ``reader`` is what the embedded runner reads forms with."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # First: an unusable blob store (no bucket, no route) stops the start-up here,
        # before the database is touched, instead of failing the first upload.
        app.state.store = open_blob_store(settings)
        engine = create_db_engine(settings.database_url)
        upgrade_database(engine)
        settings.tmp_dir.mkdir(parents=True, exist_ok=True)
        app.state.secret_key = load_secret_key(settings)
        app.state.sessions = make_session_factory(engine)
        with app.state.sessions() as session:
            if count_users(session) == 0:
                log.warning("no accounts yet: %s", FIRST_ADMIN_HINT)
        app.state.runner = None
        if settings.broker_url:
            from service.jobs.celery_app import create_celery_app
            from service.jobs.dispatch import Dispatcher

            celery = create_celery_app(settings)
            app.state.runner = Dispatcher(settings, app.state.sessions, celery)
            app.state.runner.start()
        elif settings.is_runner_enabled:
            app.state.runner = EmbeddedRunner(settings, app.state.sessions, reader=reader)
            app.state.runner.start()
        try:
            yield
        finally:
            if app.state.runner is not None:
                app.state.runner.stop()
            engine.dispose()

    app = FastAPI(
        title="formscan",
        summary="Reads scanned Lifelong Learning Week statistics forms into checked numbers.",
        version=_version(),
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for module in (
        health,
        sessions,
        tokens,
        units,
        campaigns,
        submissions,
        jobs,
        queue,
        review,
        images,
        exports,
    ):
        app.include_router(module.router)
    web_pages.install(app)  # the HTML pages and their static files
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document, with every error response as ``application/problem+json``."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    problem = {"$ref": "#/components/schemas/ProblemPublic"}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": problem}}
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("formscan")
    except PackageNotFoundError:
        return "0"
