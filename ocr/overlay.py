"""Draw what the pipeline saw: the grid, each read cell coloured by status, the values.

Used by ``formscan extract --debug-dir`` and later by the review pages, so people can
check at a glance where a reading came from.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ocr.types import Grid, Page, Reading, ReadingStatus

# BGR colours by status: green accepted, orange doubtful, red unreadable, grey blank.
STATUS_COLOURS: dict[ReadingStatus, tuple[int, int, int]] = {
    ReadingStatus.OK: (60, 170, 60),
    ReadingStatus.NEEDS_REVIEW: (0, 140, 255),
    ReadingStatus.UNREADABLE: (40, 40, 220),
    ReadingStatus.EMPTY: (170, 170, 170),
}
GRID_COLOUR = (220, 120, 0)


def draw_overlay(page: Page, grid: Grid | None, readings: Sequence[Reading]) -> np.ndarray:
    """A colour image of the cleaned page with grid lines, cell boxes and read values."""
    image = page.image
    canvas = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    if grid is not None:
        _draw_grid(canvas, grid)
    scale = max(0.4, canvas.shape[1] / 3000)
    for reading in readings:
        if reading.page_index != page.index or reading.box is None:
            continue
        b = reading.box
        colour = STATUS_COLOURS[reading.status]
        cv2.rectangle(canvas, (b.x + 3, b.y + 3), (b.right - 3, b.bottom - 3), colour, 3)
        label = "" if reading.value is None else str(reading.value)
        cv2.putText(
            canvas,
            label,
            (b.x + 6, b.bottom - 6),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            colour,
            2,
            cv2.LINE_AA,
        )
    return canvas


def _draw_grid(canvas: np.ndarray, grid: Grid) -> None:
    x0, x1 = grid.col_edges_px[0], grid.col_edges_px[-1]
    y0, y1 = grid.row_edges_px[0], grid.row_edges_px[-1]
    for y in grid.row_edges_px:
        cv2.line(canvas, (x0, y), (x1, y), GRID_COLOUR, 1)
    for x in grid.col_edges_px:
        cv2.line(canvas, (x, y0), (x, y1), GRID_COLOUR, 1)
