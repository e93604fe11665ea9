"""Typed failures of the reading engine, each with a stable ``code`` and a fix-it message.

Uncertainty is not an error: a doubtful number is a flagged reading. These exceptions
mean that a document cannot be read at all::

    OcrError
    ├─ InputError                the uploader's file
    │   ├─ UnsupportedFileTypeError   not a PDF, PNG, JPEG or TIFF
    │   ├─ EmptyFileError             zero bytes
    │   ├─ EncryptedDocumentError     password-protected PDF
    │   ├─ UnreadableDocumentError    corrupt or truncated file
    │   ├─ TooManyPagesError          more pages than allowed
    │   ├─ ImageTooLargeError         page beyond the pixel cap (decompression bombs)
    │   ├─ TableNotFoundError         no ruled table on any page
    │   └─ WrongFormError             a table, but not this layout's
    ├─ LayoutError               our definitions
    │   ├─ InvalidLayoutError         a layout file fails validation
    │   └─ UnknownLayoutError         no layout with that id
    └─ EngineError               our server
        ├─ EngineMissingError         tesseract or poppler not installed
        └─ EngineTimeoutError         an external program ran too long

Only ``ocr.load`` and ``ocr.tesseract`` catch library exceptions, re-raising these
with ``raise ... from exc``.
"""

from __future__ import annotations


class OcrError(Exception):
    """Base class: ``code`` is stable and machine-readable, ``fix`` tells the user what to do."""

    code = "ocr_error"
    fix = "Contact the administrator."

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        """Keep the message apart from the fix, so callers can show them separately."""
        super().__init__(message)
        self.message = message
        if fix is not None:
            self.fix = fix

    def __str__(self) -> str:
        """Message and fix on one line, for logs and the command line."""
        return f"{self.message} {self.fix}".strip()


class InputError(OcrError):
    """The uploaded file cannot be read; the uploader can fix it."""

    code = "invalid_input"
    fix = "Upload a scan of the filled form as PDF, JPG or PNG."


class UnsupportedFileTypeError(InputError):
    """Not a PDF, PNG, JPEG or TIFF file (judged by content, never by name)."""

    code = "unsupported_file_type"
    fix = "Upload a PDF, JPG, PNG or TIFF file of the scanned form."


class EmptyFileError(InputError):
    """The file (or the whole submission) has no bytes."""

    code = "empty_file"
    fix = "The file has no content; scan the form again and upload the new file."


class EncryptedDocumentError(InputError):
    """A PDF that needs a password to open."""

    code = "encrypted_pdf"
    fix = "Remove the password (print to a new PDF without protection) and upload again."


class UnreadableDocumentError(InputError):
    """A corrupt or truncated file, or a page that cannot be decoded or rendered."""

    code = "unreadable_document"
    fix = "The file is damaged or truncated; export or scan it again and upload the new file."


class TooManyPagesError(InputError):
    """More pages than ``LoadLimits.max_pages``; a form has 1-3."""

    code = "too_many_pages"
    fix = "Upload only the pages that hold the statistics table."


class ImageTooLargeError(InputError):
    """A page or upload beyond the caps (decompression bombs, huge scans)."""

    code = "image_too_large"
    fix = "Scan or export the page at 200-300 dpi (an A4 page is then 4-9 megapixels)."


class TableNotFoundError(InputError):
    """No ruled table on any page."""

    code = "table_not_found"
    fix = (
        "Upload the page with the ruled statistics table, flat, whole and in focus "
        "(200 dpi or more)."
    )


class WrongFormError(InputError):
    """A ruled table, but too few of the layout's rows match: another form."""

    code = "wrong_form"
    fix = "Upload the statistics table of this campaign's form, or choose the matching layout."


class LayoutError(OcrError):
    """Our layout definitions are wrong or missing; the server's operator can fix it."""

    code = "layout_error"
    fix = "Correct the layout definition file."


class InvalidLayoutError(LayoutError):
    """A layout file fails validation (raised when it is loaded, at startup)."""

    code = "invalid_layout"


class UnknownLayoutError(LayoutError):
    """No layout with the requested id."""

    code = "unknown_layout"
    fix = "Use one of the layouts in the layouts/ directory (see `formscan layouts`)."


class EngineError(OcrError):
    """An external program failed on our server; the uploader cannot fix it."""

    code = "engine_error"
    fix = "Retry later; if it persists, contact the administrator."


class EngineMissingError(EngineError):
    """tesseract, one of its language models or poppler is not installed."""

    code = "engine_missing"
    fix = "Install the OCR programs: apt-get install tesseract-ocr tesseract-ocr-vie poppler-utils."


class EngineTimeoutError(EngineError):
    """An external program ran longer than its timeout."""

    code = "engine_timeout"
