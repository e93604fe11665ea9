"""The img2table peer returns the benchmark's extraction shape (accuracy is not asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from bench.peer import PeerExtractor, img2table_extractor
from ocr.layout import load_layout
from tests.conftest import SAMPLES

pytest.importorskip("img2table")

pytestmark = pytest.mark.tesseract

LAYOUT = "llw-summary-2022"


@pytest.fixture(scope="module")
def extractor() -> PeerExtractor:
    return img2table_extractor()


def test_one_page_has_every_field_in_layout_order(extractor: PeerExtractor) -> None:
    result = extractor([SAMPLES / "typed-clean-200dpi.png"], LAYOUT)

    assert "error" not in result
    assert result["pages"] == 1
    assert isinstance(result["seconds"], float) and result["seconds"] > 0
    fields = result["fields"]
    assert [(f["row_key"], f["field"]) for f in fields] == load_layout(LAYOUT).field_keys()  # type: ignore[union-attr,index]
    assert len(fields) == 59  # type: ignore[arg-type]
    for f in fields:  # type: ignore[union-attr]
        assert f["value"] is None or (type(f["value"]) is int and f["value"] >= 0)
        assert f["flagged"] is False
    assert any(f["value"] is not None for f in fields)  # type: ignore[union-attr,index]


def test_a_page_without_a_table_is_a_result_not_a_crash(
    extractor: PeerExtractor, tmp_path: Path
) -> None:
    blank = tmp_path / "blank.png"
    Image.new("RGB", (800, 1100), "white").save(blank)

    result = extractor([blank], LAYOUT)

    assert "error" in result
    assert result["pages"] == 1
    fields = result["fields"]
    assert len(fields) == 59  # type: ignore[arg-type]
    assert all(f["value"] is None and f["flagged"] is False for f in fields)  # type: ignore[union-attr,index]
