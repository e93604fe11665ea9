"""What every loader shares: the uploaded file, the caps, and the refusals over a cap."""

from __future__ import annotations

from dataclasses import dataclass

from ocr.errors import ImageTooLargeError, TooManyPagesError


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


def too_many_pages(name: str, limits: LoadLimits) -> TooManyPagesError:
    """The refusal for a submission over ``limits.max_pages``, naming the file that crossed it."""
    return TooManyPagesError(
        f"{name}: the submission has more than {limits.max_pages} pages; a form has 1-3 pages."
    )


def check_pixels(name: str, width_px: int, height_px: int, *, max_pixels: int) -> None:
    """Refuse a page whose decoded size exceeds the cap, before anything is decoded."""
    if width_px * height_px > max_pixels:
        raise ImageTooLargeError(
            f"{name}: the page is {width_px} x {height_px} px "
            f"({width_px * height_px / 1e6:.0f} Mpx); the limit is {max_pixels / 1e6:.0f} Mpx."
        )
