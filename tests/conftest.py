"""Shared fixtures: where the samples are, and a skip when Tesseract is missing."""

from __future__ import annotations

import json
import shutil
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
