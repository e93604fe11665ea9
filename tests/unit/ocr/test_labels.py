"""Labels in small type at low resolution are enlarged before OCR and still match."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr.labels import MAX_UPSCALE, TARGET_LINE_HEIGHT_PX, label_scale, read_texts
from ocr.layout import load_layout
from ocr.match import RowText, match_rows
from ocr.types import Box, Page

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
# 8.5 pt at 150 dpi: letters ~18 px from ascender to descender.
SMALL_TYPE_PX = round(8.5 * 150 / 72)
ROW_PX = 34
LABEL_WIDTH_PX = 520


def small_type_rows(labels: list[str]) -> tuple[Page, list[Box]]:
    """One ruled label cell per label, typed in 8.5 pt at 150 dpi."""
    font = ImageFont.truetype(str(FONT), SMALL_TYPE_PX)
    height = 40 + ROW_PX * len(labels)
    image = Image.new("L", (LABEL_WIDTH_PX + 80, height), 255)
    draw = ImageDraw.Draw(image)
    boxes = []
    for i, label in enumerate(labels):
        box = Box(40, 20 + i * ROW_PX, LABEL_WIDTH_PX, ROW_PX)
        draw.rectangle((box.x, box.y, box.right, box.bottom), outline=0, width=1)
        draw.text((box.x + 4, box.y + 7), label, font=font, fill=0)
        boxes.append(box)
    return Page(index=0, image=np.asarray(image), dpi=150, source="small.png"), boxes


def test_label_scale_enlarges_small_type_and_shrinks_large() -> None:
    assert label_scale(TARGET_LINE_HEIGHT_PX // 2) == MAX_UPSCALE
    assert 1.0 < label_scale(22) < MAX_UPSCALE
    assert label_scale(3 * TARGET_LINE_HEIGHT_PX) < 1.0


@pytest.mark.tesseract
@pytest.mark.skipif(not FONT.exists(), reason="DejaVu Serif is not installed")
def test_read_texts_small_type_rows_match() -> None:
    layout = load_layout("llw-summary-2022")
    rows = [r for r in layout.rows if r.kind == "item"][:12]
    page, boxes = small_type_rows([r.label for r in rows])
    texts = read_texts(page, boxes, line_height_px=round(SMALL_TYPE_PX * 1.15), max_lines=1)
    matches, _ = match_rows(
        [RowText(page_index=0, grid_row=i, text=t) for i, t in enumerate(texts)], layout
    )
    found = {m.grid_row: m.row_key for m in matches}
    assert sum(found.get(i) == row.key for i, row in enumerate(rows)) >= 11


@pytest.mark.tesseract
@pytest.mark.skipif(not FONT.exists(), reason="DejaVu Serif is not installed")
def test_read_texts_small_type_keeps_diacritics() -> None:
    """Enlarged, small type is read letter for letter, tone marks included.

    Read at its own size, most of these lines lose a tone mark ("trình đô" for
    "trình độ", "cán bô"): matching then rests on folded text alone.
    """
    layout = load_layout("llw-summary-2022")
    rows = [r for r in layout.rows if r.kind == "item"][:12]
    page, boxes = small_type_rows([r.label for r in rows])
    texts = read_texts(page, boxes, line_height_px=round(SMALL_TYPE_PX * 1.15), max_lines=1)
    exact = sum(
        row.label.startswith(text.rstrip(" .,")) for row, text in zip(rows, texts, strict=True)
    )
    assert exact >= 2 * len(rows) // 3
