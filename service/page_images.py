"""Page images for reviewers: the cleaned pages stored at processing, crops and overlays.

Readings' boxes are in the pixel frame of the *cleaned* page (``ocr.clean.clean_page``:
straightened, flat-lit grayscale), so that is the image kept for each page: a
lossless grayscale PNG in the blob store, content-addressed like the originals. The
job cleans each page once and hands the same images to ``extract_cleaned`` and to
``store_page_images``, so the stored pixels are exactly the ones that were read.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ocr.overlay import draw_overlay
from ocr.types import Box, Page, Reading
from service.storage import BlobStore

# Context around a cell crop, as a share of the cell's height: enough to see the
# rules and whether digits spill over them (40 %: half a text line at our row heights).
CROP_MARGIN_SHARE = 0.4
# Extra context on the left, towards the row's label, as a share of the cell's width:
# the neighbouring column (unit of measure, or the classes beside the people) tells a
# reviewer which row and sub-column the number belongs to.
CROP_LABEL_SIDE_SHARE = 1.0


def encode_png(image: np.ndarray) -> bytes:
    """Lossless PNG bytes of a grayscale or BGR uint8 image."""
    is_ok, buffer = cv2.imencode(".png", image)
    if not is_ok:
        raise ValueError("PNG encoding failed")
    return bytes(buffer.tobytes())


def decode_gray_png(data: bytes) -> np.ndarray:
    """A stored cleaned page back as a grayscale array (the pixel frame of the boxes)."""
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError("not a PNG image")
    return np.asarray(image)


def store_page_images(cleaned: Sequence[Page], store: BlobStore) -> list[str]:
    """Store each cleaned page as a grayscale PNG; return the keys in page order."""
    return [store.put_bytes(encode_png(page.image)) for page in cleaned]


def crop_rect(box: Box, *, width_px: int, height_px: int) -> Box:
    """The cell's box grown by the context margins, clamped to the page."""
    margin = round(box.height * CROP_MARGIN_SHARE)
    left = margin + round(box.width * CROP_LABEL_SIDE_SHARE)
    x0, y0 = max(0, box.x - left), max(0, box.y - margin)
    x1, y1 = min(width_px, box.right + margin), min(height_px, box.bottom + margin)
    return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def crop_png(page_png: bytes, box: Box) -> bytes:
    """One cell's image from its cleaned page, for a reviewer comparing the reading."""
    image = decode_gray_png(page_png)
    height_px, width_px = image.shape[:2]
    rect = crop_rect(box, width_px=width_px, height_px=height_px)
    return encode_png(image[rect.y : rect.bottom, rect.x : rect.right])


def overlay_png(page_png: bytes, *, page_index: int, readings: Sequence[Reading]) -> bytes:
    """The page in colour with every cell boxed by status (``ocr.overlay``), as PNG."""
    page = Page(index=page_index, image=decode_gray_png(page_png), dpi=0, source="")
    return encode_png(draw_overlay(page, None, readings))
