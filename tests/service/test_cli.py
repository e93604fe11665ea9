"""``formscan unit add|import``, ``campaign add``, ``user add`` on the configured database."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.cli import main
from service.models import Unit, User
from service.settings import get_settings


def test_main_unit_and_campaign_add(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FORMSCAN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FORMSCAN_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        assert main(["unit", "add", "D1", "Phòng GD&ĐT", "--kind", "district"]) == 0
        assert main(["unit", "add", "S1", "Trường A", "--kind", "school", "--parent", "D1"]) == 0
        assert main(["unit", "add", "S2", "Trường B", "--kind", "school", "--parent", "X"]) == 2
        assert main(["campaign", "add", "LLW 2022", "--year", "2022", "--unit", "S1"]) == 0
        assert main(["campaign", "add", "x", "--year", "2022", "--layout", "nope"]) == 4
    finally:
        get_settings.cache_clear()
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[1]["parent_code"] == "D1"
    assert lines[2]["expected_unit_codes"] == ["S1"]
    assert "unknown_unit" in err
    assert "unknown_layout" in err


def test_main_user_add_and_unit_import(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FORMSCAN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FORMSCAN_DATABASE_URL", db_url)
    units = tmp_path / "units.csv"
    # Children before their parents; the province comes last.
    units.write_text(
        "code,name,kind,parent_code\nA1,Trường A1,school,A\nA,Phòng A,district,P\nP,Sở,province,\n",
        encoding="utf-8",
    )
    update = tmp_path / "update.csv"
    update.write_text(
        "code,name,kind,parent_code\nA1,Trường A1 mới,school,B\nB,Phòng B,district,P\n"
        "P,Sở,province,\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,kind,parent_code\nX1,x,school,NOPE\n", encoding="utf-8")
    get_settings.cache_clear()
    try:
        assert main(["unit", "import", str(units)]) == 0
        assert main(["unit", "import", str(update)]) == 0
        assert main(["unit", "import", str(bad)]) == 2
        monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
        assert (
            main(["user", "add", "rev", "--role", "reviewer", "--unit", "P", "--password-stdin"])
            == 0
        )
        monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
        assert (
            main(["user", "add", "root", "--role", "admin", "--unit", "P", "--password-stdin"]) == 2
        )
        monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal, no --password-stdin
        assert main(["user", "add", "x", "--role", "admin"]) == 2
        with _session() as session:
            tree = {
                u.code: (u.name, u.parent.code if u.parent else None)
                for u in session.scalars(select(Unit))
            }
            user = session.scalars(select(User)).one()
    finally:
        get_settings.cache_clear()
    out, err = capsys.readouterr()
    counts = [json.loads(line) for line in out.splitlines()[:2]]
    assert counts[0] == {"created": 3, "updated": 0, "unchanged": 0}
    assert counts[1] == {"created": 1, "updated": 1, "unchanged": 1}
    assert tree == {
        "P": ("Sở", None),
        "A": ("Phòng A", "P"),
        "B": ("Phòng B", "P"),
        "A1": ("Trường A1 mới", "B"),
    }
    assert (user.username, user.role, user.password_hash[:10]) == ("rev", "reviewer", "$argon2id$")
    assert "unknown_unit" in err and "unit_not_allowed" in err and "password_required" in err


def _session() -> Session:
    from service.db import create_db_engine, make_session_factory

    return make_session_factory(create_db_engine(get_settings().database_url))()


def test_ensure_first_admin_creates_once_with_private_password(tmp_path: Path) -> None:
    import stat

    from service import auth
    from service.db import create_db_engine, make_session_factory, upgrade_database
    from service.settings import Settings

    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'f.db'}")
    engine = create_db_engine(settings.database_url)
    upgrade_database(engine)
    with make_session_factory(engine)() as session:
        path = auth.ensure_first_admin(session, settings)
        session.commit()
        assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o600
        password = path.read_text(encoding="ascii").strip()
        user = auth.authenticate(session, "admin", password)
        assert user.role == "admin"
        assert auth.ensure_first_admin(session, settings) is None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("bench", "accuracy"),
        ("calibrate", "calibrate"),
        ("bench-throughput", "throughput"),
        ("bench-load", "load"),
    ],
)
def test_main_moved_tool_command_one_line_hint(
    old: str, new: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([old, "samples/llw-summary-2022"]) == 2
    err = capsys.readouterr().err
    assert err == f"formscan: moved: run `python -m bench {new} …` from a source checkout\n"
