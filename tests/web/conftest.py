"""Fixtures of the web-page tests: a live server on a loopback port and Debian's Chromium.

The browser tests need ``/usr/bin/chromium`` (``apt-get install chromium``) and
Playwright for Python (the ``dev`` extra); without them they are skipped locally and
fail under ``CI=true``, where they must run.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from service.app import create_app
from service.models import Role
from tests.service.conftest import IN_PROCESS_WORKERS, add_user, make_settings, sign_in_admin

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = (
    Path(os.environ.get("FORMSCAN_SCREENSHOTS", ""))
    if os.environ.get("FORMSCAN_SCREENSHOTS")
    else None
)


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@dataclass
class LiveServer:
    url: str
    client: TestClient  # an admin on the same app, to set up units and campaigns
    campaign_id: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp_path = tmp_path_factory.mktemp("web")
    # The browser tests follow a reading, not a worker process: read in a thread.
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'formscan.db'}", workers=IN_PROCESS_WORKERS
    )
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web server did not start")
        time.sleep(0.05)
    client = TestClient(app, base_url=f"http://127.0.0.1:{port}")  # no lifespan: shares state
    sign_in_admin(client)
    for body in (
        {"code": "D1", "name": "Phòng GD&ĐT Gia Lâm", "kind": "district"},
        {"code": "S1", "name": "Trường Tiểu học Đa Tốn", "kind": "school", "parent_code": "D1"},
        {"code": "S2", "name": "Trường THCS Kiêu Kỵ", "kind": "school", "parent_code": "D1"},
    ):
        assert client.post("/api/units", json=body).status_code == 201
    response = client.post(
        "/api/campaigns",
        json={
            "name": "Tuần lễ học tập suốt đời 2022",
            "year": 2022,
            "deadline": "2022-11-30",
            "expected_unit_codes": ["S1", "S2"],
        },
    )
    assert response.status_code == 201, response.text
    sessions = app.state.sessions
    add_user(sessions, "thuky", Role.UPLOADER, unit_code="S1")
    add_user(sessions, "canbo", Role.REVIEWER, unit_code="D1")
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", client, int(response.json()["id"]))
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} not found: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where a test saves its screenshots: ``FORMSCAN_SCREENSHOTS`` if set, else tmp."""
    target = SCREENSHOTS or tmp_path / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    return target
