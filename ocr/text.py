"""Text normalisation and similarity for matching printed labels against a layout.

OCR of Vietnamese labels loses or swaps diacritics far more often than base letters,
and units copy the template with its typos or corrected, so labels are compared on
their base letters (diacritics removed, đ -> d, lower case, punctuation as spaces).
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz

# Observed texts this long may be a cut-off prefix (label prefixes are read ~20 letters
# wide); shorter ones are taken as whole labels.
MIN_PREFIX_LETTERS = 12
_NON_WORD = re.compile(r"[^0-9a-z]+")
# Row numbers printed before a label ("1.", "1.1", "a)", "-", "IV.") are not label text.
_LEADING_NUMBER = re.compile(
    r"^\s*(?:[0-9]+(?:[.,][0-9]+)*[.)]?|[a-zđ][.)]|[ivx]+[.)]|[-–+•*])\s+", re.IGNORECASE
)


def fold(text: str) -> str:
    """Lower-case base letters and digits only, single-spaced: 'Xóa mù chữ' -> 'xoa mu chu'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text.lower())
    base = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", base).strip()


def strip_row_number(text: str) -> str:
    """Drop a leading row number or bullet from a label's text."""
    return _LEADING_NUMBER.sub("", text, count=1)


def similarity(a: str, b: str) -> float:
    """Similarity of two already folded strings in [0, 1] (normalised Indel ratio)."""
    if not a or not b:
        return 0.0
    return fuzz.ratio(a, b) / 100.0


def prefix_similarity(observed: str, label: str) -> float:
    """Similarity when the observed text may be a cut-off start of the label.

    Long labels are sometimes cropped by narrow cells or lost at a page edge; the
    first words still identify the row. Only used for observed texts of
    ``MIN_PREFIX_LETTERS`` or more, so that a short label read whole ("Tập thể")
    never matches a longer one by prefix.
    """
    if len(observed) < MIN_PREFIX_LETTERS or len(observed) >= len(label):
        return similarity(observed, label)
    return max(similarity(observed, label), 0.97 * similarity(observed, label[: len(observed)]))
