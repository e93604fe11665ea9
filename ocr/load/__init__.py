"""Load an uploaded submission (PDF, PNG, JPEG, TIFF files) as a list of BGR pages.

This is the first stage and the only one that touches untrusted bytes, so it is
defensive in a fixed order: judge the type by magic bytes (``sniff``), measure before
decoding (image headers in ``image``, ``pdfinfo`` page sizes in ``pdf``), refuse
anything over the limits (``limits``), and only then decode or render one page at a
time with a timeout. Every library or subprocess failure leaves this package as an
``ocr.errors`` class raised ``from`` the original exception.

One module per source: ``image`` (Pillow), ``pdf`` (rendering through pdf2image, its
sole importer), ``textlayer`` (a born-digital PDF's words), ``poppler`` (the one
wrapper of poppler's command-line tools).
"""

from __future__ import annotations

from collections.abc import Sequence

from ocr.errors import EmptyFileError, ImageTooLargeError, UnsupportedFileTypeError
from ocr.load.image import load_image
from ocr.load.limits import InputFile, LoadLimits
from ocr.load.pdf import load_pdf
from ocr.load.sniff import JPEG, PDF, PDF_HEADER_WINDOW_BYTES, PNG, TIFF, sniff_media_type
from ocr.types import Page

# The caps used when a caller gives none (see LoadLimits for why these values).
DEFAULT_LIMITS = LoadLimits()

__all__ = [
    "JPEG",
    "PDF",
    "PDF_HEADER_WINDOW_BYTES",
    "PNG",
    "TIFF",
    "InputFile",
    "LoadLimits",
    "load_document",
    "sniff_media_type",
]


def load_document(files: Sequence[InputFile], *, limits: LoadLimits = DEFAULT_LIMITS) -> list[Page]:
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
        return load_pdf(file, first_index=first_index, max_pages=max_pages, limits=limits)
    return load_image(file, media_type, first_index=first_index, max_pages=max_pages, limits=limits)
