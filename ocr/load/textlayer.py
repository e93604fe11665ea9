"""Born-digital PDFs: the words of a real text layer, in the rendered image's pixels.

A PDF "printed" from a word processor carries its words; they are returned in
``Page.words`` so that later stages need not OCR them. A scanned PDF that wraps a
full-page image often carries an invisible OCR layer of unknown quality; such pages
are treated as scans (no words), judged by how much of the page raster images cover.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from ocr.load.limits import LoadLimits
from ocr.load.poppler import POINTS_PER_INCH, first_line, run_poppler
from ocr.types import Box, Word

log = logging.getLogger(__name__)

# A page is a scan when raster images drawn at >= 100 ppi cover at least half of it:
# scanners emit one page-sized image (sometimes as strips), whereas a born-digital form
# has at most a logo or a signature. Below 100 ppi an image is a background or a
# watermark, not something anyone would OCR.
SCAN_MIN_PPI = 100.0
SCAN_MIN_COVERAGE = 0.5


@dataclass(frozen=True)
class PdfWord:
    """A text-layer word in PDF points, origin at the top-left of the media box."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float


def text_layer_pages(
    path: Path, name: str, *, sizes_pt: list[tuple[float, float]], limits: LoadLimits
) -> dict[int, tuple[PdfWord, ...]]:
    """Text layers worth trusting, by 1-based page number; scans and empty pages are left out."""
    scanned = _pdf_scanned_pages(path, name, sizes_pt=sizes_pt, limits=limits)
    if len(scanned) == len(sizes_pt):
        return {}
    args = [
        "pdftotext",
        "-bbox-layout",
        "-enc",
        "UTF-8",
        "-f",
        "1",
        "-l",
        str(len(sizes_pt)),
        str(path),
        "-",
    ]
    result = run_poppler(args, name, limits=limits)
    if result.returncode != 0:
        log.warning(
            "%s: pdftotext failed (%s); pages will be OCR'd", name, first_line(result.stderr)
        )
        return {}
    pages = _parse_bbox_layout(result.stdout)
    return {
        k: page
        for k, page in enumerate(pages, start=1)
        if k not in scanned and k <= len(sizes_pt) and page
    }


def _pdf_scanned_pages(
    path: Path, name: str, *, sizes_pt: list[tuple[float, float]], limits: LoadLimits
) -> set[int]:
    """Pages (1-based) mostly covered by raster images of at least SCAN_MIN_PPI.

    ``pdfimages -list`` gives each image's pixel size and effective ppi, hence the area
    it covers in points. If the listing fails every page is treated as a scan: OCR is
    always possible, a wrong text layer is not recoverable.
    """
    args = ["pdfimages", "-list", "-f", "1", "-l", str(len(sizes_pt)), str(path)]
    result = run_poppler(args, name, limits=limits)
    if result.returncode != 0:
        log.warning(
            "%s: pdfimages failed (%s); treating pages as scans", name, first_line(result.stderr)
        )
        return set(range(1, len(sizes_pt) + 1))
    covered_pt2: dict[int, float] = {}
    for line in result.stdout.splitlines()[2:]:
        cols = line.split()
        try:
            page_no, kind = int(cols[0]), cols[2]
            width_px, height_px = float(cols[3]), float(cols[4])
            x_ppi, y_ppi = float(cols[12]), float(cols[13])
        except (IndexError, ValueError):
            continue
        if kind != "image" or min(x_ppi, y_ppi) < SCAN_MIN_PPI:
            continue
        area = (width_px / x_ppi * POINTS_PER_INCH) * (height_px / y_ppi * POINTS_PER_INCH)
        covered_pt2[page_no] = covered_pt2.get(page_no, 0.0) + area
    return {
        k
        for k, (w, h) in enumerate(sizes_pt, start=1)
        if covered_pt2.get(k, 0.0) >= SCAN_MIN_COVERAGE * w * h
    }


_PAGE_RE = re.compile(r"<page [^>]*>(.*?)</page>", re.DOTALL)
_WORD_RE = re.compile(
    r'<word xMin="([-0-9.]+)" yMin="([-0-9.]+)" xMax="([-0-9.]+)" yMax="([-0-9.]+)">(.*?)</word>',
    re.DOTALL,
)


def _parse_bbox_layout(xhtml: str) -> list[tuple[PdfWord, ...]]:
    """Words per page from ``pdftotext -bbox-layout`` output.

    Regular expressions rather than an XML parser: the output is machine-written with a
    fixed shape, and text from hostile PDFs may contain characters that are not legal
    XML, which would make a strict parser reject the whole document.
    """
    pages = []
    for page in _PAGE_RE.finditer(xhtml):
        words = (
            PdfWord(html.unescape(w.group(5)), *(float(w.group(i)) for i in range(1, 5)))
            for w in _WORD_RE.finditer(page.group(1))
        )
        pages.append(tuple(word for word in words if word.text.strip()))
    return pages


def words_in_pixels(
    words: tuple[PdfWord, ...], image_shape: tuple[int, ...], *, scale: float
) -> tuple[Word, ...] | None:
    """Convert point boxes to pixel Boxes in the rendered image's frame (x dpi / 72).

    The fixed dpi / 72 scale is used, not image size over the page size that pdftotext
    prints: for a page with /Rotate 90, poppler 22.12 gives word boxes in the displayed
    (rotated) frame, as pdftoppm renders it, but the page size unrotated.
    """
    height_px, width_px = image_shape[0], image_shape[1]
    boxed = []
    for w in words:
        x0 = min(max(round(w.x0 * scale), 0), width_px - 1)
        y0 = min(max(round(w.y0 * scale), 0), height_px - 1)
        x1 = min(max(round(w.x1 * scale), x0 + 1), width_px)
        y1 = min(max(round(w.y1 * scale), y0 + 1), height_px)
        boxed.append(Word(text=w.text, box=Box(x0, y0, x1 - x0, y1 - y0)))
    return tuple(boxed) or None
