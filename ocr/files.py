"""File-level entry point shared by the CLI, the benchmark and the service workers."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import cv2

from ocr.clean import clean_page
from ocr.errors import UnreadableDocumentError
from ocr.layout import Layout, load_layout
from ocr.load import InputFile, LoadLimits, load_document
from ocr.overlay import draw_overlay
from ocr.pipeline import extract
from ocr.result import extraction_json
from ocr.types import Extraction, Page


def read_input_files(paths: Sequence[Path]) -> list[InputFile]:
    """Read files from disk as ``InputFile``s; an unreadable path is an ``InputError``."""
    files = []
    for path in paths:
        try:
            files.append(InputFile(name=path.name, data=path.read_bytes()))
        except OSError as exc:
            raise UnreadableDocumentError(
                f"{path}: cannot be read ({exc.strerror}).",
                fix="Check the file name and permissions.",
            ) from exc
    return files


def extract_files(
    paths: Sequence[Path],
    *,
    layout: str | Layout,
    debug_dir: Path | None = None,
    started: float | None = None,
    limits: LoadLimits | None = None,
) -> dict[str, object]:
    """Load, read and serialise one submission; ``seconds`` covers the whole run."""
    t0 = time.perf_counter() if started is None else started
    spec = load_layout(layout) if isinstance(layout, str) else layout
    pages = load_document(read_input_files(paths), limits=limits or LoadLimits())
    extraction = extract(pages, spec)
    if debug_dir is not None:
        write_debug_images(pages, extraction, debug_dir)
    seconds = time.perf_counter() - t0
    return extraction_json(extraction, files=[p.name for p in paths], seconds=seconds)


def write_debug_images(pages: Sequence[Page], extraction: Extraction, directory: Path) -> None:
    """One PNG per page: the cleaned page, the grid and every cell coloured by status."""
    directory.mkdir(parents=True, exist_ok=True)
    grids = {g.page_index: g for g in extraction.grids}
    for page in pages:
        cleaned = clean_page(page)
        image = draw_overlay(cleaned, grids.get(page.index), extraction.readings)
        cv2.imwrite(str(directory / f"page-{page.index + 1:02d}.png"), image)
