"""Match the grid to the layout: which grid row is which form row, which column is which.

Rows are matched by their printed text, never by position: the text of each grid
row (row number + activity label) is compared with every layout label and alias,
and a monotone alignment (like aligning two sequences) picks the best assignment in
printed order. Order breaks ties between similar labels ("Tập thể" under row 9 vs
"Số tập thể tặng sách" under row 4); skipping is free on both sides, so deleted,
inserted and header rows never shift values. A row printed out of order is still
taken when its text is unmistakable. Rows that match nothing become warnings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from ocr.layout import Column, Layout
from ocr.text import fold, prefix_similarity, similarity, strip_row_number
from ocr.types import Grid, MatchedRow

# A row out of printed order is accepted only above this similarity.
OUT_OF_ORDER_MIN_SIMILARITY = 0.88
# A match is trusted without reading the whole label above this similarity, when no
# other label comes within RIVAL_MARGIN of it.
CONFIDENT_SIMILARITY = 0.85
RIVAL_MARGIN = 0.08
# Rows whose folded text is shorter than this carry no label (blank or numbers only).
MIN_TEXT_LETTERS = 3
# Extra credit, in similarity units, for a header text matching a column name; an
# unmatched grid column costs nothing, a skipped required layout column costs a lot.
COLUMN_MATCH_BONUS = 0.5
SKIP_REQUIRED_COST = 5.0


@dataclass(frozen=True)
class RowText:
    """The text read in one grid row's label region."""

    page_index: int
    grid_row: int
    text: str


def label_column(grid: Grid) -> int:
    """The activity label column: the widest column of the table.

    Labels are sentences; every other column holds a number, a unit or a short note.
    """
    widths = np.diff(grid.col_edges_px)
    return int(np.argmax(widths))


def match_rows(rows: Sequence[RowText], layout: Layout) -> tuple[list[MatchedRow], list[str]]:
    """Assign grid rows to layout rows; return the matches and warnings about extra rows."""
    observed = [fold(strip_row_number(r.text)) for r in rows]
    targets = [[fold(label) for label in row.labels] for row in layout.rows]
    scores = _score_matrix(observed, targets)
    threshold = layout.table.label_match.min_similarity
    pairs = _align(scores, threshold)
    pairs += _out_of_order(scores, pairs)
    pairs += _by_position(pairs, observed)
    matches = [
        MatchedRow(
            row_key=layout.rows[j].key,
            page_index=rows[i].page_index,
            grid_row=rows[i].grid_row,
            similarity=float(scores[i, j]),
            text=rows[i].text,
        )
        for i, j in sorted(pairs)
    ]
    return matches, _extra_row_warnings(rows, observed, pairs)


def uncertain_rows(
    rows: Sequence[RowText], layout: Layout, matches: Sequence[MatchedRow]
) -> list[int]:
    """Indices of rows whose text is worth reading in full before trusting the match.

    Rows are read first by a short prefix, and labels that begin alike ("Bồi dưỡng
    nâng cao ...") cannot be told apart by it. A match is an *anchor* when it is
    strong and no other label comes close. Between two consecutive anchors, rows are
    certain when every one of them matched and their number equals the number of
    layout rows between the anchors: order alone then decides, and it is right.
    Everything else with text (unmatched rows, segments with a row deleted, added or
    merged) is uncertain.
    """
    observed = [fold(strip_row_number(r.text)) for r in rows]
    targets = [[fold(label) for label in row.labels] for row in layout.rows]
    scores = _score_matrix(observed, targets)
    index = {row.key: j for j, row in enumerate(layout.rows)}
    position = {(r.page_index, r.grid_row): i for i, r in enumerate(rows)}
    matched = {position[(m.page_index, m.grid_row)]: index[m.row_key] for m in matches}
    anchors = sorted((i, j) for i, j in matched.items() if _is_anchor(scores, i, j))
    bounds = [(-1, -1), *anchors, (len(rows), len(layout.rows))]
    uncertain: list[int] = []
    for (ia, ja), (ib, jb) in pairwise(bounds):
        between = [
            i for i in range(ia + 1, ib) if len(observed[i].replace(" ", "")) >= MIN_TEXT_LETTERS
        ]
        is_forced = len(between) == jb - ja - 1 and all(i in matched for i in between)
        if not is_forced:
            uncertain += between
    return uncertain


def best_label_similarity(text: str, layout: Layout) -> float:
    """How well a text fits the layout label it fits best (0 for no text)."""
    observed = fold(strip_row_number(text))
    if len(observed.replace(" ", "")) < MIN_TEXT_LETTERS:
        return 0.0
    return max(
        prefix_similarity(observed, fold(label)) for row in layout.rows for label in row.labels
    )


def _is_anchor(scores: np.ndarray, i: int, j: int) -> bool:
    rivals = np.delete(scores[i], j)
    best_rival = float(rivals.max()) if len(rivals) else 0.0
    return bool(scores[i, j] >= CONFIDENT_SIMILARITY and best_rival < scores[i, j] - RIVAL_MARGIN)


def _score_matrix(observed: list[str], targets: list[list[str]]) -> np.ndarray:
    scores = np.zeros((len(observed), len(targets)))
    for i, text in enumerate(observed):
        if len(text.replace(" ", "")) < MIN_TEXT_LETTERS:
            continue
        for j, labels in enumerate(targets):
            scores[i, j] = max(prefix_similarity(text, label) for label in labels)
    return scores


