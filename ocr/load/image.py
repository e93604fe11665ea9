"""PNG, JPEG and TIFF files: sizes checked from headers, then decoded upright as BGR.

Pillow decodes; every frame's pixel count is checked against ``LoadLimits.max_pixels``
before it is decoded, EXIF orientation is applied, odd modes (16-bit, float, alpha)
become plain 8-bit colour on white paper, and the dpi comes from metadata when it is
plausible, else from the page width.
"""

from __future__ import annotations

import io
import logging
import math
import struct

import numpy as np
from PIL import Image, ImageOps

from ocr.errors import UnreadableDocumentError
from ocr.load.limits import InputFile, LoadLimits, check_pixels, too_many_pages
from ocr.load.sniff import JPEG, PNG, TIFF
from ocr.types import Page

log = logging.getLogger(__name__)

# Every frame's size is checked against LoadLimits.max_pixels (40 Mpx by default) from
# its header, before decoding. Pillow's own bomb check (a warning above 89 Mpx, an
# error above 179 Mpx) would only replace that clear refusal with its own message.
Image.MAX_IMAGE_PIXELS = None

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
WHITE_RGBA = (255, 255, 255, 255)


def load_image(
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
            raise too_many_pages(name, limits)
        check_pixels(name, *im.size, max_pixels=limits.max_pixels)
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
