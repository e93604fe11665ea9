"""A formscan deployment on this machine, in subprocesses: ``formscan serve`` and workers.

The scale benchmarks (``bench.scale``) and the tests of the distributed mode
run the very commands an operator runs, each in its own process group, talking over
loopback to the PostgreSQL and Redis named in the settings. Nothing here is used by
the service itself.

Every process gets its configuration from ``FORMSCAN_*`` variables derived from one
``Settings`` (``settings_env``), so the API and its workers cannot disagree about the
database, the blob store or the queue.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from service.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
# Migrations, the first admin and uvicorn take 2-5 s; a loaded CI machine, more.
API_START_TIMEOUT_S = 60.0
# SIGTERM lets a Celery worker finish its task (warm shutdown); then it is killed.
STOP_GRACE_S = 15.0


def settings_env(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment that makes another formscan process read ``settings``."""
    env = dict(os.environ if base is None else base)
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"FORMSCAN_{name.upper()}"] = str(value)
    # The checkout first, so the processes run this tree's code even when another
    # formscan is installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    return env


def free_port() -> int:
    """A loopback port nobody listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_process(
    argv: list[str], *, env: Mapping[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """``python -m service.cli ARGV`` in its own process group, output to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "service.cli", *argv],
            cwd=REPO_ROOT,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: killing it kills its children too
        )


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Send ``sig`` to the process and its children (a Celery worker and its pool)."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, wait for a warm shutdown, then SIGKILL what is left of the group."""
    signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        signal_group(proc, signal.SIGKILL)
        proc.wait(timeout=STOP_GRACE_S)
    signal_group(proc, signal.SIGKILL)  # pool children that outlived their parent


def start_worker(
    settings: Settings, *, name: str, log_path: Path, concurrency: int = 1
) -> subprocess.Popen[bytes]:
    """``formscan worker`` with ``concurrency`` OCR processes, Celery node ``name``."""
    argv = ["worker", "--concurrency", str(concurrency), "--name", name]
    return start_process(argv, env=settings_env(settings), log_path=log_path)


@dataclass
class ApiProcess:
    """A running ``formscan serve`` and where it answers."""

    proc: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def admin_token(self, data_dir: Path) -> str:
        """Sign in as the first admin (its password file) and create a bearer token."""
        password = (data_dir / "initial-admin-password").read_text().strip()
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            response = client.post("/api/session", json={"username": "admin", "password": password})
            response.raise_for_status()
            csrf = response.json()["csrf_token"]
            response = client.post(
                "/api/tokens", json={"name": "scale-bench"}, headers={"X-CSRF-Token": csrf}
            )
            response.raise_for_status()
            return str(response.json()["token"])


def start_api(settings: Settings, *, log_path: Path) -> ApiProcess:
    """``formscan serve`` on a free loopback port, returned once ``/healthz`` answers."""
    port = free_port()
    proc = start_process(
        ["serve", "--host", "127.0.0.1", "--port", str(port)],
        env=settings_env(settings),
        log_path=log_path,
    )
    api = ApiProcess(proc=proc, base_url=f"http://127.0.0.1:{port}", log_path=log_path)
    deadline = time.monotonic() + API_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"formscan serve exited with {proc.returncode}:\n{log_tail(log_path)}"
            )
        with suppress(httpx.HTTPError):
            if httpx.get(f"{api.base_url}/healthz", timeout=2).status_code == 200:
                return api
        time.sleep(0.2)
    stop_process(proc)
    raise RuntimeError(
        f"formscan serve did not answer in {API_START_TIMEOUT_S} s:\n{log_tail(log_path)}"
    )


def log_tail(path: Path, lines: int = 30) -> str:
    """The end of a process log, for an error message."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
