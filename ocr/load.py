"""Load an uploaded submission (PDF, PNG, JPEG, TIFF files) as a list of BGR pages.

This is the first stage and the only one that touches untrusted bytes, so it is
defensive in a fixed order: judge the type by magic bytes (never by the file name),
measure before decoding (image headers, ``pdfinfo`` page sizes), refuse anything over
the limits, and only then decode or render one page at a time with a timeout. Every
library or subprocess failure leaves this module as an ``ocr.errors`` class raised
``from`` the original exception.

Born-digital PDFs ("printed to PDF") carry their words in a text layer; those words
are returned in ``Page.words`` in the rendered image's pixel frame so that later
stages need not OCR them. A scanned PDF that wraps a full-page image often carries an
invisible OCR layer of unknown quality; such pages are treated as scans
(``words=None``).

This module is the sole importer of pdf2image and the sole caller of the poppler
command-line tools (``pdfinfo``, ``pdfimages``, ``pdftotext``); they are called with
list arguments and a timeout, never through a shell.
"""

from __future__ import annotations

import html
import io
import logging
import math
import re
import struct
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pdf2image import convert_from_path
from pdf2image.exceptions import (
    PDFPageCountError,
    PDFPopplerTimeoutError,
    PDFSyntaxError,
    PopplerNotInstalledError,
)
from PIL import Image, ImageOps

from ocr.errors import (
    EmptyFileError,
    EncryptedDocumentError,
    EngineMissingError,
    EngineTimeoutError,
    ImageTooLargeError,
    TooManyPagesError,
    UnreadableDocumentError,
    UnsupportedFileTypeError,
)
from ocr.types import Box, Page, Word

log = logging.getLogger(__name__)

# Every frame's size is checked against LoadLimits.max_pixels (40 Mpx by default) from
# its header, before decoding. Pillow's own bomb check (a warning above 89 Mpx, an
# error above 179 Mpx) would only replace that clear refusal with its own message.
Image.MAX_IMAGE_PIXELS = None

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"

# PDF 32000 §7.5.2 puts "%PDF-" first, but readers (poppler included) accept junk
# before it within the first kilobyte, and some scanner firmware writes such junk.
PDF_HEADER_WINDOW_BYTES = 1024
_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"II+\x00", TIFF),  # BigTIFF
    (b"MM\x00+", TIFF),
)
# Formats people upload by mistake, named in the refusal so they know what to change.
_KNOWN_UNSUPPORTED: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive or an Office document (DOCX/XLSX)"),
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"RIFF", "a WebP image"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (DOC/XLS)"),
)
_PIL_FORMAT = {PNG: "PNG", JPEG: "JPEG", TIFF: "TIFF"}

# Image metadata dpi outside this range is a placeholder or garbage (1 dpi from a JFIF
# aspect ratio, 72 dpi camera defaults are caught by the page-size check below).
PLAUSIBLE_DPI_MIN = 70
PLAUSIBLE_DPI_MAX = 1200
# An A3 sheet is 16.5 in long: a dpi implying a bigger page is a camera default
# (a 4000 px phone photo "at 72 dpi" would be a 55 in sheet), not a scan setting.
MAX_PAGE_SIDE_IN = 17.0
# Without usable metadata the page is assumed to be A4 and to fill the image width:
# 8.27 in wide in portrait, 11.69 in wide in landscape (width > height). Photos with
# margins and crops of the table come out a little low; later stages measure sizes
# relative to line thickness and row height, so a rough dpi is enough.
A4_PORTRAIT_WIDTH_IN = 8.27
A4_LANDSCAPE_WIDTH_IN = 11.69
POINTS_PER_INCH = 72.0
# A page is a scan when raster images drawn at >= 100 ppi cover at least half of it:
# scanners emit one page-sized image (sometimes as strips), whereas a born-digital form
# has at most a logo or a signature. Below 100 ppi an image is a background or a
# watermark, not something anyone would OCR.
SCAN_MIN_PPI = 100.0
SCAN_MIN_COVERAGE = 0.5
WHITE_RGBA = (255, 255, 255, 255)


@dataclass(frozen=True)
class InputFile:
    """One uploaded file; ``name`` is for messages only and its extension is never trusted."""

    name: str
    data: bytes


