"""Judge an upload's type by its content: the magic bytes decide which decoder sees it.

File names and client-declared types lie (a text file renamed ``form.pdf``, a PNG
saved as ``.jpg``); the service also calls ``sniff_media_type`` on upload, to refuse
a wrong file before it is stored.
"""

from __future__ import annotations

from ocr.errors import EmptyFileError, UnsupportedFileTypeError

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
