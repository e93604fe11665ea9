"""Totals, completeness, sources, charts, CSV and XLSX on a tree with known values.

Province P -> districts D1 (S11, S12, S13) and D2 (S21, S22, S23, S24); readings are
written directly (no OCR). Only the values below are reported; every other field of
the layout is blank. Deadline 2022-10-10 (Vietnamese time, UTC+7).

    unit  latest status        first submitted     1.total c/p   2     10.1 (đồng)
    S11   clean                on time             3 / 120       5     350 000 000   (1.01 people 0)
    S12   clean (=HYPERLINK)   on time             2 / blank     0     250 000 000
    S13   needs_review         on time             7 / 70        -     100 000 000
    S21   clean                late (00:30 +07)    1 / 10        -     900 000 000
    S22   v1 clean, v2 review  v1 on time          v2: 4 / -     -     v2: 123 456 789
    S23   failed               on time
    S24   nothing
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from ocr.layout import load_layout
from service import store
from service.app import create_app
from service.cli import main
from service.models import Reading, Role, SubmissionStatus
from service.reports.export import CSV_COLUMNS
from service.settings import get_settings
from tests.service.conftest import add_user, bearer_token, make_settings

LAYOUT = load_layout("llw-summary-2022")
HYPERLINK = '=HYPERLINK("http://evil.example","x")'
ON_TIME = datetime(2022, 10, 10, 16, 0, tzinfo=UTC)  # 23:00 in Vietnam
LATE = datetime(2022, 10, 10, 17, 30, tzinfo=UTC)  # 00:30 on the 11th in Vietnam
SCHOOLS = {
    "S11": "D1",
    "S12": "D1",
    "S13": "D1",
    "S21": "D2",
    "S22": "D2",
    "S23": "D2",
    "S24": "D2",
}
VALUES = {
    "S11": {
        ("1.total", "count"): 3,
        ("1.total", "people"): 120,
        ("1.01", "people"): 0,
        ("2", "value"): 5,
        ("10.1", "value"): 350_000_000,
    },
    "S12": {("1.total", "count"): 2, ("2", "value"): 0, ("10.1", "value"): 250_000_000},
    "S13": {("1.total", "count"): 7, ("1.total", "people"): 70, ("10.1", "value"): 100_000_000},
    "S21": {("1.total", "count"): 1, ("1.total", "people"): 10, ("10.1", "value"): 900_000_000},
    "S22v1": {("1.total", "count"): 100},
    "S22": {("1.total", "count"): 4, ("10.1", "value"): 123_456_789},
}


@dataclass
class Tree:
    client: TestClient
    sessions: sessionmaker[Session]
    campaign_id: int
    submission_ids: dict[str, int]

    def get(self, url: str, **kwargs: object) -> object:
        response = self.client.get(url, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text
        return response


@pytest.fixture
def tree(tmp_path: Path, db_url: str) -> Iterator[Tree]:
    settings = make_settings(tmp_path, db_url, is_runner_enabled=False)
    with TestClient(create_app(settings)) as client:
        sessions: sessionmaker[Session] = client.app.state.sessions  # type: ignore[attr-defined]
        yield build_tree(client, sessions)


def build_tree(client: TestClient, sessions: sessionmaker[Session]) -> Tree:
    rows = [store.UnitRow("P", "Sở GD&ĐT Bến Tre", "province", None)]
    rows += [store.UnitRow(d, f"Phòng GD&ĐT {d}", "district", "P") for d in ("D1", "D2")]
    rows += [
        store.UnitRow(s, HYPERLINK if s == "S12" else f"Trường {s}", "school", d)
        for s, d in SCHOOLS.items()
    ]
    ids = {}
    with sessions.begin() as session:
        store.import_units(session, rows)
        campaign = store.create_campaign(
            session,
            name="Tuần lễ 2022",
            layout_id=LAYOUT.id,
            year=2022,
            deadline=date(2022, 10, 10),
            expected_unit_codes=list(SCHOOLS),
        )
        plan = [
            ("S11", "S11", SubmissionStatus.CLEAN, ON_TIME),
            ("S12", "S12", SubmissionStatus.CLEAN, ON_TIME),
            ("S13", "S13", SubmissionStatus.NEEDS_REVIEW, ON_TIME),
            ("S21", "S21", SubmissionStatus.CLEAN, LATE),
            ("S22", "S22v1", SubmissionStatus.CLEAN, ON_TIME),
            ("S22", "S22", SubmissionStatus.NEEDS_REVIEW, LATE),
            ("S23", "S23", SubmissionStatus.FAILED, ON_TIME),
        ]
        for unit, key, status, at in plan:
            ids[key] = add_submission(session, unit, campaign.id, key, status, at)
        campaign_id = campaign.id
    add_user(sessions, "admin", Role.ADMIN)
    client.headers["Authorization"] = f"Bearer {bearer_token(sessions, 'admin')}"
    return Tree(client, sessions, campaign_id, ids)


def add_submission(
    session: Session, unit: str, campaign_id: int, key: str, status: str, at: datetime
) -> int:
    files = [store.StoredFile(f"{key}.pdf", key.ljust(64, "0"), "application/pdf", 10)]
    submission, _ = store.create_submission(
        session, unit_code=unit, campaign_id=campaign_id, files=files, attempt_limit=1
    )
    submission.status, submission.created_at = status, at
    if status != SubmissionStatus.FAILED:
        values = VALUES.get(key, {})
        for position, (row_key, field) in enumerate(LAYOUT.field_keys()):
            value = values.get((row_key, field))
            session.add(
                Reading(
                    submission_id=submission.id,
                    position=position,
                    row_key=row_key,
                    field=field,
                    value=value,
                    text="" if value is None else str(value),
                    confidence=0.99,
                    status="empty" if value is None else "ok",
                    reasons=[],
                    page_index=0,
                    box=[10, 10 + position * 20, 40, 18],
                )
            )
    session.flush()
    return submission.id


def totals_of(tree: Tree, query: str) -> dict[tuple[str, str, str], dict[str, object]]:
    body = tree.get(f"/api/aggregates/{tree.campaign_id}?{query}").json()  # type: ignore[attr-defined]
    return {(t["group"], t["row_key"], t["field"]): t for t in body["totals"]}


def figure(
    totals: dict[tuple[str, str, str], dict[str, object]], key: tuple[str, str, str]
) -> tuple:
    t = totals[key]
    return t["total"], t["n_reported"], t["n_expected"], t["includes_unreviewed"]


# --- totals ---------------------------------------------------------------------------


def test_totals_by_district_clean_only(tree: Tree) -> None:
    totals = totals_of(tree, "level=district")
    assert len(totals) == 2 * len(LAYOUT.field_keys())
    assert figure(totals, ("D1", "1.total", "count")) == (5, 2, 3, False)
    assert figure(totals, ("D1", "1.total", "people")) == (120, 1, 3, False)  # S12 blank
    assert figure(totals, ("D1", "1.01", "people")) == (0, 1, 3, False)  # zero, reported
    assert figure(totals, ("D1", "1.01", "count")) == (None, 0, 3, False)  # blank
    assert figure(totals, ("D1", "2", "value")) == (5, 2, 3, False)
    assert figure(totals, ("D1", "10.1", "value")) == (600_000_000, 2, 3, False)
    assert figure(totals, ("D2", "1.total", "count")) == (1, 1, 4, False)  # not S22 v1
    assert figure(totals, ("D2", "10.1", "value")) == (900_000_000, 1, 4, False)
    assert totals[("D1", "1.total", "count")]["n_submitted"] == 2


def test_totals_by_province(tree: Tree) -> None:
    totals = totals_of(tree, "level=province")
    assert figure(totals, ("P", "1.total", "count")) == (6, 3, 7, False)
    assert figure(totals, ("P", "1.total", "people")) == (130, 2, 7, False)
    assert figure(totals, ("P", "10.1", "value")) == (1_500_000_000, 3, 7, False)
    assert figure(totals, ("P", "10.2", "value")) == (None, 0, 7, False)


def test_totals_include_unreviewed_marked(tree: Tree) -> None:
    totals = totals_of(tree, "level=district&include_unreviewed=true")
    assert figure(totals, ("D1", "1.total", "count")) == (12, 3, 3, True)
    assert figure(totals, ("D1", "1.total", "people")) == (190, 2, 3, True)
    assert figure(totals, ("D2", "1.total", "count")) == (5, 2, 4, True)  # S22's latest: 4
    assert figure(totals, ("D2", "10.1", "value")) == (1_023_456_789, 2, 4, True)
    province = totals_of(tree, "level=province&include_unreviewed=true")
    assert figure(province, ("P", "10.1", "value")) == (1_723_456_789, 5, 7, True)


def test_sources_list_readings_behind_figure(tree: Tree) -> None:
    url = f"/api/aggregates/{tree.campaign_id}/D1/1.total/count/sources"
    body = tree.get(url).json()  # type: ignore[attr-defined]
    assert (body["total"], body["n_reported"], body["n_expected"]) == (5, 2, 3)
    sources = {s["unit_code"]: s for s in body["sources"]}
    assert set(sources) == {"S11", "S12", "S13"}
    assert (sources["S11"]["value"], sources["S11"]["is_included"]) == (3, True)
    assert (sources["S13"]["value"], sources["S13"]["is_included"]) == (7, False)
    assert sources["S11"]["submission_id"] == tree.submission_ids["S11"]
    reading_id = sources["S11"]["reading_id"]
    assert sources["S11"]["crop_url"] == f"/api/readings/{reading_id}/crop.png"
    reading = tree.get(f"/api/readings/{reading_id}").json()  # type: ignore[attr-defined]
    assert (reading["row_key"], reading["field"], reading["value"]) == ("1.total", "count", 3)
    missing = tree.get(url.replace("D1", "D2")).json()["missing_unit_codes"]  # type: ignore[attr-defined]
    assert missing == ["S24"]
    assert tree.client.get(url.replace("count/", "nope/")).status_code == 404


# --- completeness ---------------------------------------------------------------------


def test_completeness_by_district(tree: Tree) -> None:
    url = f"/api/campaigns/{tree.campaign_id}/completeness?level=district"
    body = tree.get(url).json()  # type: ignore[attr-defined]
    groups = {g["unit_code"]: g for g in body["groups"]}
    keys = ("expected", "submitted", "clean", "needs_review", "failed", "late")
    assert [groups["D1"][k] for k in keys] == [3, 3, 2, 1, 0, 0]
    assert [groups["D2"][k] for k in keys] == [4, 3, 1, 1, 1, 1]  # S22's v2 late: not late
    assert [m["code"] for m in groups["D2"]["missing"]] == ["S24"]
    assert groups["D1"]["missing"] == []
    assert [body["total"][k] for k in keys] == [7, 6, 3, 2, 1, 1]
    assert body["deadline"] == "2022-10-10"


def test_completeness_by_province(tree: Tree) -> None:
    url = f"/api/campaigns/{tree.campaign_id}/completeness?level=province"
    body = tree.get(url).json()  # type: ignore[attr-defined]
    assert [(g["unit_code"], g["expected"], g["clean"]) for g in body["groups"]] == [("P", 7, 3)]


# --- CSV ------------------------------------------------------------------------------


def test_csv_parses_back_with_bom(tree: Tree) -> None:
    response = tree.get(f"/api/exports/{tree.campaign_id}.csv?level=province")
    data = response.content  # type: ignore[attr-defined]
    assert data.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype={"value": "Int64"})
    assert tuple(frame.columns) == CSV_COLUMNS
    assert len(frame) == 3 * len(LAYOUT.field_keys())  # S11, S12, S21
    assert frame["source_submission"].dtype == "int64"
    reported = frame[frame["value"].notna()]
    got = {
        (r.unit_code, r.row_key, r.field): int(r.value) for r in reported.itertuples(index=False)
    }
    expected = {(u, *k): v for u in ("S11", "S12", "S21") for k, v in VALUES[u].items()}
    assert got == expected
    s12 = frame[frame["unit_code"] == "S12"]
    assert set(s12["unit_name"]) == {"'" + HYPERLINK}
    assert set(s12["district"]) == {"D1"}
    assert set(s12["source_submission"]) == {tree.submission_ids["S12"]}


def test_csv_include_unreviewed_marks_status(tree: Tree) -> None:
    url = f"/api/exports/{tree.campaign_id}.csv?level=district&unit=D2&include_unreviewed=true"
    frame = pd.read_csv(io.BytesIO(tree.get(url).content), dtype={"value": "Int64"})  # type: ignore[attr-defined]
    assert set(frame["unit_code"]) == {"S21", "S22"}
    s22 = frame[frame["unit_code"] == "S22"]
    assert set(s22["submission_status"]) == {"needs_review"}
    assert s22.set_index(["row_key", "field"]).loc[("1.total", "count"), "value"] == 4


# --- XLSX -----------------------------------------------------------------------------


def open_xlsx(tree: Tree, query: str) -> openpyxl.Workbook:
    response = tree.get(f"/api/exports/{tree.campaign_id}.xlsx?{query}")
    return openpyxl.load_workbook(io.BytesIO(response.content))  # type: ignore[attr-defined]


def test_xlsx_summary_shaped_like_form(tree: Tree) -> None:
    book = open_xlsx(tree, "level=province")
    assert book.sheetnames == ["Tổng hợp", "Theo đơn vị", "Theo huyện", "Chưa báo cáo"]
    sheet = book["Tổng hợp"]
    assert sheet["A1"].value == "MẪU TỔNG HỢP SỐ LIỆU KẾT QUẢ TỔ CHỨC TUẦN LỄ"
    assert sheet["A2"].value == "(Kèm theo Báo cáo kết quả tổ chức Tuần lễ)"
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A1:F1", "A5:A6", "B5:B6", "C5:C6", "D5:E5", "F5:F6"} <= merged
    header = [sheet.cell(5, c).value for c in range(1, 7)]
    assert header == ["STT", "Các hoạt động", "Đơn vị", "Số lượng", None, "Ghi chú"]
    assert (sheet["D6"].value, sheet["E6"].value) == ("Số lớp/số cuộc thi", "Người")
    rows = {r.key: 7 + i for i, r in enumerate(LAYOUT.rows)}
    assert [sheet.cell(rows[r.key], 2).value for r in LAYOUT.rows] == [r.label for r in LAYOUT.rows]
    assert [sheet.cell(rows[r.key], 1).value or "" for r in LAYOUT.rows] == [
        r.number for r in LAYOUT.rows
    ]
    assert sheet.cell(rows["1"], 2).font.bold
    assert not sheet.cell(rows["1.01"], 2).font.bold
    total = rows["1.total"]
    assert (sheet.cell(total, 4).value, sheet.cell(total, 5).value) == (6, 130)
    assert sheet.cell(rows["1.01"], 4).value is None  # blank stays blank
    assert sheet.cell(rows["1.01"], 5).value == 0  # zero stays zero
    money = sheet.cell(rows["10.1"], 4)
    assert (money.value, money.number_format) == (1_500_000_000, "#,##0")
    assert sheet.cell(rows["2"], 4).value == 5 and sheet.cell(rows["2"], 5).value is None
    assert sheet.cell(rows["10.1"], 3).value == "đồng"
    assert sheet.print_title_rows == "$5:$6"
    assert sheet.page_setup.orientation == "portrait"
    assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4
    assert sheet.page_setup.fitToWidth == 1


def test_xlsx_units_missing_and_neutralised(tree: Tree) -> None:
    book = open_xlsx(tree, "level=province")
    units = book["Theo đơn vị"]
    codes = [units.cell(1, c).value for c in range(5, 12)]
    assert codes == list(SCHOOLS)
    name = units.cell(2, 6)
    assert name.value == "'" + HYPERLINK and name.data_type == "s"
    field_row = 4 + LAYOUT.field_keys().index(("10.1", "value"))
    assert units.cell(field_row, 1).value == "10.1"
    assert [units.cell(field_row, c).value for c in range(5, 12)] == [
        350_000_000,
        250_000_000,
        None,
        900_000_000,
        None,
        None,
        None,
    ]
    assert all(cell.data_type != "f" for sheet in book.worksheets for row in sheet for cell in row)
    missing = book["Chưa báo cáo"]
    listed = {missing.cell(r, 1).value: missing.cell(r, 4).value for r in range(2, 6)}
    assert listed == {
        "S13": "chưa duyệt xong",
        "S22": "chưa duyệt xong",
        "S23": "phiếu không đọc được",
        "S24": "chưa nộp",
    }
    districts = book["Theo huyện"]
    assert [districts.cell(1, c).value for c in (5, 6)] == ["D1", "D2"]


def test_xlsx_district_with_unreviewed(tree: Tree) -> None:
    book = open_xlsx(tree, "level=district&unit=D1&include_unreviewed=true")
    assert "Theo huyện" not in book.sheetnames
    sheet = book["Tổng hợp"]
    assert "chưa duyệt" in sheet["A3"].value.lower()
    total = 7 + [r.key for r in LAYOUT.rows].index("1.total")
    assert (sheet.cell(total, 4).value, sheet.cell(total, 5).value) == (12, 190)


def test_export_level_mismatch_refused(tree: Tree) -> None:
    response = tree.client.get(f"/api/exports/{tree.campaign_id}.xlsx?level=district&unit=P")
    assert (response.status_code, response.json()["code"]) == (422, "unit_level_mismatch")
    response = tree.client.get(f"/api/exports/{tree.campaign_id}.csv?level=district")
    assert (response.status_code, response.json()["code"]) == (422, "unit_required")


def test_reviewer_export_defaults_to_own_district(tree: Tree) -> None:
    add_user(tree.sessions, "lan", Role.REVIEWER, unit_code="D2")
    headers = {"Authorization": f"Bearer {bearer_token(tree.sessions, 'lan')}"}
    url = f"/api/exports/{tree.campaign_id}.csv?level=district"
    frame = pd.read_csv(io.BytesIO(tree.get(url, headers=headers).content))  # type: ignore[attr-defined]
    assert set(frame["unit_code"]) == {"S21"}
    outside = f"/api/exports/{tree.campaign_id}.csv?level=district&unit=D1"
    assert tree.client.get(outside, headers=headers).status_code == 404


# --- charts and CLI -------------------------------------------------------------------


def test_chart_png(tree: Tree) -> None:
    response = tree.get(f"/api/campaigns/{tree.campaign_id}/charts/10.1.png")
    assert response.headers["content-type"] == "image/png"  # type: ignore[attr-defined]
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")  # type: ignore[attr-defined]
    bad = tree.client.get(f"/api/campaigns/{tree.campaign_id}/charts/1.png")  # a section
    assert bad.status_code == 404


def test_cli_export_csv_and_xlsx(
    tree: Tree, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORMSCAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FORMSCAN_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        base = ["export", "--campaign", str(tree.campaign_id)]
        csv_out, xlsx_out = tmp_path / "p.csv", tmp_path / "d1.xlsx"
        assert main([*base, "--level", "province", "--format", "csv", "--out", str(csv_out)]) == 0
        args = ["--level", "district", "--unit", "D1", "--format", "xlsx", "--out", str(xlsx_out)]
        assert main([*base, *args, "--include-unreviewed"]) == 0
        assert main([*base, "--level", "district", "--format", "csv", "--out", "x"]) == 2
    finally:
        get_settings.cache_clear()
    assert len(pd.read_csv(csv_out)) == 3 * len(LAYOUT.field_keys())
    sheet = openpyxl.load_workbook(xlsx_out)["Tổng hợp"]
    total = 7 + [r.key for r in LAYOUT.rows].index("1.total")
    assert sheet.cell(total, 4).value == 12