@dataclass(frozen=True)
class LoadLimits:
    """Caps that keep hostile or mistaken uploads from exhausting memory or time.

    A form is 1-3 pages, an A4 page at 600 dpi is 35 Mpx, and 200 dpi reads as well as
    300 dpi at half the cost, hence the defaults. ``max_bytes`` applies to the whole
    submission, ``max_pixels`` to each page after decoding or rendering, ``timeout_s``
    to each poppler call.
    """

    max_pages: int = 10
    max_pixels: int = 40_000_000
    max_bytes: int = 50 * 1024 * 1024
    render_dpi: int = 200
    timeout_s: float = 60.0


@dataclass(frozen=True)
class _PdfWord:
    """A text-layer word in PDF points, origin at the top-left of the media box."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float


def sniff_media_type(data: bytes) -> str:
    """Return the media type of ``data`` judged by its magic bytes.

    File names and client-declared types lie (a text file renamed ``form.pdf``, a PNG
    saved as ``.jpg``), so only the content decides which decoder sees the bytes.

    Raises:
        EmptyFileError: ``data`` has no bytes.
        UnsupportedFileTypeError: not a PDF, PNG, JPEG or TIFF.
    """
    if not data:
        raise EmptyFileError("The file is empty (0 bytes).")
    for magic, media_type in _IMAGE_MAGIC:
        if data.startswith(magic):
            return media_type
    if b"%PDF-" in data[:PDF_HEADER_WINDOW_BYTES]:
        return PDF
    for magic, label in _KNOWN_UNSUPPORTED:
        if data.startswith(magic):
            raise UnsupportedFileTypeError(f"The file is {label}, not a scan.")
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        raise UnsupportedFileTypeError(
            "The file is a HEIC photo.", fix="Export or share the photo as JPEG and upload it."
        )
    raise UnsupportedFileTypeError("The file is not a PDF, PNG, JPEG or TIFF file.")


def load_document(files: Sequence[InputFile], *, limits: LoadLimits = LoadLimits()) -> list[Page]:
    """Decode the files of one submission into pages, in upload order.

    A PDF contributes all its pages and a TIFF all its frames; ``Page.index`` runs from
    0 over the whole submission. Images keep their colour (BGR uint8) because later
    stages remove red seals by channel.

    Raises:
        InputError: a subclass naming the file and the problem (empty, unsupported,
            encrypted, unreadable, too many pages, too large).
        EngineError: poppler is missing or timed out.
    """
    if not files:
        raise EmptyFileError("The submission contains no files.")
    total_bytes = sum(len(f.data) for f in files)
    if total_bytes > limits.max_bytes:
        raise ImageTooLargeError(
            f"The upload is {total_bytes / 2**20:.1f} MB; the limit is "
            f"{limits.max_bytes / 2**20:.0f} MB.",
            fix="Upload only the form's pages, scanned at 200-300 dpi.",
        )
    pages: list[Page] = []
    for file in files:
        pages.extend(_load_file(file, first_index=len(pages), limits=limits))
    return pages


def _load_file(file: InputFile, *, first_index: int, limits: LoadLimits) -> list[Page]:
    """Sniff one file and hand it to the PDF or image decoder."""
    try:
        media_type = sniff_media_type(file.data)
    except (EmptyFileError, UnsupportedFileTypeError) as exc:
        raise type(exc)(f"{file.name}: {exc.message}", fix=exc.fix) from exc
    max_pages = limits.max_pages - first_index
    if media_type == PDF:
        return _load_pdf(file, first_index=first_index, max_pages=max_pages, limits=limits)
    return _load_image(
        file, media_type, first_index=first_index, max_pages=max_pages, limits=limits
    )


def _too_many_pages(name: str, limits: LoadLimits) -> TooManyPagesError:
    return TooManyPagesError(
        f"{name}: the submission has more than {limits.max_pages} pages; a form has 1-3 pages."
    )


def _check_pixels(name: str, width_px: int, height_px: int, *, max_pixels: int) -> None:
    """Refuse a page whose decoded size exceeds the cap, before anything is decoded."""
    if width_px * height_px > max_pixels:
        raise ImageTooLargeError(
            f"{name}: the page is {width_px} x {height_px} px "
            f"({width_px * height_px / 1e6:.0f} Mpx); the limit is {max_pixels / 1e6:.0f} Mpx."
        )


# --- images -------------------------------------------------------------------------


def _load_image(
    file: InputFile, media_type: str, *, first_index: int, max_pages: int, limits: LoadLimits
) -> list[Page]:
    """Decode a PNG, JPEG or TIFF (all TIFF frames) with Pillow, checking sizes first."""
    try:
        with Image.open(io.BytesIO(file.data), formats=[_PIL_FORMAT[media_type]]) as im:
            frames = _decode_frames(
                im, file.name, is_multi=media_type == TIFF, max_pages=max_pages, limits=limits
            )
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise UnreadableDocumentError(f"{file.name}: the image cannot be decoded ({exc}).") from exc
    return [
        Page(
            index=first_index + i,
            image=image,
            dpi=dpi,
            source=file.name if len(frames) == 1 else f"{file.name}#page {i + 1}",
        )
        for i, (image, dpi) in enumerate(frames)
    ]


def _decode_frames(
    im: Image.Image, name: str, *, is_multi: bool, max_pages: int, limits: LoadLimits
) -> list[tuple[np.ndarray, int]]:
    """Return (BGR array, dpi) per frame; only TIFF frames count as pages.

    PNG (APNG) and JPEG (MPO phone photos carry a preview or depth map as a second
    frame) contribute their first frame only.
    """
    frames: list[tuple[np.ndarray, int]] = []
    while True:
        if len(frames) >= max_pages:
            raise _too_many_pages(name, limits)
        _check_pixels(name, *im.size, max_pixels=limits.max_pixels)
        frames.append(_decode_frame(im))
        if not is_multi:
            return frames
        try:
            im.seek(im.tell() + 1)
        except EOFError:
            return frames


def _decode_frame(im: Image.Image) -> tuple[np.ndarray, int]:
    """Decode the current frame upright (EXIF orientation applied) as BGR uint8."""
    metadata_dpi = im.info.get("dpi")
    upright = ImageOps.exif_transpose(im)
    assert upright is not None  # only None with in_place=True
    rgb = _to_rgb8(upright)
    bgr = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)[:, :, ::-1])
    return bgr, _image_dpi(metadata_dpi, width_px=rgb.width, height_px=rgb.height)


def _to_rgb8(im: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB.

    Transparent pixels become white paper (a plain RGBA->RGB keeps whatever colour hides
    under alpha 0, often black). 16-bit and float greys are rescaled, because Pillow's
    own conversion to "L" clips 16-bit values at 255 and turns a scan white.
    """
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        return Image.fromarray(_scale_to_uint8(np.asarray(im)), mode="L").convert("RGB")
    if im.has_transparency_data:
        background = Image.new("RGBA", im.size, WHITE_RGBA)
        return Image.alpha_composite(background, im.convert("RGBA")).convert("RGB")
    return im.convert("RGB")


