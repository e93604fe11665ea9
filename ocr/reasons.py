"""Every reason code the reading engine puts on a reading, in one place.

A reason says why a person should look at a reading (or, for the explanatory ones,
why its confidence is low). The codes are stable: they appear in the extraction JSON,
in the service's database and in translation keys (``reason.<code>``), so a member's
value must never change. ``Reason`` is a ``StrEnum``, so a member *is* its code string
and readings keep carrying plain ``str`` reasons wherever they are serialised.

The comparison rules of a layout (``greater_or_equal``) name their reason after the
layout's fields (``<greater>_lt_<lesser>``, see ``ocr.checks.compare_reason``); the one
our form uses is listed here so that it has a translation like every other code.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """A stable reason code on a ``Reading``; the value is what users and exports see."""

    # Confidence and legibility (ocr.pipeline, ocr.read).
    LOW_CONFIDENCE = "low_confidence"
    UNREADABLE = "unreadable"
    READS_DISAGREE = "reads_disagree"
    # Independent engines or views of the cell read different things (ocr.combined):
    # a veto, never an explanation, so such a reading always goes to review.
    ENGINES_DISAGREE = "engines_disagree"
    # Where the value should be (ocr.pipeline).
    ROW_NOT_FOUND = "row_not_found"
    BOTH_COLUMNS_FILLED = "both_columns_filled"
    # What is written in the cell (ocr.read).
    CORRECTED_ON_PAPER = "corrected_on_paper"
    STRUCK_THROUGH = "struck_through"
    # How the text parses as a Vietnamese number (ocr.numbers).
    NOT_A_NUMBER = "not_a_number"
    NOT_INTEGER = "not_integer"
    BAD_GROUPING = "bad_grouping"
    NEGATIVE = "negative"
    TOO_LONG = "too_long"
    OCR_SUBSTITUTION = "ocr_substitution"
    # The layout's rules (ocr.checks).
    SUM_MISMATCH = "sum_mismatch"
    ZERO_WITH_POSITIVE = "zero_with_positive"
    OUT_OF_RANGE = "out_of_range"
    PEOPLE_LT_COUNT = "people_lt_count"
