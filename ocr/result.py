"""The public JSON shape of an extraction (the CLI contract; the API reuses it).

This is the one mapping of a ``Reading`` to a dict on the engine side, and
``is_flagged`` the one definition of "a person should look".

``{"layout", "files", "pages", "seconds", "fields": [...], "warnings": [...]}`` with
exactly one field entry per (row_key, field) of the layout, ``value`` an int or null.
"""

from __future__ import annotations

from collections.abc import Sequence

from ocr.types import FLAGGED_STATUSES, Extraction, Reading


def is_flagged(reading: Reading) -> bool:
    """Whether a person should look at the reading: it needs review or could not be read."""
    return reading.status in FLAGGED_STATUSES


def reading_json(reading: Reading) -> dict[str, object]:
    """One entry of ``fields``: value, text, confidence (4 decimals), 1-based page and box.

    ``suggestion`` (the digit model's reading, "1?7") and ``alternatives`` (the values
    the recognisers read, proposed first) appear only when there is something to show.
    """
    entry = _base_json(reading)
    if reading.suggestion:
        entry["suggestion"] = reading.suggestion
    if reading.alternatives:
        entry["alternatives"] = list(reading.alternatives)
    return entry


def _base_json(reading: Reading) -> dict[str, object]:
    return {
        "row_key": reading.row_key,
        "field": reading.field,
        "value": reading.value,
        "text": reading.text,
        "confidence": round(reading.confidence, 4),
        "flagged": is_flagged(reading),
        "reasons": list(reading.reasons),
        "page": None if reading.page_index is None else reading.page_index + 1,
        "box": None if reading.box is None else reading.box.as_list(),
    }


def extraction_json(
    extraction: Extraction, *, files: Sequence[str], seconds: float
) -> dict[str, object]:
    """The whole extraction: one field entry per (row_key, field) of the layout, in order."""
    return {
        "layout": extraction.layout_id,
        "files": list(files),
        "pages": extraction.pages,
        "seconds": round(seconds, 3),
        "fields": [reading_json(r) for r in extraction.readings],
        "warnings": list(extraction.warnings),
    }
