"""Turn the text of one cell into a whole number, the way Vietnamese clerks write it.

Conventions, and why each is decided that way:

- **"." groups thousands, "," is the decimal mark** (Vietnamese usage): ``12.500.000``
  is twelve and a half million. Clerks also write ``12,500,000`` (spreadsheet default),
  ``12 500 000`` or ``12500000``; all four mean the same, so all are accepted.
- **Every value on these forms is a whole number** (classes, people, đồng). A grouping
  that is not a valid thousands grouping therefore cannot be a number we expect:
  ``1.5`` or ``1,50`` look like decimals and are refused as ``not_integer``; ``1.2345``
  or ``12.50.000`` are refused as ``bad_grouping``. A single mark followed by exactly
  three digits (``1.234``, ``1,234``) is read as thousands, since a decimal with three
  places never occurs here. Two different marks (``1.234,5``) mean the last one is a
  decimal mark: ``not_integer``. Refusing beats guessing: the reviewer sees the cell.
- **Blank means "not reported"** and is kept apart from zero: ``value=None,
  is_blank=True``. ``0``, ``-``, ``–``, ``—`` and ``x`` are how clerks write "none",
  so they read as 0.
- **Currency words are decoration**: ``đ``, ``đồng``, ``d``, ``dong``, ``VNĐ``, ``VND``
  (any case, before or after the number) are dropped.
- **Cell borders leak into OCR** as ``'``, ``"``, ``|``, ``_``, ``:``, ``;``, ``[`` or
  ``]`` at either end of the text, and sentences end in ``.``: such characters at the
  ends are dropped without comment, since no number begins or ends with them.
- **OCR confusions are corrected only out loud**: inside a number that has at least one
  real digit, ``O``/``o`` (not as first character) reads as 0, ``l``/``I``/``|`` as 1,
  ``S`` as 5 and ``B`` as 8, and the result carries the reason ``ocr_substitution`` so
  the caller lowers confidence. Letters alone (``lo``, ``SO``) are never read as digits.
- **Negative numbers are refused** (``negative``): no count or amount on the form can be
  below zero, so a leading minus is either noise or a mistake a person must see.
- **At most** ``MAX_DIGITS`` **digits**: longer strings are OCR garbage, and refusing them
  keeps every value inside a 64-bit integer for storage (``too_long``).

Anything else is ``not_a_number``. ``parse_number`` never raises: a doubtful cell is
data for the reviewer, not an exception.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ocr.reasons import Reason

# Stable reason codes carried by ParsedNumber.reasons (and from there by Reading.reasons).
NOT_A_NUMBER = Reason.NOT_A_NUMBER
NOT_INTEGER = Reason.NOT_INTEGER
BAD_GROUPING = Reason.BAD_GROUPING
NEGATIVE = Reason.NEGATIVE
TOO_LONG = Reason.TOO_LONG
OCR_SUBSTITUTION = Reason.OCR_SUBSTITUTION

# 18 digits still fit a signed 64-bit integer (max ~9.2e18); the largest plausible value
# on our forms (money, 1e12 đồng) has 13, so anything longer is noise.
MAX_DIGITS = 18

# Characters that rules and borders leave at the ends of a cell's text.
_BORDER_CHARS = "'\"`|_:;[]()‘’“”\\"
# Trailing marks that end a sentence ("500.000 đồng.") but never end a whole number.
_TRAILING_MARKS = ".,"
# Currency words, longest first so "đồng" is not read as "đ" + "ồng".
_CURRENCY = r"(?:vnđ|vnd|đồng|dong|đ|d)"
_CURRENCY_RE = re.compile(rf"^{_CURRENCY}\s*|\s*{_CURRENCY}$", re.IGNORECASE)
# Ways of writing "none": one or more dashes of any width, or a lone x.
_ZERO_RE = re.compile(r"[-–—−]+|[xX]")
_NEGATIVE_RE = re.compile(r"[-–—−]\s*[0-9OolISB|]")
# Letters OCR produces for digits. "O"/"o" is handled apart: never as first character.
_SUBSTITUTIONS = str.maketrans(
    {"O": "0", "o": "0", "l": "1", "I": "1", "|": "1", "S": "5", "B": "8"}
)
_DIGITS = frozenset("0123456789")
# Spaces a clerk or a PDF may use between thousands; a line break is not one of them,
# since two lines in a cell are usually a number and its correction.
_HSPACE = "[ \t\u00a0\u2007\u2009\u202f]"
# A thousands separator: "." or "," (optionally with one space around it) or one space.
_SEPARATOR_RE = re.compile(rf"({_HSPACE}?[.,]{_HSPACE}?|{_HSPACE})")


@dataclass(frozen=True)
class ParsedNumber:
    """What a cell's text means as a number.

    Invariants: ``value`` is None when ``is_blank`` or not ``is_valid``; a valid,
    non-blank result has a value >= 0. ``reasons`` is empty for a clean read, holds
    ``ocr_substitution`` for a valid but corrected read, and the refusal reason when
    ``is_valid`` is False.
    """

    value: int | None
    is_blank: bool
    is_valid: bool
    reasons: tuple[str, ...] = ()


_BLANK = ParsedNumber(value=None, is_blank=True, is_valid=True)


def _invalid(reason: str) -> ParsedNumber:
    return ParsedNumber(value=None, is_blank=False, is_valid=False, reasons=(reason,))


def parse_number(text: str) -> ParsedNumber:
    """Parse one cell's text following the conventions in the module docstring.

    Never raises; every refusal is a ParsedNumber with ``is_valid=False`` and a reason.
    """
    body = _strip_decoration(unicodedata.normalize("NFC", text))
    if not body:
        return _BLANK
    if _ZERO_RE.fullmatch(body):
        return ParsedNumber(value=0, is_blank=False, is_valid=True)
    if _NEGATIVE_RE.match(body):
        return _invalid(NEGATIVE)
    digits_text, is_substituted = _substitute(body)
    if digits_text is None:
        return _invalid(NOT_A_NUMBER)
    digits, reason = _join_groups(digits_text)
    if digits is None:
        return _invalid(reason or BAD_GROUPING)
    digits = digits.lstrip("0") or "0"
    if len(digits) > MAX_DIGITS:
        return _invalid(TOO_LONG)
    reasons = (OCR_SUBSTITUTION,) if is_substituted else ()
    return ParsedNumber(value=int(digits), is_blank=False, is_valid=True, reasons=reasons)


def format_vn(value: int) -> str:
    """Write an integer the Vietnamese way, "." between thousands: 12500000 -> "12.500.000"."""
    return f"{value:,}".replace(",", ".")


def _strip_decoration(text: str) -> str:
    """Drop whitespace, border noise, currency words and trailing marks at both ends."""
    previous = None
    while text != previous:
        previous = text
        text = text.strip().strip(_BORDER_CHARS).rstrip(_TRAILING_MARKS)
        text = _CURRENCY_RE.sub("", text)
    return text


def _substitute(body: str) -> tuple[str | None, bool]:
    """Map OCR look-alike letters to digits; None if the text is not a number at all.

    Returns the text with digits and separators only, and whether any letter was mapped.
    """
    if not _DIGITS.intersection(body) or body[0] in "Oo":
        return None, False
    mapped = body.translate(_SUBSTITUTIONS)
    if any(c not in _DIGITS and c not in ".," and not c.isspace() for c in mapped):
        return None, False
    return mapped, mapped != body


def _join_groups(text: str) -> tuple[str | None, str | None]:
    """Check the thousands grouping of digits and separators; return (digits, reason)."""
    parts = _SEPARATOR_RE.split(text)
    groups, separators = parts[0::2], [s.strip() for s in parts[1::2]]
    if not all(g and _DIGITS.issuperset(g) for g in groups):
        return None, BAD_GROUPING  # empty group ("1..5", two spaces) or a line break
    if len(groups) == 1:
        return groups[0], None
    marks = [s for s in separators if s]
    last = separators[-1]
    if len(set(marks)) > 1:
        # "1.234,5" or "1,234.5": the last, different mark is a decimal mark.
        return None, NOT_INTEGER if last and marks.count(last) == 1 else BAD_GROUPING
    # One mark followed by one or two digits ("1.5", "12,50"), or a first group of 0
    # before a single mark ("0.500"), is how decimals are written.
    is_single_mark = bool(last) and marks.count(last) == 1
    if is_single_mark and (len(groups[-1]) < 3 or groups[0].startswith("0")):
        return None, NOT_INTEGER
    if groups[0].startswith("0"):
        return None, BAD_GROUPING
    if len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]):
        return "".join(groups), None
    return None, BAD_GROUPING


@dataclass(frozen=True)
class SpilledNumber:
    """A long amount read from two neighbouring cells as one number.

    ``is_sure`` is True when a half cannot stand alone as a number (``.000``,
    ``172.1``), or the join is inside a thousands group (the left half ends with a
    separator, or the right one starts with one or with a leading zero): then the
    two cells hold one number. Two halves that are each a plain number may as well
    be two numbers a clerk wrote in the wrong row, so that join is only proposed.
    """

    value: int
    text: str
    is_sure: bool


def join_spilled(left: str, right: str) -> SpilledNumber | None:
    """The number two cells make together, when their joined text has valid grouping.

    Amounts in đồng ("172.100.000 đồng") run across both sub-columns of a single-value
    row and were read as two numbers. A join is offered only when it has at least one
    thousands separator and parses as a whole number: that grouping is what joins the
    halves, so "12" and "5" never become 125.
    """
    left_body, right_body = left.strip(), right.strip()
    if not left_body or not right_body:
        return None
    joined = left_body + right_body
    parsed = parse_number(joined)
    if not (parsed.is_valid and parsed.value is not None) or not re.search(r"\d[.,\s]\d", joined):
        return None
    halves = (parse_number(left_body), parse_number(right_body))
    is_inside_group = (
        left_body[-1] in ".," or right_body[0] in ".," or bool(re.match(r"0\d", right_body))
    )
    is_sure = is_inside_group or not all(h.is_valid and not h.is_blank for h in halves)
    return SpilledNumber(value=parsed.value, text=joined, is_sure=is_sure)
