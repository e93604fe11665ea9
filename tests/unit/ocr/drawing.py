"""Tiny synthetic pages for stage tests: a ruled grid drawn with OpenCV, known edges."""

from __future__ import annotations

import cv2
import numpy as np


def ruled_page(
    row_edges: list[int],
    col_edges: list[int],
    *,
    size: tuple[int, int] = (1400, 1000),
    thickness: int = 2,
) -> np.ndarray:
    """A white grayscale page with full-width rules at the given positions."""
    h, w = size
    page = np.full((h, w), 255, np.uint8)
    for y in row_edges:
        cv2.line(page, (col_edges[0], y), (col_edges[-1], y), 0, thickness)
    for x in col_edges:
        cv2.line(page, (x, row_edges[0]), (x, row_edges[-1]), 0, thickness)
    return page


def even_edges(start: int, step: int, count: int) -> list[int]:
    return [start + i * step for i in range(count)]
