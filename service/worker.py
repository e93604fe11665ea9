"""Set-up of OCR worker processes, in a module that imports nothing heavy.

A spawned worker imports its initializer's module before anything else; keeping it
free of ``ocr`` imports guarantees the environment is set before Tesseract (or the
OpenMP runtime under it) is loaded by the first job.
"""

from __future__ import annotations

import os


def configure_worker_process() -> None:
    """Initializer of OCR worker processes: Tesseract single-threaded.

    Debian's Tesseract uses OpenMP across all cores; with one Tesseract per worker
    process that oversubscribes the CPU and was measured 3-5x slower per page.
    """
    os.environ["OMP_THREAD_LIMIT"] = "1"
