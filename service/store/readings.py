"""The one mapping between the engine's ``Reading`` and the stored ``Reading`` row.

The engine's value (``ocr.types.Reading``) is what the rules (``ocr.checks``), the
overlay and the extraction JSON (``ocr.result``) work on; the row adds the
submission, the position, the version and the decisions. Everything that turns one
into the other goes through here, so a new field is added in one place.
"""

from __future__ import annotations

from ocr.types import Box, ReadingStatus
from ocr.types import Reading as OcrReading
from service.models import Reading

# "Flagged" (a person should look) for stored rows, in SQL filters and counts: the
# statuses for which the engine's ``Reading.flagged`` is true.
FLAGGED_STATUSES = (ReadingStatus.NEEDS_REVIEW.value, ReadingStatus.UNREADABLE.value)


def row_of(reading: OcrReading, *, submission_id: int, position: int) -> Reading:
    """A new row for ``reading``, the ``position``-th field of its submission."""
    return Reading(
        submission_id=submission_id,
        position=position,
        row_key=reading.row_key,
        field=reading.field,
        value=reading.value,
        text=reading.text,
        confidence=reading.confidence,
        status=str(reading.status),
        reasons=list(reading.reasons),
        page_index=reading.page_index,
        box=None if reading.box is None else reading.box.as_list(),
        column_key=reading.column_key,
    )


def ocr_reading_of(row: Reading) -> OcrReading:
    """A stored reading as the engine's value, for ``ocr.checks`` and ``ocr.overlay``."""
    return OcrReading(
        row_key=row.row_key,
        field=row.field,
        value=row.value,
        text=row.text,
        confidence=row.confidence,
        status=ReadingStatus(row.status),
        reasons=tuple(str(r) for r in row.reasons),
        page_index=row.page_index,
        box=None if row.box is None else Box(*(int(v) for v in row.box)),
        column_key=row.column_key,
    )
