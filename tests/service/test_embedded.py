"""The embedded runner with ``workers=0``: jobs read in a thread of the API process.

The ``settings`` fixture runs every job this way, so these tests check only what the
mode promises: no worker process, the reader called in this process (off the
request thread), and the job recorded through the store as with a process pool.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from ocr.layout import Layout
from ocr.types import Extraction, Page
from service.app import create_app
from service.settings import Settings
from tests.service.conftest import (
    PNG_SAMPLE,
    setup_campaign,
    sign_in_admin,
    upload,
    wait_for_submission,
)
from tests.service.fakes import TruthReader


@dataclass
class RecordingReader:
    """``TruthReader`` that notes the process and thread each call ran in."""

    calls: list[tuple[int, str]] = field(default_factory=list)

    def read_form(
        self,
        pages: Sequence[Page],
        layout: Layout,
        *,
        on_page_read: Callable[[int], None],
    ) -> Extraction:
        """Record where it runs, then read as ``TruthReader`` does."""
        self.calls.append((os.getpid(), threading.current_thread().name))
        return TruthReader().read_form(pages, layout, on_page_read=on_page_read)


def test_workers_zero_reads_in_a_thread_of_this_process(settings: Settings) -> None:
    assert settings.workers == 0
    reader = RecordingReader()
    with TestClient(create_app(settings, reader=reader)) as client:
        sign_in_admin(client)
        campaign = setup_campaign(client, "S1")
        files = [(PNG_SAMPLE.name, PNG_SAMPLE.read_bytes())]
        submission = upload(client, unit="S1", campaign=campaign, files=files).json()
        final = wait_for_submission(client, submission["id"])
        job = client.get(submission["links"]["job"]).json()
        assert client.app.state.runner.pool_pids == []  # type: ignore[attr-defined]

    assert final["status"] in ("needs_review", "clean")
    assert (job["state"], job["attempt"], job["error"]) == ("done", 1, None)
    assert len(reader.calls) == 1
    pid, thread_name = reader.calls[0]
    assert pid == os.getpid()
    assert thread_name.startswith("formscan-job")
