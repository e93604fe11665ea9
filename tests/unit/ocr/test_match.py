from __future__ import annotations

from ocr.layout import load_layout
from ocr.match import RowText, match_rows, uncertain_rows

LAYOUT = load_layout("llw-summary-2022")


def _rows(labels: list[str]) -> list[RowText]:
    return [RowText(page_index=0, grid_row=i, text=t) for i, t in enumerate(labels)]


def _printed(skip: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    return ["STT Các hoạt động"] + [r.label for r in LAYOUT.rows if r.key not in skip]


def test_match_rows_full_template_in_order() -> None:
    matches, warnings = match_rows(_rows(_printed()), LAYOUT)
    assert [m.row_key for m in matches] == [r.key for r in LAYOUT.rows]
    assert [m.grid_row for m in matches] == list(range(1, len(LAYOUT.rows) + 1))
    assert warnings == []


def test_match_rows_deleted_row_does_not_shift_values() -> None:
    matches, _ = match_rows(_rows(_printed(skip={"1.02"})), LAYOUT)
    by_key = {m.row_key: m.grid_row for m in matches}
    assert "1.02" not in by_key
    assert by_key["1.01"] == 3 and by_key["1.03"] == 4


def test_match_rows_extra_row_becomes_warning() -> None:
    labels = _printed()
    labels.insert(20, "Hoạt động khác của đơn vị tổ chức riêng")
    matches, warnings = match_rows(_rows(labels), LAYOUT)
    assert len(matches) == len(LAYOUT.rows)
    assert len(warnings) == 1 and "Hoạt động khác của đơn vị" in warnings[0]


def test_match_rows_tolerates_ocr_noise_and_typos() -> None:
    labels = _printed()
    labels[labels.index("Trưng bày, triển lãm sách báo, tư liệu")] = (
        "Trung bày, triễn lảm sách bao, tư liêu"
    )
    matches, _ = match_rows(_rows(labels), LAYOUT)
    assert "5.2" in {m.row_key for m in matches}


def test_match_rows_short_labels_by_order() -> None:
    # "Tập thể" and "Cá nhân" (9.1, 9.2) resemble "Số tập thể tặng sách" (4.1) and
    # "Số cá nhân tặng sách" (4.2); printed order must keep them apart.
    matches, _ = match_rows(_rows(_printed()), LAYOUT)
    by_key = {m.row_key: m.text for m in matches}
    assert by_key["9.1"] == "Tập thể" and by_key["4.1"] == "Số tập thể tặng sách"


def test_uncertain_rows_forced_segment_is_certain() -> None:
    # Prefixes of 1.01-1.03 are identical; between strong anchors with matching counts
    # order decides and nothing needs a second reading.
    prefixes = [label[:22] for label in _printed()]
    rows = _rows(prefixes)
    matches, _ = match_rows(rows, LAYOUT)
    doubtful = {rows[i].text for i in uncertain_rows(rows, LAYOUT, matches)}
    assert "Bồi dưỡng nâng cao trì" not in doubtful


def test_uncertain_rows_deleted_row_in_alike_group_is_uncertain() -> None:
    prefixes = [label[:22] for label in _printed(skip={"1.02"})]
    rows = _rows(prefixes)
    matches, _ = match_rows(rows, LAYOUT)
    doubtful = uncertain_rows(rows, LAYOUT, matches)
    assert {rows[i].text for i in doubtful} >= {"Bồi dưỡng nâng cao trì"}


def test_match_rows_unreadable_label_placed_by_order() -> None:
    labels = _printed()
    labels[labels.index(LAYOUT.row("5.4").label)] = ""  # a stamp hides the whole label
    matches, _ = match_rows(_rows(labels), LAYOUT)
    by_key = {m.row_key: m.grid_row for m in matches}
    assert by_key["5.4"] == by_key["5.3"] + 1 == by_key["5.5"] - 1


def test_match_rows_unreadable_label_not_placed_when_counts_differ() -> None:
    labels = _printed(skip={"5.5"})
    labels[labels.index(LAYOUT.row("5.4").label)] = ""
    matches, _ = match_rows(_rows(labels), LAYOUT)
    keys = {m.row_key for m in matches}
    assert "5.4" not in keys and "5.5" not in keys
