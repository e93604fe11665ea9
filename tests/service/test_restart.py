"""Durability: a worker process killed mid-job, with and without a service restart.

Either way the submission completes on attempt 2 with exactly one set of readings:
the killed attempt wrote nothing, the next one is fenced against it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.db import create_db_engine, make_session_factory
from service.models import Role
from tests.conftest import ROOT
from tests.service.conftest import (
    PDF_SAMPLE,
    PROCESSING_TIMEOUT_S,
    add_user,
    bearer_token,
    make_settings,
    setup_campaign,
    sign_in_admin,
    upload,
    wait_for_submission,
)

LEASE_S = 3.0
START_TIMEOUT_S = 30.0


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def is_loaded(client: TestClient | httpx.Client, submission_id: int) -> bool:
    """The document is loaded and being read: truly mid-job."""
    body = client.get(f"/api/submissions/{submission_id}").json()
    assert body["status"] in ("received", "processing"), "the job ended before the kill"
    return body["progress"]["pages_total"] is not None


def check_completed_once(client: TestClient | httpx.Client, submission_id: int) -> None:
    readings = client.get(f"/api/submissions/{submission_id}/readings").json()
    keys = [(f["row_key"], f["field"]) for f in readings["fields"]]
    assert len(keys) == 59
    assert len(set(keys)) == 59
    assert readings["status"] in ("needs_review", "clean")
    job = client.get(f"/api/submissions/{submission_id}").json()["links"]["job"]
    body = client.get(job).json()
    assert (body["state"], body["attempt"]) == ("done", 2)


def child_pids(pid: int) -> list[int]:
    """Children of every thread of ``pid`` (the pool is started from the runner thread)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return children


def worker_pids(server_pid: int) -> list[int]:
    """The pool's worker processes (not multiprocessing's resource tracker)."""
    pids = []
    for child in child_pids(server_pid):
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"spawn_main" in cmdline:
            pids.append(child)
    return pids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``formscan serve`` in a subprocess, as an operator runs it."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env, self.port = env, port
        self.proc: subprocess.Popen[bytes] | None = None
        self.token: str | None = None

    def start(self) -> httpx.Client:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)

        def is_up() -> bool:
            try:
                return client.get("/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(is_up, "the server to start", START_TIMEOUT_S)
        if self.token is None:  # the first start made the database and its first admin
            engine = create_db_engine(self.env["FORMSCAN_DATABASE_URL"])
            sessions = make_session_factory(engine)
            add_user(sessions, "operator", Role.ADMIN)
            self.token = bearer_token(sessions, "operator")
            engine.dispose()
        client.headers["Authorization"] = f"Bearer {self.token}"
        return client

    def kill(self) -> None:
        """SIGKILL the service and its process tree (nothing gets to clean up)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        children = child_pids(self.proc.pid)
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """Stop the service as an operator does (SIGTERM: graceful shutdown)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)


@pytest.fixture
def server_env(tmp_path: Path, db_url: str) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env.update(
        FORMSCAN_DATA_DIR=str(tmp_path / "data"),
        FORMSCAN_DATABASE_URL=db_url,
        FORMSCAN_WORKERS="1",
        FORMSCAN_LEASE_SECONDS=str(LEASE_S),
        FORMSCAN_RETRY_BACKOFF_SECONDS="0.2",
        FORMSCAN_POLL_SECONDS="0.2",
    )
    yield env


@pytest.mark.tesseract
def test_run_job_worker_killed_and_service_restarted_completes(
    server_env: dict[str, str],
) -> None:
    server = Server(server_env, free_port())
    try:
        client = server.start()
        campaign = setup_campaign(client, "S1")  # type: ignore[arg-type]
        data = PDF_SAMPLE.read_bytes()
        response = upload(client, unit="S1", campaign=campaign, files=[("form.pdf", data)])  # type: ignore[arg-type]
        submission_id = response.json()["id"]  # type: ignore[attr-defined]
        wait_until(
            lambda: is_loaded(client, submission_id), "the job to start", PROCESSING_TIMEOUT_S
        )
        assert server.proc is not None
        workers = worker_pids(server.proc.pid)
        assert len(workers) == 1
        # Freeze the service so that it cannot react (record the loss, start a new
        # worker); then the worker dies mid-page, and the service with it.
        os.kill(server.proc.pid, signal.SIGSTOP)
        os.kill(workers[0], signal.SIGKILL)
        server.kill()
        client.close()

        client = server.start()
        final = wait_for_submission(client, submission_id)  # type: ignore[arg-type]
        assert final["status"] in ("needs_review", "clean")
        check_completed_once(client, submission_id)
        client.close()
        server.stop()
    finally:
        server.kill()


@pytest.mark.tesseract
def test_runner_worker_killed_pool_rebuilt(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(tmp_path, db_url, lease_seconds=LEASE_S)
    app = create_app(settings)
    with TestClient(app) as client:
        sign_in_admin(client)
        campaign = setup_campaign(client, "S1")
        data = PDF_SAMPLE.read_bytes()
        submission_id = upload(
            client, unit="S1", campaign=campaign, files=[("f.pdf", data)]
        ).json()["id"]  # type: ignore[attr-defined]
        wait_until(
            lambda: is_loaded(client, submission_id), "the job to start", PROCESSING_TIMEOUT_S
        )
        pids = app.state.runner.pool_pids
        assert len(pids) == 1
        os.kill(pids[0], signal.SIGKILL)

        final = wait_for_submission(client, submission_id)
        assert final["status"] in ("needs_review", "clean")
        check_completed_once(client, submission_id)
        assert app.state.runner.pool_pids != pids  # a new pool, a new process
        assert client.get("/healthz").status_code == 200
