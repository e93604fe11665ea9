"""Many small crops, one Tesseract call: paste crops into one tall image, map words back.

Each crop gets its own horizontal band, padded with white so Tesseract sees separate
lines (12 px of padding measurably helped single-cell reads). A word belongs to the
band that contains its vertical centre; words are ordered left to right within a line
and lines top to bottom.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ocr.types import Word

PAD_PX = 12  # white margin around every crop
GAP_PX = 10  # extra white between bands, so no two crops share a text line


@dataclass(frozen=True)
class Mosaic:
    """Crops stacked into one image, with each crop's vertical band to map words back."""

    image: np.ndarray
    bands: tuple[tuple[int, int], ...]  # (top, bottom) of each crop's band


def build_mosaic(crops: Sequence[np.ndarray], *, pad_px: int = PAD_PX) -> Mosaic:
    """Stack grayscale crops vertically on white, left-aligned, each padded."""
    width = max((c.shape[1] for c in crops), default=1) + 2 * pad_px
    height = sum(c.shape[0] + 2 * pad_px + GAP_PX for c in crops) or 1
    canvas = np.full((height, width), 255, dtype=np.uint8)
    bands: list[tuple[int, int]] = []
    y = 0
    for crop in crops:
        h, w = crop.shape[:2]
        canvas[y + pad_px : y + pad_px + h, pad_px : pad_px + w] = crop
        band_h = h + 2 * pad_px + GAP_PX
        bands.append((y, y + band_h))
        y += band_h
    return Mosaic(image=canvas, bands=tuple(bands))


def words_by_band(mosaic: Mosaic, words: Sequence[Word]) -> list[list[Word]]:
    """Assign every word to the band holding its vertical centre, in reading order."""
    tops = np.array([b[0] for b in mosaic.bands])
    result: list[list[Word]] = [[] for _ in mosaic.bands]
    for word in words:
        cy = word.box.y + word.box.height / 2
        i = int(np.searchsorted(tops, cy, side="right")) - 1
        if 0 <= i < len(result) and cy < mosaic.bands[i][1]:
            result[i].append(word)
    for band_words in result:
        band_words.sort(key=_reading_order_key)
    return result


def _reading_order_key(word: Word) -> tuple[int, int]:
    # Tesseract numbers its text lines in reading order; words of a line sort by x.
    return (word.line, word.box.x)
