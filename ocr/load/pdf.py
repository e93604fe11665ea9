"""PDF files: measured with pdfinfo, refused over the caps, then rendered page by page.

This module is the sole importer of pdf2image. Nothing is rendered until every page
has passed the page-count and pixel caps; each page is rendered alone, with the
per-call timeout, in colour at ``LoadLimits.render_dpi``.
"""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path

import numpy as np
from pdf2image import convert_from_path
from pdf2image.exceptions import (
    PDFPageCountError,
    PDFPopplerTimeoutError,
    PDFSyntaxError,
    PopplerNotInstalledError,
)

from ocr.errors import (
    EncryptedDocumentError,
    EngineMissingError,
    EngineTimeoutError,
    UnreadableDocumentError,
)
from ocr.load.limits import InputFile, LoadLimits, check_pixels, too_many_pages
from ocr.load.poppler import POINTS_PER_INCH, first_line, run_poppler
from ocr.load.textlayer import text_layer_pages, words_in_pixels
from ocr.types import Page


def load_pdf(
    file: InputFile, *, first_index: int, max_pages: int, limits: LoadLimits
) -> list[Page]:
    """Measure a PDF with pdfinfo, refuse it if over the limits, then render page by page.

    The bytes are written once to a private temporary directory that every poppler call
    reads; pdf2image's ``convert_from_path`` is used rather than ``convert_from_bytes``,
    which would write a fresh temporary copy for every page.
    """
    with tempfile.TemporaryDirectory(prefix="formscan-") as tmp:
        path = Path(tmp) / "document.pdf"
        path.write_bytes(file.data)
        sizes_pt = _measure_pdf(path, file.name, max_pages=max_pages, limits=limits)
        n_pages = len(sizes_pt)
        scale = limits.render_dpi / POINTS_PER_INCH
        text_pages = text_layer_pages(path, file.name, sizes_pt=sizes_pt, limits=limits)
        pages = []
        for k in range(1, n_pages + 1):
            image = _render_pdf_page(path, file.name, page_no=k, limits=limits)
            text_page = text_pages.get(k)
            pages.append(
                Page(
                    index=first_index + k - 1,
                    image=image,
                    dpi=limits.render_dpi,
                    source=file.name if n_pages == 1 else f"{file.name}#page {k}",
                    words=None
                    if text_page is None
                    else words_in_pixels(text_page, image.shape, scale=scale),
                )
            )
    return pages


def _measure_pdf(
    path: Path, name: str, *, max_pages: int, limits: LoadLimits
) -> list[tuple[float, float]]:
    """Page sizes in points, after refusing too many pages or any page over the pixel cap.

    Nothing is rendered until every page has passed: a 333-byte PDF with one
    14400 x 14400 pt page would otherwise make pdftoppm write hundreds of megabytes.
    """
    n_pages = _pdf_page_count(path, name, limits=limits)
    if n_pages > max_pages:
        raise too_many_pages(name, limits)
    sizes_pt = _pdf_page_sizes(path, name, n_pages=n_pages, limits=limits)
    scale = limits.render_dpi / POINTS_PER_INCH
    for width_pt, height_pt in sizes_pt:
        width_px, height_px = math.ceil(width_pt * scale), math.ceil(height_pt * scale)
        check_pixels(name, width_px, height_px, max_pixels=limits.max_pixels)
    return sizes_pt


def _pdf_page_count(path: Path, name: str, *, limits: LoadLimits) -> int:
    """Page count from pdfinfo; refuses files that need a password to open.

    A PDF with only an owner password (printing or copying restricted) opens without
    one and is read normally; only a user password stops poppler.
    """
    result = run_poppler(["pdfinfo", str(path)], name, limits=limits)
    if result.returncode != 0:
        if "password" in result.stderr.lower():
            raise EncryptedDocumentError(f"{name}: the PDF is protected by a password.")
        raise UnreadableDocumentError(
            f"{name}: the PDF cannot be opened ({first_line(result.stderr)})."
        )
    match = re.search(r"^Pages:\s+(\d+)\s*$", result.stdout, flags=re.MULTILINE)
    if match is None or int(match.group(1)) == 0:
        raise UnreadableDocumentError(f"{name}: the PDF has no readable pages.")
    return int(match.group(1))


def _pdf_page_sizes(
    path: Path, name: str, *, n_pages: int, limits: LoadLimits
) -> list[tuple[float, float]]:
    """Each page's (width, height) in points, the larger of its size and MediaBox.

    pdftoppm renders the MediaBox while pdfinfo's "size" is the CropBox, so both are
    read and the larger taken; a page missing from the output is refused rather than
    rendered unmeasured.
    """
    args = ["pdfinfo", "-box", "-f", "1", "-l", str(n_pages), str(path)]
    result = run_poppler(args, name, limits=limits)
    sizes: dict[int, tuple[float, float]] = {}
    for line in result.stdout.splitlines():
        parsed = _parse_page_extent(line)
        if parsed is not None:
            k, width, height = parsed
            old_width, old_height = sizes.get(k, (0.0, 0.0))
            sizes[k] = (max(old_width, width), max(old_height, height))
    if (
        result.returncode != 0
        or len(sizes) != n_pages
        or not all(math.isfinite(w * h) for w, h in sizes.values())
    ):
        raise UnreadableDocumentError(f"{name}: the PDF's page sizes cannot be read.")
    return [sizes[k] for k in range(1, n_pages + 1)]


_NUMBER = r"([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)"  # pdfinfo prints %g: 1.44e+06 is possible
_SIZE_RE = re.compile(rf"Page\s+(\d+)\s+size:\s+{_NUMBER}\s+x\s+{_NUMBER}")
_MEDIABOX_RE = re.compile(
    rf"Page\s+(\d+)\s+MediaBox:\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}"
)


def _parse_page_extent(line: str) -> tuple[int, float, float] | None:
    """(page number, width_pt, height_pt) from a pdfinfo "size" or "MediaBox" line."""
    if size := _SIZE_RE.match(line):
        return int(size.group(1)), abs(float(size.group(2))), abs(float(size.group(3)))
    if box := _MEDIABOX_RE.match(line):
        x0, y0, x1, y1 = (float(box.group(i)) for i in range(2, 6))
        return int(box.group(1)), abs(x1 - x0), abs(y1 - y0)
    return None


def _render_pdf_page(path: Path, name: str, *, page_no: int, limits: LoadLimits) -> np.ndarray:
    """Render one page in colour at ``render_dpi`` through pdf2image (pdftoppm)."""
    try:
        images = convert_from_path(
            str(path),
            dpi=limits.render_dpi,
            first_page=page_no,
            last_page=page_no,
            grayscale=False,
            timeout=max(1, math.ceil(limits.timeout_s)),  # pdf2image 1.17 wants int seconds
        )
    except PopplerNotInstalledError as exc:
        raise EngineMissingError("The PDF renderer (poppler) is not installed.") from exc
    except PDFPopplerTimeoutError as exc:
        raise EngineTimeoutError(
            f"{name}: rendering page {page_no} took longer than {limits.timeout_s:g} s."
        ) from exc
    except (PDFPageCountError, PDFSyntaxError, OSError, ValueError) as exc:
        raise UnreadableDocumentError(
            f"{name}: page {page_no} cannot be rendered ({exc})."
        ) from exc
    if len(images) != 1:
        raise UnreadableDocumentError(f"{name}: page {page_no} cannot be rendered.")
    with images[0] as im:
        check_pixels(name, im.width, im.height, max_pixels=limits.max_pixels)
        return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8)[:, :, ::-1])