def _align(scores: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Monotone alignment maximising the summed margin above the threshold."""
    n, m = scores.shape
    gain = np.where(scores >= threshold, scores - threshold + 0.01, -np.inf)
    best = np.zeros((n + 1, m + 1))
    move = np.zeros((n + 1, m + 1), dtype=np.int8)  # 0 skip grid row, 1 skip layout row, 2 match
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            options = (best[i - 1, j], best[i, j - 1], best[i - 1, j - 1] + gain[i - 1, j - 1])
            k = int(np.argmax(options))
            best[i, j], move[i, j] = options[k], k
    pairs: list[tuple[int, int]] = []
    i, j = n, m
    while i > 0 and j > 0:
        if move[i, j] == 2:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif move[i, j] == 0:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def _by_position(pairs: list[tuple[int, int]], observed: list[str]) -> list[tuple[int, int]]:
    """Rows whose label could not be read, placed by order between two matched rows.

    Only where the gap holds exactly as many grid rows as layout rows, none of them
    with a readable label (a stamp over the label, a cut line): then the printed order
    is the only possible assignment. Anything else stays unmatched and is reported.
    """
    ordered = sorted(pairs)
    extra: list[tuple[int, int]] = []
    for (ia, ja), (ib, jb) in pairwise(ordered):
        gap = range(ia + 1, ib)
        if len(gap) == 0 or len(gap) != jb - ja - 1:
            continue
        if all(len(observed[i].replace(" ", "")) < MIN_TEXT_LETTERS for i in gap):
            extra += [(i, ja + 1 + k) for k, i in enumerate(gap)]
    return extra


def _out_of_order(scores: np.ndarray, pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Unmistakable matches the ordered alignment could not take (rows printed out of order)."""
    used_rows = {i for i, _ in pairs}
    used_labels = {j for _, j in pairs}
    extra: list[tuple[int, int]] = []
    candidates = np.argwhere(scores >= OUT_OF_ORDER_MIN_SIMILARITY)
    for i, j in sorted(candidates.tolist(), key=lambda ij: -scores[ij[0], ij[1]]):
        if i in used_rows or j in used_labels:
            continue
        if scores[i, j] < scores[i].max() or scores[i, j] < scores[:, j].max():
            continue  # ambiguous: something else fits better
        extra.append((i, j))
        used_rows.add(i)
        used_labels.add(j)
    return extra


def _extra_row_warnings(
    rows: Sequence[RowText], observed: list[str], pairs: list[tuple[int, int]]
) -> list[str]:
    """Printed rows inside the table body that match no layout row."""
    matched = sorted(i for i, _ in pairs)
    if not matched:
        return []
    warnings = []
    for i in range(matched[0], matched[-1] + 1):
        if i in matched or len(observed[i].replace(" ", "")) < MIN_TEXT_LETTERS:
            continue
        r = rows[i]
        text = " ".join(r.text.split())[:80]
        warnings.append(
            f"page {r.page_index + 1}, table row {r.grid_row + 1}: "
            f"'{text}' matches no row of the form and was not read"
        )
    return warnings


def map_columns(
    grid: Grid, header_texts: dict[int, str], layout: Layout, *, label_col: int
) -> dict[str, int]:
    """Map layout column keys to grid column indices for the columns right of the label.

    Header text decides when it is there; without it (a continuation page with no
    repeated header) the printed order decides, leaving out optional columns last.
    """
    layout_cols = _columns_after_label(layout)
    grid_cols = list(range(label_col + 1, grid.n_cols))
    scores = np.zeros((len(grid_cols), len(layout_cols)))
    for a, g in enumerate(grid_cols):
        text = fold(header_texts.get(g, ""))
        if text:
            for b, col in enumerate(layout_cols):
                scores[a, b] = max(similarity(text, fold(name)) for name in col.names)
    mapping = _align_columns(scores, layout_cols)
    result = {layout_cols[b].key: grid_cols[a] for a, b in mapping}
    result[layout.table.columns[_label_index(layout)].key] = label_col
    return result


def _columns_after_label(layout: Layout) -> list[Column]:
    return list(layout.table.columns[_label_index(layout) + 1 :])


def _label_index(layout: Layout) -> int:
    return next(i for i, c in enumerate(layout.table.columns) if c.role == "label")


def _align_columns(scores: np.ndarray, cols: list[Column]) -> list[tuple[int, int]]:
    """Ordered assignment of grid columns (rows of ``scores``) to layout columns."""
    n, m = scores.shape
    best = np.full((n + 1, m + 1), -np.inf)
    best[0, 0] = 0.0
    back: dict[tuple[int, int], tuple[int, int]] = {}
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 and j == 0:
                continue
            options: list[tuple[float, tuple[int, int]]] = []
            if i > 0:  # grid column i-1 left unassigned (an extra column)
                options.append((best[i - 1, j] - 0.05, (i - 1, j)))
            if j > 0:  # layout column j-1 absent from the page
                cost = 0.2 if cols[j - 1].optional else SKIP_REQUIRED_COST
                options.append((best[i, j - 1] - cost, (i, j - 1)))
            if i > 0 and j > 0:
                gain = COLUMN_MATCH_BONUS + scores[i - 1, j - 1]
                options.append((best[i - 1, j - 1] + gain, (i - 1, j - 1)))
            value, prev = max(options, key=lambda o: o[0])
            best[i, j], back[(i, j)] = value, prev
    pairs: list[tuple[int, int]] = []
    i, j = n, m
    while (i, j) != (0, 0):
        pi, pj = back[(i, j)]
        if pi == i - 1 and pj == j - 1:
            pairs.append((i - 1, j - 1))
        i, j = pi, pj
    return pairs[::-1]
