"""Shared fixtures: where the samples are, a skip when Tesseract is missing, golden files."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "llw-summary-2022"


def has_tesseract() -> bool:
    if shutil.which("tesseract") is None:
        return False
    from ocr.tesseract import check_engine

    try:
        check_engine("eng", "vie")
    except Exception:
        return False
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if has_tesseract():
        return
    skip = pytest.mark.skip(reason="tesseract with eng and vie is not installed")
    for item in items:
        if "tesseract" in item.keywords:
            item.add_marker(skip)


def load_truth(name: str) -> dict[str, object]:
    return json.loads((SAMPLES / f"{name}.truth.json").read_text(encoding="utf-8"))


def sample_files(name: str) -> list[Path]:
    truth = load_truth(name)
    return [SAMPLES / f for f in truth["files"]]  # type: ignore[union-attr]


# --- golden files -------------------------------------------------------------------

GOLDEN_DIR = ROOT / "tests" / "golden" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the golden files under tests/golden/data that no longer match",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``golden(name, data, tolerance_px=3)``: compare with or rewrite a golden file.

    The file is ``tests/golden/data/<name>.json``. Integers under keys ending in
    ``_px`` match within ``tolerance_px``; everything else must be equal. With
    ``--update-golden`` a missing or differing file is rewritten (pretty-printed,
    sorted keys, UTF-8) and the test passes; files within tolerance are left alone,
    so the diff shows only real changes.
    """
    from tests.golden.compare import compare, dump

    is_update = bool(request.config.getoption("--update-golden"))

    def check(name: str, data: object, *, tolerance_px: int = 3) -> None:
        path = GOLDEN_DIR / f"{name}.json"
        actual = json.loads(dump(data))
        expected = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
        problems = (
            ["no golden file yet"]
            if expected is None
            else compare(expected, actual, tolerance_px=tolerance_px)
        )
        if not problems:
            return
        if is_update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(dump(data), encoding="utf-8")
            return
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        pytest.fail(
            f"{path.relative_to(ROOT)} differs (tolerance {tolerance_px} px):\n  {shown}{more}\n"
            "If the change is intended: pytest --update-golden, then review the diff.",
            pytrace=False,
        )

    return check