def _scale_to_uint8(values: np.ndarray) -> np.ndarray:
    """Map a 16-bit, 32-bit or float grey array onto 0-255."""
    if values.dtype.kind == "f":
        finite = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        scale = 255.0 if finite.size and finite.max() <= 1.0 else 1.0
        return np.clip(finite * scale, 0, 255).astype(np.uint8)
    wide = np.clip(values.astype(np.int64), 0, 65535)
    if wide.size and wide.max() > 255:
        return (wide // 257).astype(np.uint8)
    return wide.astype(np.uint8)


def _image_dpi(metadata_dpi: object, *, width_px: int, height_px: int) -> int:
    """Dpi from image metadata when plausible, else estimated from the page width.

    Metadata is plausible when it lies within 70-1200 dpi and does not imply a sheet
    longer than A3. Otherwise the image is assumed to be an A4 page filling its width:
    8.27 in wide when portrait (width <= height), 11.69 in wide when landscape.
    """
    try:
        dpi = float(metadata_dpi[0]) if isinstance(metadata_dpi, tuple) and metadata_dpi else 0.0
    except (TypeError, ValueError, ZeroDivisionError):  # IFDRational(0, 0), strings
        dpi = 0.0
    if not math.isfinite(dpi):
        dpi = 0.0
    if (
        PLAUSIBLE_DPI_MIN <= dpi <= PLAUSIBLE_DPI_MAX
        and max(width_px, height_px) / dpi <= MAX_PAGE_SIDE_IN
    ):
        return round(dpi)
    width_in = A4_PORTRAIT_WIDTH_IN if width_px <= height_px else A4_LANDSCAPE_WIDTH_IN
    estimate = max(1, round(width_px / width_in))
    log.info("No usable dpi in image metadata (%r); estimated %d dpi", metadata_dpi, estimate)
    return estimate


# --- PDF ----------------------------------------------------------------------------


def _load_pdf(
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
        text_pages = _pdf_text_pages(path, file.name, sizes_pt=sizes_pt, limits=limits)
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
                    else _words_in_pixels(text_page, image.shape, scale=scale),
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
        raise _too_many_pages(name, limits)
    sizes_pt = _pdf_page_sizes(path, name, n_pages=n_pages, limits=limits)
    scale = limits.render_dpi / POINTS_PER_INCH
    for width_pt, height_pt in sizes_pt:
        width_px, height_px = math.ceil(width_pt * scale), math.ceil(height_pt * scale)
        _check_pixels(name, width_px, height_px, max_pixels=limits.max_pixels)
    return sizes_pt


def _run_poppler(
    args: list[str], name: str, *, limits: LoadLimits
) -> subprocess.CompletedProcess[str]:
    """Run one poppler tool with list arguments and the per-call timeout."""
    try:
        return subprocess.run(
            args,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=limits.timeout_s,
            check=False,
        )
    except FileNotFoundError as exc:
        raise EngineMissingError(f"The PDF tool {args[0]!r} is not installed.") from exc
    except subprocess.TimeoutExpired as exc:
        raise EngineTimeoutError(
            f"{name}: {args[0]} took longer than {limits.timeout_s:g} s."
        ) from exc


def _pdf_page_count(path: Path, name: str, *, limits: LoadLimits) -> int:
    """Page count from pdfinfo; refuses files that need a password to open.

    A PDF with only an owner password (printing or copying restricted) opens without
    one and is read normally; only a user password stops poppler.
    """
    result = _run_poppler(["pdfinfo", str(path)], name, limits=limits)
    if result.returncode != 0:
        if "password" in result.stderr.lower():
            raise EncryptedDocumentError(f"{name}: the PDF is protected by a password.")
        raise UnreadableDocumentError(
            f"{name}: the PDF cannot be opened ({_first_line(result.stderr)})."
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
    result = _run_poppler(args, name, limits=limits)
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


def _pdf_text_pages(
    path: Path, name: str, *, sizes_pt: list[tuple[float, float]], limits: LoadLimits
) -> dict[int, tuple[_PdfWord, ...]]:
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
    result = _run_poppler(args, name, limits=limits)
    if result.returncode != 0:
        log.warning(
            "%s: pdftotext failed (%s); pages will be OCR'd", name, _first_line(result.stderr)
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
    result = _run_poppler(args, name, limits=limits)
    if result.returncode != 0:
        log.warning(
            "%s: pdfimages failed (%s); treating pages as scans", name, _first_line(result.stderr)
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


def _parse_bbox_layout(xhtml: str) -> list[tuple[_PdfWord, ...]]:
    """Words per page from ``pdftotext -bbox-layout`` output.

    Regular expressions rather than an XML parser: the output is machine-written with a
    fixed shape, and text from hostile PDFs may contain characters that are not legal
    XML, which would make a strict parser reject the whole document.
    """
    pages = []
    for page in _PAGE_RE.finditer(xhtml):
        words = (
            _PdfWord(html.unescape(w.group(5)), *(float(w.group(i)) for i in range(1, 5)))
            for w in _WORD_RE.finditer(page.group(1))
        )
        pages.append(tuple(word for word in words if word.text.strip()))
    return pages


def _words_in_pixels(
    words: tuple[_PdfWord, ...], image_shape: tuple[int, ...], *, scale: float
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
        _check_pixels(name, im.width, im.height, max_pixels=limits.max_pixels)
        return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8)[:, :, ::-1])


def _first_line(text: str) -> str:
    """First non-empty line of a tool's stderr, for a short message."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "no details")
