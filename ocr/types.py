"""Values that flow between the reading stages: Page -> Grid -> TableMap -> Reading.

All are frozen: a stage returns new values and never mutates its input. Pixel
coordinates are in the cleaned page image's frame (after deskew and perspective).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise

import numpy as np


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in pixels."""

    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        """First x to the right of the box (exclusive)."""
        return self.x + self.width

    @property
    def bottom(self) -> int:
        """First y below the box (exclusive)."""
        return self.y + self.height

    def as_list(self) -> list[int]:
        """``[x, y, width, height]``, the JSON form."""
        return [self.x, self.y, self.width, self.height]

    def contains_point(self, px: float, py: float) -> bool:
        """Whether the point lies inside (left and top edges included)."""
        return self.x <= px < self.right and self.y <= py < self.bottom


@dataclass(frozen=True)
class Word:
    """A word with its box: from a PDF text layer (confidence 1) or from OCR."""

    text: str
    box: Box
    confidence: float = 1.0
    line: int = 0  # reading-order key of the word's text line (OCR), 0 when unknown
    char_confidences: tuple[float, ...] = ()  # per character, when the engine gives them


@dataclass(frozen=True, eq=False)
class Page:
    """One page of a submission as an image.

    ``image`` is BGR uint8 straight from the loader and grayscale uint8 after
    ``clean_page``. ``words`` holds the PDF text layer in this image's pixel frame
    when the page is born-digital, else ``None`` (the page must be OCR'd).
    ``turned_deg`` is how far ``clean_page`` turned the page clockwise to put it
    upright (0, 90, 180 or 270), so the turn can be reported to the uploader.
    """

    index: int
    image: np.ndarray
    dpi: int
    source: str
    words: tuple[Word, ...] | None = None
    turned_deg: int = 0

    @property
    def has_text_layer(self) -> bool:
        """Whether the page carries born-digital words to read instead of OCR."""
        return self.words is not None and len(self.words) > 0


@dataclass(frozen=True)
class Grid:
    """The ruled table found on a page: cells are rectangles between consecutive edges.

    ``row_edges_px`` are y positions of horizontal rules (top to bottom) and
    ``col_edges_px`` x positions of vertical rules (left to right). ``rule_px`` is the
    measured rule thickness, used to inset cells so that no rule is read as a digit.
    """

    page_index: int
    row_edges_px: tuple[int, ...]
    col_edges_px: tuple[int, ...]
    rule_px: int = 2

    @property
    def n_rows(self) -> int:
        """Number of rows between the row edges."""
        return max(0, len(self.row_edges_px) - 1)

    @property
    def n_cols(self) -> int:
        """Number of columns between the column edges."""
        return max(0, len(self.col_edges_px) - 1)

    @property
    def typical_row_px(self) -> int:
        """Height of a one-line row, the page's unit of scale for sizes inside cells.

        The lower quartile of row heights, not the median: in a narrow table most
        labels wrap and most rows are two lines tall, but section rows and short
        labels keep a quarter of the rows at one line.
        """
        heights = sorted(b - a for a, b in pairwise(self.row_edges_px))
        return heights[len(heights) // 4] if heights else 0

    def cell_box(self, row: int, col: int, *, col_end: int | None = None) -> Box:
        """Box of grid cell (row, col), or of columns col..col_end-1 merged."""
        last = col + 1 if col_end is None else col_end
        x0, x1 = self.col_edges_px[col], self.col_edges_px[last]
        y0, y1 = self.row_edges_px[row], self.row_edges_px[row + 1]
        return Box(x0, y0, x1 - x0, y1 - y0)


class ReadingStatus(StrEnum):
    """Where a reading stands: trusted, for a person to look at, blank, or not read."""

    OK = "ok"
    NEEDS_REVIEW = "needs_review"
    EMPTY = "empty"
    UNREADABLE = "unreadable"


# The statuses that send a reading to a person ("flagged" in the JSON and the API).
# A StrEnum equals its value, so stored status strings can be tested against it too.
FLAGGED_STATUSES = frozenset({ReadingStatus.NEEDS_REVIEW, ReadingStatus.UNREADABLE})


@dataclass(frozen=True)
class CellText:
    """What one engine read in one cell: raw text, parsed value and engine confidence."""

    text: str
    value: int | None
    confidence: float
    reasons: tuple[str, ...] = ()
    has_ink: bool = True
    bucket: str = ""  # the kind of evidence (see ocr.confidence) and its raw score
    score: float = 0.0
    # For the reviewer: the digit model's reading with doubtful digits as "?" ("1?7")
    # and the values the engines read, the proposed one first (empty when they agree).
    suggestion: str | None = None
    alternatives: tuple[int, ...] = ()


@dataclass(frozen=True)
class Reading:
    """The result for one (row_key, field) of the layout: what the CLI and API report.

    ``value`` is None when the field was left blank (not reported) or could not be
    read; ``confidence`` is the estimated probability that ``value`` is right.
    ``reasons`` explain any doubt; ``flagged`` means a person should look.
    """

    row_key: str
    field: str
    value: int | None
    text: str
    confidence: float
    status: ReadingStatus
    reasons: tuple[str, ...] = ()
    page_index: int | None = None
    box: Box | None = None
    column_key: str | None = None
    bucket: str = ""  # evidence behind ``confidence`` (see ocr.confidence)
    score: float = 0.0
    suggestion: str | None = None  # see ``CellText.suggestion``
    alternatives: tuple[int, ...] = ()

    @property
    def flagged(self) -> bool:
        """A person should look (``FLAGGED_STATUSES``); see ``ocr.result.is_flagged``."""
        return self.status in FLAGGED_STATUSES


@dataclass(frozen=True)
class MatchedRow:
    """A grid row assigned to a layout row, with the evidence for the match."""

    row_key: str
    page_index: int
    grid_row: int
    similarity: float
    text: str


@dataclass(frozen=True)
class Extraction:
    """Everything read from one submission."""

    layout_id: str
    layout_version: int
    readings: tuple[Reading, ...]
    pages: int
    warnings: tuple[str, ...] = ()
    grids: tuple[Grid, ...] = field(default_factory=tuple)
    matches: tuple[MatchedRow, ...] = field(default_factory=tuple)
