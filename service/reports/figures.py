"""Totals as figures: the one conversion of the totals frame both the API and pages use.

``export.totals`` computes the totals with pandas; a ``Total`` is one cell of it as
plain Python values, with the rule that a total nobody reported is None (an empty
cell), never 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocr.layout import Layout
from service.reports import export
from service.reports.aggregate import Facts


@dataclass(frozen=True)
class Total:
    """One field's total over one group (a district or province code)."""

    group: str
    row_key: str
    field: str
    total: int | None  # None: nobody reported the field
    n_reported: int
    n_submitted: int
    n_expected: int
    includes_unreviewed: bool


def totals_of(facts: Facts, layout: Layout, *, by: str) -> list[Total]:
    """Every (group, row, field) total of ``facts``, in the frame's (the layout's) order."""
    frame = export.totals(facts, layout, by=by)
    return [
        Total(
            group=group,
            row_key=row_key,
            field=field,
            total=int(t["total"]) if t["n_reported"] else None,
            n_reported=int(t["n_reported"]),
            n_submitted=int(t["n_submitted"]),
            n_expected=int(t["n_expected"]),
            includes_unreviewed=bool(t["includes_unreviewed"]),
        )
        for (group, row_key, field), t in frame.iterrows()
    ]
