"""``Annotated`` dependencies of the routes: settings, sessions, blob store, runner.

Everything comes from ``app.state`` (filled by ``create_app``), never from module
globals, so each app (and each test) has its own database, store and runner.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from service.runner import EmbeddedRunner
from service.settings import Settings
from service.storage import BlobStore


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_sessions(request: Request) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


def get_session(
    sessions: Annotated[sessionmaker[Session], Depends(get_sessions)],
) -> Iterator[Session]:
    """A session per request; handlers that write call ``commit`` before answering."""
    with sessions() as session:
        yield session


def get_store(request: Request) -> BlobStore:
    store: BlobStore = request.app.state.store
    return store


def get_runner(request: Request) -> EmbeddedRunner | None:
    runner: EmbeddedRunner | None = request.app.state.runner
    return runner


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[BlobStore, Depends(get_store)]
RunnerDep = Annotated[EmbeddedRunner | None, Depends(get_runner)]
