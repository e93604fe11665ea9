"""Set-up of OCR worker processes, in a module that imports nothing heavy.

A spawned worker imports its initializer's module before anything else; keeping it
free of ``ocr`` imports guarantees the environment is set before Tesseract (or the
OpenMP runtime under it) is loaded by the first job.
"""

from __future__ import annotations

import os


def configure_worker_process() -> None:
    """Initializer of OCR worker processes: Tesseract, OpenCV and BLAS single-threaded.

    Concurrency comes from processes (one per core), so a library that spreads one
    page over every core only makes the processes fight over them. Debian's Tesseract
    uses OpenMP across all cores: with one Tesseract per process that was measured
    3-5x slower per page. OpenCV's own thread pool does the same on a smaller scale:
    on the 2-core CI machine two Celery worker processes read 1.70x the pages of one
    with it and 1.91x with one thread each (``python -m bench throughput``;
    docs/benchmarks.md, "Worker processes"). A lone process loses ~8 % by this; a
    busy machine, where every core has its process, gains.
    """
    os.environ["OMP_THREAD_LIMIT"] = "1"
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # read when numpy is first imported
    import cv2  # after the variables: OpenCV may load OpenMP too

    cv2.setNumThreads(1)
