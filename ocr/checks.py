"""Rules of the form applied to readings: flag doubtful numbers, never change them.

A layout lists its rules in ``checks`` and its plausible ranges in ``fields``, rows'
``max`` and ``values``; this module only interprets them, so no form is written here.
A failing rule adds a reason to every reading involved and sets its status to
``needs_review``, because a reviewer must see all the numbers that disagree (in a sum
mismatch, any addend or the total may be the misread one). Values are untouched:
which number is wrong is a person's decision.

Reasons added (stable strings, shown in the review queue and exports):

- ``sum_mismatch``: a total differs from the sum of its present parts. Blank parts
  count as 0; a blank total, or a total with every part blank, is not checked, since
  leaving cells blank is a unit's choice.
- ``<greater>_lt_<lesser>``: in one row, ``greater`` < ``lesser`` (our form:
  ``people_lt_count``, fewer people than classes). The name comes from the layout's
  field keys so that it stays true for any form.
- ``zero_with_positive``: in one row, ``zero`` is 0 while ``positive`` > 0.
- ``out_of_range``: below the field's (or the layout's) minimum or above its maximum.

Readings that take no part: ``empty`` ones (a blank cell is never flagged), and any
whose value is None. ``unreadable`` readings get the reasons but keep their status,
which already sends them to review and says more than ``needs_review`` would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from ocr.confidence import TEXT_LAYER, Evidence, probability, with_sum_support
from ocr.layout import CompareCheck, Layout, SumCheck, ZeroWithPositiveCheck
from ocr.reasons import Reason
from ocr.types import Reading, ReadingStatus

SUM_MISMATCH = Reason.SUM_MISMATCH
ZERO_WITH_POSITIVE = Reason.ZERO_WITH_POSITIVE
OUT_OF_RANGE = Reason.OUT_OF_RANGE

# Reasons whose names do not depend on the layout. Comparison reasons are named after
# the layout's fields (see compare_reason); rule_reasons(layout) gives the full set.
RULE_REASONS = frozenset({SUM_MISMATCH, ZERO_WITH_POSITIVE, OUT_OF_RANGE})
# Reasons that only explain a low confidence (the same set as ``ocr.pipeline``'s): a
# reading carrying nothing else may be accepted once arithmetic supports it.
EXPLANATORY = frozenset({Reason.READS_DISAGREE, Reason.OCR_SUBSTITUTION})

# (row_key, field) -> (position in the readings, value) for readings with a value.
_Present = dict[tuple[str, str], tuple[int, int]]
# A flag: position of the reading and the reason to add.
_Flag = tuple[int, str]


def compare_reason(check: CompareCheck) -> str:
    """Reason for a failed ``greater_or_equal`` check, e.g. ``people_lt_count``."""
    return f"{check.greater}_lt_{check.lesser}"


def rule_reasons(layout: Layout) -> frozenset[str]:
    """Every reason ``apply_checks`` can add for this layout."""
    compared = {compare_reason(c) for c in layout.checks if isinstance(c, CompareCheck)}
    return RULE_REASONS | compared


def apply_checks(readings: Sequence[Reading], layout: Layout) -> list[Reading]:
    """Return the readings, in order, with the layout's rules applied.

    Each failing rule adds its reason (once) to the readings involved and sets their
    status to ``needs_review`` (``unreadable`` stays as is). Values never change.
    Readings for rows the layout does not know pass through untouched; if a
    (row_key, field) occurs twice, only the first occurrence takes part.
    """
    present = _present_values(readings)
    reasons: dict[int, list[str]] = {}
    for position, reason in _all_flags(present, layout):
        reasons.setdefault(position, []).append(reason)
    return [_add_reasons(r, reasons.get(i, [])) for i, r in enumerate(readings)]


def recheck(readings: Sequence[Reading], layout: Layout) -> list[Reading]:
    """Apply the rules again after a correction, dropping the flags they added before.

    A reading that loses rule reasons gets its status back: ``ok`` when no reason is
    left and it has a value, ``empty`` when it has neither value nor text, otherwise
    unchanged. Readings that had no rule reason keep their status, whatever other
    doubt put it there.
    """
    known = rule_reasons(layout)
    return apply_checks([_clear_reasons(r, known) for r in readings], layout)


def _present_values(readings: Sequence[Reading]) -> _Present:
    present: _Present = {}
    for i, reading in enumerate(readings):
        key = (reading.row_key, reading.field)
        if reading.status == ReadingStatus.EMPTY or reading.value is None or key in present:
            continue
        present[key] = (i, reading.value)
    return present


def _all_flags(present: _Present, layout: Layout) -> Iterator[_Flag]:
    for check in layout.checks:
        if isinstance(check, SumCheck):
            yield from _sum_flags(present, check)
        elif isinstance(check, CompareCheck):
            yield from _compare_flags(present, layout, check)
        else:
            yield from _zero_flags(present, layout, check)
    yield from _range_flags(present, layout)


def _sum_flags(present: _Present, check: SumCheck) -> Iterator[_Flag]:
    for field in check.fields:
        total = present.get((check.total, field))
        parts = [p for key in check.parts if (p := present.get((key, field))) is not None]
        if total is None or not parts:
            continue
        if total[1] != sum(value for _, value in parts):
            # Only the total is flagged: it cannot be confirmed without looking at the
            # parts, and the mismatch stays until they add up (``recheck``), whereas
            # flagging every part sent a whole block to review for one clerk's slip.
            yield total[0], SUM_MISMATCH


def _row_pairs(
    present: _Present, layout: Layout, first: str, second: str
) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
    """Both present (position, value) of ``first`` and ``second`` in each row having both."""
    for row in layout.rows:
        if first not in row.fields or second not in row.fields:
            continue
        a, b = present.get((row.key, first)), present.get((row.key, second))
        if a is not None and b is not None:
            yield a, b


def _compare_flags(present: _Present, layout: Layout, check: CompareCheck) -> Iterator[_Flag]:
    reason = compare_reason(check)
    for greater, lesser in _row_pairs(present, layout, check.greater, check.lesser):
        if greater[1] < lesser[1]:
            yield greater[0], reason
            yield lesser[0], reason


def _zero_flags(present: _Present, layout: Layout, check: ZeroWithPositiveCheck) -> Iterator[_Flag]:
    for zero, positive in _row_pairs(present, layout, check.zero, check.positive):
        if zero[1] == 0 and positive[1] > 0:
            yield zero[0], ZERO_WITH_POSITIVE
            yield positive[0], ZERO_WITH_POSITIVE


def _range_flags(present: _Present, layout: Layout) -> Iterator[_Flag]:
    rows = {row.key: row for row in layout.rows}
    for (row_key, field), (position, value) in present.items():
        row = rows.get(row_key)
        if row is None or field not in row.fields:
            continue
        low = max(layout.fields[field].min, layout.values.min)
        if value < low or value > layout.field_max(row, field):
            yield position, OUT_OF_RANGE


def _add_reasons(reading: Reading, new: list[str]) -> Reading:
    if not new or reading.status == ReadingStatus.EMPTY:
        return reading
    reasons = list(reading.reasons)
    reasons.extend(r for r in dict.fromkeys(new) if r not in reasons)
    status = reading.status
    if status != ReadingStatus.UNREADABLE:
        status = ReadingStatus.NEEDS_REVIEW
    return replace(reading, reasons=tuple(reasons), status=status)


def _clear_reasons(reading: Reading, known: frozenset[str]) -> Reading:
    kept = tuple(r for r in reading.reasons if r not in known)
    if kept == reading.reasons:
        return reading
    status = reading.status
    if not kept and reading.value is not None:
        status = ReadingStatus.OK
    elif reading.value is None and not reading.text.strip():
        status = ReadingStatus.EMPTY
    return replace(reading, reasons=kept, status=status)


def support_by_arithmetic(readings: Sequence[Reading], layout: Layout) -> list[Reading]:
    """Readings of totals that add up, with that agreement as evidence; values untouched.

    When a total equals the sum of its parts and every part was read (a value or a
    sure blank; not unreadable, doubtful or missing), a misread among them would have
    to be cancelled by another: the readings of such a group get their bucket suffixed ``+sum``
    (``ocr.confidence.SUM_SUPPORT``), a curve calibration fits apart. A reading whose
    only doubt was a low confidence is accepted when the supported confidence reaches
    the layout's threshold; a veto (``engines_disagree``) or any other reason stays.
    """
    present = _present_values(readings)
    supported: set[int] = set()
    for check in layout.checks:
        if isinstance(check, SumCheck):
            supported.update(_adding_up(readings, present, check))
    out = list(readings)
    for i in supported:
        if readings[i].bucket != TEXT_LAYER:  # exact already: nothing to support
            out[i] = _supported(readings[i], min_confidence=layout.review.min_confidence)
    return out


def _adding_up(readings: Sequence[Reading], present: _Present, check: SumCheck) -> list[int]:
    """Positions of the readings of each field's total and parts, where they all add up.

    Every part must be read: a value, or a blank sure enough to be ``empty`` (it
    counts 0 and is not supported itself). Readings without a bucket (a person's
    correction, a test's fake) carry no engine evidence and stop the support.
    """
    empty = {(r.row_key, r.field) for r in readings if r.status == ReadingStatus.EMPTY}
    positions: list[int] = []
    for field in check.fields:
        total = present.get((check.total, field))
        keys = [(key, field) for key in check.parts]
        if total is None or any(k not in present and k not in empty for k in keys):
            continue
        read = [present[k] for k in keys if k in present]
        group = [total[0], *(i for i, _ in read)]
        if read and all(readings[i].bucket for i in group) and total[1] == sum(v for _, v in read):
            positions += group
    return positions


def _supported(reading: Reading, *, min_confidence: float) -> Reading:
    evidence = Evidence(with_sum_support(reading.bucket), reading.score)
    confidence = round(max(reading.confidence, probability(evidence)), 4)
    status, reasons = reading.status, reading.reasons
    only_low = all(r == Reason.LOW_CONFIDENCE or r in EXPLANATORY for r in reasons)
    if status == ReadingStatus.NEEDS_REVIEW and only_low and confidence >= min_confidence:
        status, reasons = ReadingStatus.OK, ()
    return replace(
        reading, bucket=evidence.bucket, confidence=confidence, status=status, reasons=reasons
    )
