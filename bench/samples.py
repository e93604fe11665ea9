"""Generate realistic sample scans of the LLW summary table, each with its ground truth.

The reader is tested and benchmarked on documents that look like what clerks send:
a Word table printed, filled in, signed, stamped and scanned (or photographed, or
faxed), or the Word file exported straight to PDF. Real submissions cannot be
published, so this generator draws synthetic ones whose every number is known.

Usage::

    .venv/bin/python -m bench samples --out DIR --count N --seed S \
        [--kinds typed,handwritten,photo,fax,born-digital,CONDITION...]
    .venv/bin/python -m bench samples --preset committed --out samples/llw-summary-2022

Variety (every document draws its own choices from a seeded RNG, so the same seed
always gives the same bytes; the choices are written to the truth file):

* kind: ``typed`` (numbers typed, page printed and scanned), ``handwritten`` (blank
  printed form, numbers written by hand in a handwriting font after rasterising)
  or ``born-digital`` (the PDF as exported, with its text layer, never rasterised);
* capture: flatbed ``scan`` (150-300 dpi, skew, noise, blur, JPEG, dark borders,
  brightness gradient), ``fax`` (binarised, speckled) or phone ``photo``
  (perspective, uneven light, background around the page);
* layout: font family and size, margins, column widths, rule thickness, header
  wording, with or without the "Ghi chú" column, STT style for sub-rows, the
  template's typos or corrected labels (all labels come from the layout YAML),
  one or two pages with or without a repeated header, a unit header, date line and
  signature block, occasionally a deleted row or an extra row added by the unit;
* values: realistic ranges per unit, blanks (null), zeros written ``0 - – x``,
  money as ``12.500.000``/``12,500,000``/``12 500 000`` with or without ``đ``,
  single values in either sub-column, a 1.total that usually (not always) adds up;
* marks: struck-through corrections, red seals and signatures, sometimes over
  numbers.
* page conditions, only when named in ``--kinds`` (so earlier seeds give the same
  documents): ``rotated`` (pages fed upside down or scanned landscape, 90/180/270
  deg), ``thin-rules`` (0.25-0.4 pt rules, which a 200-dpi fax breaks into dashes),
  ``small-type`` (8.5-9.5 pt fitted to one page, scanned at 150 dpi),
  ``hard-photo`` (steeper perspective, harsher light); each adds its slice to the
  truth file.

Output, for a case named ``C`` in ``DIR``: the document as ``C.pdf``, ``C.png``,
``C.jpg`` or, for two pages saved as images, ``C-p1.jpg`` and ``C-p2.jpg``; and
``C.truth.json``::

    {"layout": "llw-summary-2022", "files": ["C.pdf"], "slices": ["typed", "scan"],
     "kind": "typed", "seed": 123, "choices": {...},
     "fields": [{"row_key": "1.01", "field": "count", "value": 3, "text": "3"}, ...]}

``fields`` holds exactly one entry per ``layout.field_keys()`` in layout order;
``value`` is the number a careful person reads (``null`` when the cell is blank or
the row is not printed) and ``text`` what is written in the cell (the new number of
a correction). Numbers in extra rows added by the unit are not layout fields and
appear only in ``choices.extra_rows``.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from ocr.layout import Layout, Row, load_layout

T = TypeVar("T")

LAYOUT_ID = "llw-summary-2022"
SUBTITLE = "(Kèm theo Báo cáo kết quả tổ chức Tuần lễ)"
POINTS_PER_INCH = 72.0

# Body fonts: families with full Vietnamese coverage (checked glyph by glyph; Caladea
# lacks most stacked diacritics, so it is left out). Files are found with fc-list.
BODY_FONTS: dict[str, tuple[str, str, str]] = {
    "Liberation Serif": (
        "LiberationSerif-Regular.ttf",
        "LiberationSerif-Bold.ttf",
        "LiberationSerif-Italic.ttf",
    ),
    "Liberation Sans": (
        "LiberationSans-Regular.ttf",
        "LiberationSans-Bold.ttf",
        "LiberationSans-Italic.ttf",
    ),
    "DejaVu Serif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf"),
    "DejaVu Sans": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf"),
    "Noto Serif": ("NotoSerif-Regular.ttf", "NotoSerif-Bold.ttf", "NotoSerif-Italic.ttf"),
    "Noto Sans": ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoSans-Italic.ttf"),
    "FreeSerif": ("FreeSerif.ttf", "FreeSerifBold.ttf", "FreeSerifItalic.ttf"),
    "FreeSans": ("FreeSans.ttf", "FreeSansBold.ttf", "FreeSansOblique.ttf"),
    "Carlito": ("Carlito-Regular.ttf", "Carlito-Bold.ttf", "Carlito-Italic.ttf"),
    "Open Sans": ("OpenSans-Regular.ttf", "OpenSans-Bold.ttf", "OpenSans-Italic.ttf"),
    "Roboto": ("Roboto-Regular.ttf", "Roboto-Bold.ttf", "Roboto-Italic.ttf"),
}
# Serif fonts dominate real Vietnamese office documents (Times New Roman is the norm),
# so Liberation Serif (metric-compatible with it) is drawn most often.
BODY_FONT_WEIGHTS: dict[str, float] = {
    "Liberation Serif": 6,
    "DejaVu Serif": 1,
    "Noto Serif": 1.5,
    "FreeSerif": 1.5,
    "Liberation Sans": 1,
    "DejaVu Sans": 0.5,
    "Noto Sans": 0.5,
    "FreeSans": 0.5,
    "Carlito": 0.7,
    "Open Sans": 0.5,
    "Roboto": 0.5,
}
# Handwriting fonts (Debian packages) that have all ten digits. None has Vietnamese
# letters, so handwritten cells hold digits and separators only. femkeklaver is left
# out: its digits are hollow outlines no pen makes.
HAND_FONTS: dict[str, str] = {
    "DkgHandwriting": "dkg.ttf",
    "Humor Sans": "Humor-Sans.ttf",
    "Comic Neue": "ComicNeue-Regular.otf",
    "Klee One": "KleeOne-Regular.ttf",
    "Breip": "Breip.ttf",
    "Because We Learn": "BecauseWeLearn-Regular.otf",
    "Kristi": "Kristi.ttf",
}
INK_COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (25, 25, 35),
    "blue": (25, 45, 160),
}
STAMP_RED = (205, 30, 45)

# Units whose single value clerks tend to type under "Người" rather than the first
# sub-column (DOMAIN.md, "Fields").
PERSON_UNITS = frozenset({"người", "cá nhân"})
# Plausible ranges of a single value by unit of measure, for one reporting unit
# (a school or a commune); districts' summaries would be larger.
VALUE_RANGES: dict[str, tuple[int, int]] = {
    "tin, bài": (1, 60),
    "quyển/tờ": (5, 3000),
    "tập thể": (1, 30),
    "cá nhân": (1, 400),
    "quyển": (10, 4000),
    "số cuộc": (1, 8),
    "huyện": (1, 12),
    "trường/trung tâm": (1, 60),
    "đơn vị": (1, 20),
    "người": (1, 60),
    "đồng": (500_000, 500_000_000),
}
DEFAULT_VALUE_RANGE = (1, 50)
MAX_CLASSES = 40
MAX_PEOPLE = 3000

ZERO_TEXTS = ("0", "-", "–", "x")
ZERO_WEIGHTS = (5, 3, 1.5, 1)

UNIT_NAMES = (
    ("UBND HUYỆN GIA LÂM", "TRƯỜNG THCS ĐÌNH XUYÊN"),
    ("PHÒNG GD&ĐT HUYỆN MÊ LINH", "TRƯỜNG TIỂU HỌC TIỀN PHONG A"),
    ("UBND THÀNH PHỐ BẾN TRE", "PHÒNG GIÁO DỤC VÀ ĐÀO TẠO"),
    ("SỞ GD&ĐT BẾN TRE", "TRUNG TÂM GDNN-GDTX CHÂU THÀNH"),
    ("UBND HUYỆN HOẰNG HÓA", "UBND XÃ HOẰNG ĐẠO"),
    ("PHÒNG GD&ĐT TP HẠ LONG", "TRƯỜNG MẦM NON HỒNG HẢI"),
    ("SỞ GIÁO DỤC VÀ ĐÀO TẠO", "TRƯỜNG THPT NGUYỄN TRÃI"),
    ("UBND HUYỆN CHÂU THÀNH", "TRUNG TÂM HỌC TẬP CỘNG ĐỒNG XÃ AN KHÁNH"),
)
PLACES = ("Gia Lâm", "Mê Linh", "Bến Tre", "Hoằng Hóa", "Hạ Long", "Châu Thành", "Thanh Hóa")
SIGNER_TITLES = (
    ("THỦ TRƯỞNG ĐƠN VỊ",),
    ("HIỆU TRƯỞNG",),
    ("KT. HIỆU TRƯỞNG", "PHÓ HIỆU TRƯỞNG"),
    ("GIÁM ĐỐC",),
    ("TRƯỞNG PHÒNG",),
    ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"),
)
SIGNER_NAMES = (
    "Nguyễn Thị Hương",
    "Trần Văn Minh",
    "Lê Thị Thu Hà",
    "Phạm Quốc Dũng",
    "Võ Thị Mỹ Linh",
    "Đặng Hữu Phước",
    "Hoàng Thị Lan",
    "Bùi Đức Thắng",
)
# Rows a unit adds at the end of a section; their numbers belong to no layout row.
EXTRA_ROW_LABELS = (
    ("Hoạt động khác của đơn vị", "cuộc/người"),
    ("Tổ chức Ngày hội đọc sách tại trường", "cuộc/người"),
    ("Tuyên truyền trên hệ thống loa truyền thanh xã", "buổi"),
    ("Số lượt bạn đọc đến thư viện trong Tuần lễ", "lượt"),
)
NOTE_TEXTS = ("Trực tuyến", "Phối hợp Hội Khuyến học", "Cấp trường", "Kết hợp", "Tại TTHTCĐ")

KINDS = ("typed", "handwritten", "born-digital")
CAPTURES = ("scan", "photo", "fax")
# Page conditions drawn only when asked for by name in --kinds, from their own random
# stream, so documents of earlier seeds and kinds stay byte for byte as they were.
CONDITIONS = ("rotated", "thin-rules", "small-type", "hard-photo")
ALL_KIND_WORDS = (*KINDS, "photo", "fax", "scan", *CONDITIONS)
# Share of documents given each requested condition (the rest stay as drawn).
CONDITION_RATES = {"rotated": 0.35, "thin-rules": 0.5, "small-type": 0.4, "hard-photo": 0.6}


# ---------------------------------------------------------------------------------
# Seeded choices


class Chooser:
    """Draws named choices from an RNG, letting a preset pin any of them.

    Every choice is recorded, so the truth file says exactly how a document was made
    and a benchmark can slice results by any of them.
    """

    def __init__(self, rng: random.Random, overrides: Mapping[str, Any]) -> None:
        """Draw from ``rng`` unless ``overrides`` pins a choice by name."""
        self.rng = rng
        self.overrides = overrides
        self.choices: dict[str, Any] = {}

    def pick(self, name: str, draw: Callable[[random.Random], T]) -> T:
        """Return the override for ``name`` if any, else a fresh draw; record it."""
        value: T = self.overrides[name] if name in self.overrides else draw(self.rng)
        self.choices[name] = value
        return value

    def chance(self, name: str, probability: float) -> bool:
        """A recorded yes/no choice that is true with ``probability``."""
        return self.pick(name, lambda r: r.random() < probability)


def sub_rng(doc_seed: int, aspect: str) -> random.Random:
    """An independent stream per aspect, so pinning one choice leaves the others."""
    return random.Random(f"{doc_seed}:{aspect}")


# ---------------------------------------------------------------------------------
# Fonts


@functools.cache
def font_index() -> dict[str, Path]:
    """Map font file names to paths, as fontconfig knows them."""
    out = subprocess.run(
        ["fc-list", "--format", "%{file}\n"], check=True, capture_output=True, text=True
    ).stdout
    return {Path(line).name: Path(line) for line in out.splitlines() if line}


def font_path(file_name: str) -> Path:
    """Path of an installed font file; fails loudly if a Debian font package is missing."""
    try:
        return font_index()[file_name]
    except KeyError:
        raise SystemExit(f"font {file_name} not found: install the Debian font packages") from None


@dataclass(frozen=True)
class Fonts:
    """reportlab names of one family's regular, bold and italic faces."""

    regular: str
    bold: str
    italic: str


def register_family(family: str) -> Fonts:
    """Register a body font family with reportlab (once) and return its face names."""
    names = []
    for suffix, file_name in zip(("", "-Bold", "-Italic"), BODY_FONTS[family], strict=True):
        name = family.replace(" ", "") + suffix
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(font_path(file_name))))
        names.append(name)
    return Fonts(*names)


# ---------------------------------------------------------------------------------
# Values


@dataclass
class Entry:
    """What is written in one value cell of a printed row.

    ``column`` is the sub-column ("count" or "people") holding it; ``old_text`` is the
    struck-through number of a correction, ``None`` when there is none.
    """

    value: int | None
    text: str
    column: str
    is_money: bool = False
    old_text: str | None = None


@dataclass(frozen=True)
class NumberStyle:
    """How one clerk writes numbers: separators, zeros, money suffix."""

    separator: str  # "." (Vietnamese), "," or " " between thousands, "" for none
    money_suffix: str  # "", "đ", " đ" or " đồng"
    zero_texts: tuple[str, ...]


def draw_number_style(ch: Chooser, *, is_handwritten: bool) -> NumberStyle:
    """One clerk's habits; hand fonts lack "đ" and "–", so handwriting avoids them."""
    separator = ch.pick(
        "thousands_separator", lambda r: r.choices([".", ",", " ", ""], [8, 2, 1, 1])[0]
    )
    suffixes = [""] if is_handwritten else ["", "đ", " đ", " đồng"]
    suffix = ch.pick(
        "money_suffix", lambda r: r.choices(suffixes, [6, 1, 1, 1][: len(suffixes)])[0]
    )
    zeros = [z for z in ZERO_TEXTS if not (is_handwritten and z == "–")]

    def draw_zeros(r: random.Random) -> list[str]:
        weights = [ZERO_WEIGHTS[ZERO_TEXTS.index(z)] for z in zeros]
        first = r.choices(zeros, weights)[0]
        return [first] if r.random() < 0.8 else [first, r.choice(zeros)]

    zero_texts = tuple(ch.pick("zero_texts", draw_zeros))
    return NumberStyle(separator, suffix, zero_texts)


def format_number(value: int, style: NumberStyle, rng: random.Random, *, is_money: bool) -> str:
    """Write ``value`` as the clerk would: ``12.500.000``, ``1250``, ``-`` for zero."""
    if value == 0:
        return rng.choice(style.zero_texts)
    digits = str(value)
    if value >= 1000 and (is_money or style.separator):
        sep = style.separator or "."
        groups = []
        while digits:
            groups.insert(0, digits[-3:])
            digits = digits[:-3]
        digits = sep.join(groups)
    if is_money and style.money_suffix:
        digits += style.money_suffix
    return digits


def draw_single_value(row: Row, rng: random.Random) -> int:
    """A plausible single value for a row, by its unit of measure."""
    low, high = VALUE_RANGES.get(row.unit, DEFAULT_VALUE_RANGE)
    if row.unit == "đồng":
        # Budgets are round sums: thousands of đồng, often whole hundred thousands.
        step = rng.choice([1000, 100_000, 500_000, 1_000_000])
        return max(step, round(rng.uniform(low, high) ** 1.0 / step) * step)
    # Skew towards small numbers: most units report a handful of items.
    return int(low + (high - low) * rng.random() ** 2.2)


def draw_pair(rng: random.Random) -> tuple[int, int]:
    """Classes (or contests) and the people attending them; people >= classes usually."""
    classes = min(MAX_CLASSES, 1 + int(rng.expovariate(1 / 4)))
    people = min(MAX_PEOPLE, int(classes * rng.uniform(6, 60)))
    if rng.random() < 0.03:
        people = rng.randint(0, classes)  # a clerk's slip: the rules flag it, truth keeps it
    return classes, people


def value_column(row: Row, habit: str, rng: random.Random) -> str:
    """The sub-column a single value is typed in, following the clerk's habit."""
    if habit == "first":
        return "count"
    if habit == "persons_under_people":
        return "people" if row.unit in PERSON_UNITS else "count"
    return rng.choice(["count", "people"])


def draw_entries(
    layout: Layout, ch: Chooser, rng: random.Random, style: NumberStyle
) -> dict[tuple[str, str], Entry]:
    """Numbers for every layout field, with blanks, zeros and a mostly right 1.total."""
    fill_rate = ch.pick("fill_rate", lambda r: round(r.uniform(0.3, 0.95), 2))
    zero_rate = ch.pick("zero_rate", lambda r: round(r.uniform(0.0, 0.35), 2))
    habit = ch.pick(
        "value_column_habit",
        lambda r: r.choices(["first", "persons_under_people", "mixed"], [5, 3, 1])[0],
    )
    entries: dict[tuple[str, str], Entry] = {}
    for row in layout.numeric_rows:
        if row.kind == "total":
            continue
        is_money = row.unit == "đồng"

        def entry(value: int | None, column: str, money: bool = is_money) -> Entry:
            if value is None:
                return Entry(None, "", column, money)
            return Entry(value, format_number(value, style, rng, is_money=money), column, money)

        filled = rng.random() < fill_rate
        zero = filled and rng.random() < zero_rate
        if "value" in row.fields:
            value = (0 if zero else draw_single_value(row, rng)) if filled else None
            entries[(row.key, "value")] = entry(value, value_column(row, habit, rng))
            continue
        count, people = (0, 0) if zero else draw_pair(rng)
        if not filled:
            count = people = None  # type: ignore[assignment]
        elif not zero and rng.random() < 0.05:
            count = None  # type: ignore[assignment]  # only the people are known
        entries[(row.key, "count")] = entry(count, "count")
        entries[(row.key, "people")] = entry(people, "people")
    add_totals(layout, entries, ch, rng, style)
    return entries


def add_totals(
    layout: Layout,
    entries: dict[tuple[str, str], Entry],
    ch: Chooser,
    rng: random.Random,
    style: NumberStyle,
) -> None:
    """Fill each sum check's total: usually the sum of its parts, sometimes a clerk's slip."""
    is_wrong = ch.chance("total_is_wrong", 0.15)
    for check in layout.checks:
        if check.kind != "sum":
            continue
        for name in check.fields:
            parts = [entries[(p, name)].value for p in check.parts]
            if all(v is None for v in parts) and rng.random() < 0.7:
                entries[(check.total, name)] = Entry(None, "", name)
                continue
            total = sum(v or 0 for v in parts)
            if is_wrong and rng.random() < 0.7:
                total = max(0, total + rng.choice([-1, 1]) * rng.randint(1, max(2, total // 10)))
            text = format_number(total, style, rng, is_money=False)
            entries[(check.total, name)] = Entry(total, text, name)


def add_corrections(
    entries: dict[tuple[str, str], Entry], ch: Chooser, rng: random.Random, style: NumberStyle
) -> list[dict[str, str]]:
    """Turn a few filled cells into corrections: the printed number becomes the old one."""
    filled = [k for k, e in entries.items() if e.value]
    share = ch.pick("correction_share", lambda r: round(r.uniform(0.03, 0.08), 3))
    n = max(1, round(share * len(filled))) if filled else 0
    done = []
    for key in rng.sample(filled, min(n, len(filled))):
        e = entries[key]
        assert e.value is not None
        delta = rng.choice([-1, 1]) * rng.randint(1, max(1, e.value // 5))
        old = e.value + delta if e.value + delta > 0 else e.value + abs(delta)
        e.old_text = format_number(old, style, rng, is_money=e.is_money)
        done.append(
            {"row_key": key[0], "field": key[1], "old_text": e.old_text, "new_text": e.text}
        )
    return done


# ---------------------------------------------------------------------------------
# The printed table


@dataclass
class PrintedRow:
    """One row as printed: layout key (``None`` for a row the unit added) and cells."""

    key: str | None
    stt: str
    label: str
    unit: str
    is_section: bool
    is_bold: bool
    cells: dict[str, Entry] = field(default_factory=dict)
    note: str = ""
    is_top: bool = False  # numbered in the layout itself ("2", "8"), not a sub-row

    @property
    def ident(self) -> str:
        """Stable name of the row for geometry lookups (extra rows have no key)."""
        return self.key if self.key is not None else f"extra:{self.label}"


def stt_for(row: Row, section: str, index: int, style: str) -> str:
    """The STT cell: the layout's number for top rows, the clerk's style for sub-rows."""
    if row.number:
        return row.number
    if row.kind == "total":
        return ""
    if style == "decimal":
        return f"{section}.{index}"
    if style == "letter":
        return "abcdefghijklmnopqrstuvwxyz"[(index - 1) % 26]
    return "-" if style == "dash" else ""


def pick_label(row: Row, variant: str, rng: random.Random) -> str:
    """The template's wording or a fixed one: the layout holds both as label/aliases."""
    if not row.aliases or variant == "label":
        return row.label
    if variant == "alias":
        return row.aliases[0]
    return rng.choice(row.labels)


def build_rows(
    layout: Layout, entries: dict[tuple[str, str], Entry], ch: Chooser, rng: random.Random
) -> list[PrintedRow]:
    """Printed rows in layout order, numbered and worded in this clerk's way."""
    stt_style = ch.pick(
        "stt_style", lambda r: r.choices(["blank", "decimal", "letter", "dash"], [3, 3, 1, 1])[0]
    )
    variant = ch.pick("label_variant", lambda r: r.choice(["label", "alias", "mixed"]))
    is_bold_sections = ch.pick("bold_sections", lambda r: r.random() < 0.7)
    rows: list[PrintedRow] = []
    section, index = "", 0
    for row in layout.rows:
        if row.number:
            section, index = row.number, 0
        elif row.kind == "item":
            index += 1
        printed = PrintedRow(
            key=row.key,
            stt=stt_for(row, section, index, stt_style),
            label=pick_label(row, variant, rng),
            unit=row.unit,
            is_section=row.kind == "section",
            is_bold=(row.kind == "section" and is_bold_sections) or row.kind == "total",
            is_top=bool(row.number),
        )
        for name in row.fields:
            e = entries[(row.key, name)]
            printed.cells[e.column] = e
        rows.append(printed)
    return rows


def delete_row(rows: list[PrintedRow], rng: random.Random) -> str:
    """Drop one sub-row, as a unit that deleted a line it had nothing to report on."""
    candidates = [r for r in rows if r.key and r.cells and not r.is_top and not r.is_bold]
    victim = rng.choice(candidates)
    rows.remove(victim)
    for e in victim.cells.values():
        e.value, e.text, e.old_text = None, "", None
    return str(victim.key)


def add_extra_row(rows: list[PrintedRow], style: NumberStyle, rng: random.Random) -> dict[str, Any]:
    """Insert a unit's own row at the end of a section; its numbers match no layout row."""
    ends = [
        i
        for i in range(len(rows) - 1)
        if rows[i].cells and not rows[i].is_top and rows[i + 1].is_top
    ]
    at = rng.choice(ends)
    label, unit = rng.choice(EXTRA_ROW_LABELS)
    count, people = draw_pair(rng)
    prev = rows[at].stt
    stt = prev
    if "." in prev:
        head, _, tail = prev.rpartition(".")
        stt = f"{head}.{int(tail) + 1}" if tail.isdigit() else prev
    elif len(prev) == 1 and prev.isalpha():
        stt = chr(ord(prev) + 1)
    cells = {
        "count": Entry(count, format_number(count, style, rng, is_money=False), "count"),
        "people": Entry(people, format_number(people, style, rng, is_money=False), "people"),
    }
    rows.insert(at + 1, PrintedRow(None, stt, label, unit, False, False, cells))
    return {
        "label": label,
        "after": rows[at].key,
        "count": cells["count"].text,
        "people": cells["people"].text,
    }


# ---------------------------------------------------------------------------------
# Page layout (reportlab)


@dataclass(frozen=True)
class PageStyle:
    """Typography and geometry of one clerk's Word document, in points."""

    family: str
    fonts: Fonts
    size: float
    pad: float
    rule: float
    margins: tuple[float, float, float, float]  # left, right, top, bottom
    widths: dict[str, float]  # column key -> width
    headers: dict[str, str]  # column key -> header text; "group" spans the two values
    number_align: str
    has_unit_header: bool
    unit_name: tuple[str, str]
    place: str
    day: int
    signer: tuple[str, ...]
    signer_name: str
    has_preparer: bool
    has_signature: bool = True

    @property
    def leading(self) -> float:
        """Line distance in points for the body size."""
        return self.size * 1.15

    @property
    def table_width(self) -> float:
        """Width of the table in points: the sum of its column widths."""
        return sum(self.widths.values())


@dataclass
class CellBox:
    """A value cell on a page in points from the top-left, with its printed text box."""

    page: int
    x: float
    y: float
    w: float
    h: float
    text_box: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1
    align: str = "right"


@dataclass
class Geometry:
    """Where things landed on each page, for marks drawn after rasterising."""

    page_count: int
    cells: dict[tuple[str, str], CellBox] = field(default_factory=dict)
    tables: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)
    signature: tuple[int, float, float] | None = None  # page, x centre, y of the gap
    row_boxes: dict[str, tuple[int, float, float]] = field(default_factory=dict)


def draw_page_style(layout: Layout, ch: Chooser, *, size: float | None = None) -> PageStyle:
    """Fonts, sizes, column widths and header wording for one document."""
    family = ch.pick(
        "font", lambda r: r.choices(list(BODY_FONT_WEIGHTS), list(BODY_FONT_WEIGHTS.values()))[0]
    )
    fonts = register_family(family)
    size = size or ch.pick("font_size", lambda r: r.choice([10, 10.5, 11, 11.5, 12, 12.5, 13]))
    has_note = ch.pick("has_note_column", lambda r: r.random() < 0.75)
    left = ch.pick("margin_left_pt", lambda r: round(r.uniform(36, 80)))
    right = ch.pick("margin_right_pt", lambda r: round(r.uniform(24, 50)))
    widths = {
        "stt": ch.pick("width_stt_pt", lambda r: round(r.uniform(24, 36))),
        "activity": 0.0,
        "unit": ch.pick("width_unit_pt", lambda r: round(r.uniform(50, 70))),
        "count": ch.pick("width_count_pt", lambda r: round(r.uniform(48, 72))),
        "people": ch.pick("width_people_pt", lambda r: round(r.uniform(40, 60))),
    }
    if has_note:
        widths["note"] = ch.pick("width_note_pt", lambda r: round(r.uniform(30, 52)))
    widths["activity"] = A4[0] - left - right - sum(widths.values())
    return PageStyle(
        family=family,
        fonts=fonts,
        size=size,
        pad=ch.pick("cell_padding_pt", lambda r: round(r.uniform(1.5, 4), 1)),
        rule=ch.pick("rule_pt", lambda r: round(r.uniform(0.5, 1.5), 2)),
        margins=(left, right, ch.pick("margin_top_pt", lambda r: round(r.uniform(36, 65))), 40),
        widths=widths,
        headers=draw_headers(layout, ch, widths),
        number_align=ch.pick("number_align", lambda r: r.choice(["right", "center", "center"])),
        has_unit_header=ch.chance("has_unit_header", 0.5),
        unit_name=ch.pick("unit_name", lambda r: r.choice(UNIT_NAMES)),
        place=ch.pick("place", lambda r: r.choice(PLACES)),
        day=ch.pick("report_day", lambda r: r.randint(8, 20)),
        signer=ch.pick("signer_title", lambda r: r.choice(SIGNER_TITLES)),
        signer_name=ch.pick("signer_name", lambda r: r.choice(SIGNER_NAMES)),
        has_preparer=ch.chance("has_preparer", 0.3),
    )


def draw_headers(layout: Layout, ch: Chooser, widths: Mapping[str, float]) -> dict[str, str]:
    """Header wording from the layout's column names, mostly the official one."""
    headers: dict[str, str] = {}
    group = layout.fields["value"].title if "value" in layout.fields else "Số lượng"
    for column in layout.table.columns:
        if column.key not in widths:
            continue
        names = [n for n in column.names if n != group]
        headers[column.key] = ch.pick(
            f"header_{column.key}",
            lambda r, names=names: names[0] if r.random() < 0.7 else r.choice(names),
        )
    headers["group"] = group
    return headers


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Word-wrap like Word does (on spaces); a single long word stays on one line."""
    return simpleSplit(text, font, size, width) or [""]


def header_heights(style: PageStyle) -> tuple[float, float]:
    """Heights of the two header rows (group row, sub-column row)."""
    f, s, pad = style.fonts.bold, style.size, style.pad
    lines_b = max(
        len(wrap(style.headers[k], f, s, style.widths[k] - 2 * pad)) for k in ("count", "people")
    )
    lines_a = len(
        wrap(style.headers["group"], f, s, style.widths["count"] + style.widths["people"] - 2 * pad)
    )
    tall = max(
        len(wrap(style.headers[k], f, s, style.widths[k] - 2 * pad))
        for k in style.widths
        if k not in ("count", "people")
    )
    h_a = lines_a * style.leading + 2 * pad + 2
    h_b = lines_b * style.leading + 2 * pad + 2
    spare = tall * style.leading + 2 * pad + 2 - (h_a + h_b)
    return h_a + max(0.0, spare) / 2, h_b + max(0.0, spare) / 2


def row_height(row: PrintedRow, style: PageStyle) -> float:
    """Height of a body row: its tallest wrapped cell plus padding."""
    font = style.fonts.bold if row.is_bold else style.fonts.regular
    w = style.widths
    lines = len(wrap(row.label, font, style.size, w["activity"] - 2 * style.pad))
    lines = max(
        lines, len(wrap(row.unit, style.fonts.regular, style.size, w["unit"] - 2 * style.pad))
    )
    if "note" in w and row.note:
        lines = max(
            lines,
            len(wrap(row.note, style.fonts.italic, style.size * 0.9, w["note"] - 2 * style.pad)),
        )
    return lines * style.leading + 2 * style.pad + 1.0


def top_block_height(style: PageStyle) -> float:
    """Unit header, title and subtitle above the table on page 1."""
    unit = 3.2 * style.leading + 8 if style.has_unit_header else 0
    return unit + (style.size + 2) * 1.3 + style.leading + 10


def bottom_block_height(style: PageStyle) -> float:
    """Date line and signature block below the table."""
    if not style.has_signature:
        return 0.0
    return 12 + style.leading * (2 + len(style.signer)) + 62 + style.leading


def paginate(
    heights: Sequence[float],
    style: PageStyle,
    *,
    header_h: float,
    repeat_header: bool,
    forced_break: int | None,
) -> tuple[list[list[int]], bool]:
    """Split row indices over pages like Word: no row is split across a page break.

    Also says whether the signature block still fits under the table's last row.
    """
    page_h = A4[1] - style.margins[2] - style.margins[3]
    pages: list[list[int]] = [[]]
    used = top_block_height(style) + header_h
    for i, h in enumerate(heights):
        if (used + h > page_h or i == forced_break) and pages[-1]:
            pages.append([])
            used = header_h if repeat_header else 0
        pages[-1].append(i)
        used += h
    return pages, used + bottom_block_height(style) <= page_h


# Smallest type a clerk squeezes the table into to keep it on one page; at 200 dpi its
# digits are still about 20 px tall.
MIN_ONE_PAGE_SIZE = 8.0
# A two-page table is rarely typed smaller than this.
MIN_TWO_PAGE_SIZE = 9.5
REPORT_YEAR = 2022
# Word keeps a few points between a right-aligned number and the rule.
NUMBER_PAD_PT = 3.0
SCAN_DATE = time.strptime(
    f"{REPORT_YEAR}-10-12 09:30", "%Y-%m-%d %H:%M"
)  # the layout's edition: reports are dated October of that year


class PdfPage:
    """A reportlab canvas addressed in points from the page's top-left corner."""

    def __init__(self, c: canvas.Canvas) -> None:
        """Wrap a reportlab canvas."""
        self.c = c

    def text(
        self, s: str, x: float, y: float, font: str, size: float, align: str = "left"
    ) -> float:
        """Draw ``s`` with its baseline at ``y``; return the x where it starts."""
        width = pdfmetrics.stringWidth(s, font, size)
        x0 = {"left": x, "center": x - width / 2, "right": x - width}[align]
        self.c.setFont(font, size)
        self.c.drawString(x0, A4[1] - y, s)
        return x0

    def line(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Draw a line between two points given from the top-left corner."""
        self.c.line(x0, A4[1] - y0, x1, A4[1] - y1)

    def lines_in(
        self,
        lines: Sequence[str],
        box: tuple[float, float, float, float],
        font: str,
        size: float,
        *,
        leading: float,
        align: str,
        pad: float,
    ) -> None:
        """Draw wrapped lines vertically centred in ``box`` (x, y, w, h)."""
        x, y, w, h = box
        baseline = y + (h - len(lines) * leading) / 2 + leading * 0.78
        ax = {"left": x + pad, "center": x + w / 2, "right": x + w - pad}[align]
        for line in lines:
            self.text(line, ax, baseline, font, size, align)
            baseline += leading


def draw_top_block(page: PdfPage, style: PageStyle, y: float) -> float:
    """Unit header (sometimes), title and subtitle; return the y below them."""
    left = style.margins[0]
    tw = style.table_width
    if style.has_unit_header:
        size = min(style.size, 12) - 0.5
        fb = style.fonts.bold
        motto = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
        motto_size = min(size, size * tw * 0.56 / pdfmetrics.stringWidth(motto, fb, size))
        cx_l, cx_r = left + tw * 0.22, left + tw * 0.70
        page.text(style.unit_name[0], cx_l, y + size, style.fonts.regular, size, "center")
        page.text(style.unit_name[1], cx_l, y + size + style.leading, fb, size * 0.95, "center")
        page.text(motto, cx_r, y + size, fb, motto_size, "center")
        page.text("Độc lập - Tự do - Hạnh phúc", cx_r, y + size + style.leading, fb, size, "center")
        ul = y + size + style.leading + 3
        page.line(cx_l - 30, ul, cx_l + 30, ul)
        page.line(cx_r - 60, ul, cx_r + 60, ul)
        y += 3.2 * style.leading + 8
    title_size = style.size + 2
    page.text(LAYOUT_TITLE(), left + tw / 2, y + title_size, style.fonts.bold, title_size, "center")
    y += title_size * 1.3
    page.text(SUBTITLE, left + tw / 2, y + style.size, style.fonts.italic, style.size, "center")
    return y + style.leading + 10


@functools.cache
def LAYOUT_TITLE() -> str:
    """The printed title, from the layout (never typed into this script)."""
    return load_layout(LAYOUT_ID).title


def column_edges(style: PageStyle) -> dict[str, tuple[float, float]]:
    """Left and right x of every column."""
    x = style.margins[0]
    edges = {}
    for key, w in style.widths.items():
        edges[key] = (x, x + w)
        x += w
    return edges


def draw_header(page: PdfPage, style: PageStyle, y: float) -> float:
    """The two header rows with "Số lượng" merged over its two sub-columns."""
    h_a, h_b = header_heights(style)
    edges = column_edges(style)
    fb, s, pad = style.fonts.bold, style.size, style.pad
    x_left, x_right = style.margins[0], style.margins[0] + style.table_width
    for key, (x0, x1) in edges.items():
        if key in ("count", "people"):
            sub = wrap(style.headers[key], fb, s, x1 - x0 - 2 * pad)
            page.lines_in(
                sub,
                (x0, y + h_a, x1 - x0, h_b),
                fb,
                s,
                leading=style.leading,
                align="center",
                pad=pad,
            )
        else:
            lines = wrap(style.headers[key], fb, s, x1 - x0 - 2 * pad)
            page.lines_in(
                lines,
                (x0, y, x1 - x0, h_a + h_b),
                fb,
                s,
                leading=style.leading,
                align="center",
                pad=pad,
            )
        page.line(x0, y if key != "people" else y + h_a, x0, y + h_a + h_b)
    gx0, gx1 = edges["count"][0], edges["people"][1]
    group = wrap(style.headers["group"], fb, s, gx1 - gx0 - 2 * pad)
    page.lines_in(
        group, (gx0, y, gx1 - gx0, h_a), fb, s, leading=style.leading, align="center", pad=pad
    )
    page.line(x_right, y, x_right, y + h_a + h_b)
    page.line(x_left, y, x_right, y)
    page.line(gx0, y + h_a, gx1, y + h_a)
    page.line(x_left, y + h_a + h_b, x_right, y + h_a + h_b)
    return y + h_a + h_b


def draw_row(
    page: PdfPage,
    row: PrintedRow,
    style: PageStyle,
    y: float,
    *,
    geo: Geometry,
    page_index: int,
    print_numbers: bool,
) -> float:
    """One body row with its borders; record where its value cells are."""
    h = row_height(row, style)
    edges = column_edges(style)
    font = style.fonts.bold if row.is_bold else style.fonts.regular
    s, pad, lead = style.size, style.pad, style.leading
    for key, (x0, x1) in edges.items():
        box = (x0, y, x1 - x0, h)
        if key == "stt":
            page.lines_in([row.stt], box, font, s, leading=lead, align="center", pad=pad)
        elif key == "activity":
            lines = wrap(row.label, font, s, x1 - x0 - 2 * pad)
            page.lines_in(lines, box, font, s, leading=lead, align="left", pad=pad)
        elif key == "unit":
            lines = wrap(row.unit, style.fonts.regular, s, x1 - x0 - 2 * pad)
            page.lines_in(lines, box, style.fonts.regular, s, leading=lead, align="center", pad=pad)
        elif key == "note" and row.note:
            lines = wrap(row.note, style.fonts.italic, s * 0.9, x1 - x0 - 2 * pad)
            page.lines_in(
                lines, box, style.fonts.italic, s * 0.9, leading=lead * 0.9, align="center", pad=pad
            )
        elif key in ("count", "people") and not row.is_section:
            cell = CellBox(page_index, x0, y, x1 - x0, h, align=style.number_align)
            geo.cells[(row.ident, key)] = cell
            entry = row.cells.get(key)
            printed = (entry.old_text or entry.text) if entry else ""
            if printed and print_numbers:
                cell.text_box = draw_number(page, printed, cell, font, style)
        page.line(x0, y, x0, y + h)
    x_right = style.margins[0] + style.table_width
    page.line(x_right, y, x_right, y + h)
    page.line(style.margins[0], y + h, x_right, y + h)
    geo.row_boxes[row.ident] = (page_index, y, y + h)
    return y + h


def draw_number(
    page: PdfPage, text: str, cell: CellBox, font: str, style: PageStyle
) -> tuple[float, float, float, float]:
    """Type a number in its cell, shrinking long money amounts to fit like Word's autofit."""
    pad = max(style.pad, NUMBER_PAD_PT)
    room = cell.w - 2 * pad
    size = style.size
    width = pdfmetrics.stringWidth(text, font, size)
    if width > room:
        size *= room / width
        width = room
    baseline = cell.y + cell.h / 2 + size * 0.35
    anchor = cell.x + cell.w - pad if cell.align == "right" else cell.x + cell.w / 2
    x0 = page.text(text, anchor, baseline, font, size, cell.align)
    return (x0, baseline - size * 0.72, x0 + width, baseline + size * 0.05)


def draw_bottom_block(
    page: PdfPage, style: PageStyle, y: float, *, geo: Geometry, page_index: int
) -> None:
    """Date line, signer's title, room for the signature and seal, signer's name."""
    left, tw = style.margins[0], style.table_width
    cx = left + tw * 0.72
    y += 12 + style.size
    date = f"{style.place}, ngày {style.day} tháng 10 năm {REPORT_YEAR}"
    page.text(date, cx, y, style.fonts.italic, style.size, "center")
    for line in style.signer:
        y += style.leading
        page.text(line, cx, y, style.fonts.bold, style.size, "center")
        if style.has_preparer and line == style.signer[0]:
            page.text("NGƯỜI LẬP BIỂU", left + tw * 0.2, y, style.fonts.bold, style.size, "center")
    y += style.leading
    page.text("(Ký tên, đóng dấu)", cx, y, style.fonts.italic, style.size * 0.9, "center")
    geo.signature = (page_index, cx, y + 4)
    y += 62
    page.text(style.signer_name, cx, y, style.fonts.bold, style.size, "center")


def render_pdf(
    rows: Sequence[PrintedRow],
    style: PageStyle,
    pages: Sequence[Sequence[int]],
    *,
    repeat_header: bool,
    print_numbers: bool,
) -> tuple[bytes, Geometry]:
    """Lay the document out page by page; return the PDF bytes and where cells are."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setTitle("Mẫu tổng hợp số liệu")
    c.setAuthor("")
    c.setCreator("Microsoft® Word 2016")
    page = PdfPage(c)
    geo = Geometry(page_count=len(pages))
    page_h = A4[1] - style.margins[3]
    for p, indices in enumerate(pages):
        c.setLineWidth(style.rule)
        y = style.margins[2]
        if p == 0:
            y = draw_top_block(page, style, y)
        top = y
        if p == 0 or repeat_header:
            y = draw_header(page, style, y)
        else:
            page.line(style.margins[0], y, style.margins[0] + style.table_width, y)
        for i in indices:
            y = draw_row(
                page, rows[i], style, y, geo=geo, page_index=p, print_numbers=print_numbers
            )
        geo.tables[p] = (style.margins[0], top, style.margins[0] + style.table_width, y)
        if p == len(pages) - 1 and style.has_signature:
            if y + bottom_block_height(style) > page_h:
                c.showPage()
                geo.page_count += 1
                y = style.margins[2]
                p += 1
            draw_bottom_block(page, style, y, geo=geo, page_index=p)
        c.showPage()
    c.save()
    return buf.getvalue(), geo


def fits_one_page(rows: Sequence[PrintedRow], style: PageStyle) -> bool:
    """Whether title, table and signature block all fit on one A4 page."""
    page_h = A4[1] - style.margins[2] - style.margins[3]
    body = sum(row_height(r, style) for r in rows) + sum(header_heights(style))
    return top_block_height(style) + body + bottom_block_height(style) <= page_h


def squeeze(style: PageStyle) -> PageStyle | None:
    """One step of what a clerk does to keep the table on one page, or None when done.

    Padding first, then the page margins, then the type size; the signature block is
    the last to go (it then sits on another page of the report, not scanned here).
    """
    if style.pad > 1.2:
        return replace(style, pad=max(1.2, style.pad - 0.5))
    if style.margins[2] > 30:
        return replace(style, margins=(*style.margins[:2], 30, 28))
    if style.margins[0] > 32:
        # "Narrow" margins in Word: the activity column takes the freed width.
        gained = style.margins[0] - 32 + max(0.0, style.margins[1] - 24)
        widths = dict(style.widths, activity=style.widths["activity"] + gained)
        return replace(style, margins=(32, min(style.margins[1], 24), 30, 28), widths=widths)
    if style.size > 9:
        return replace(style, size=style.size - 0.5)
    if style.has_signature:
        return replace(style, has_signature=False)
    if style.size > MIN_ONE_PAGE_SIZE:
        return replace(style, size=style.size - 0.5)
    return None


def fit_pages(
    rows: Sequence[PrintedRow],
    style: PageStyle,
    ch: Chooser,
    *,
    want_pages: int,
    repeat_header: bool,
) -> tuple[PageStyle, list[list[int]]]:
    """Shrink the type until one page holds everything, or break the table over two.

    A clerk who wants one page reduces the padding, then the font; a long
    table in a large font simply runs onto page 2 where Word breaks it.
    """
    if want_pages == 1:
        while not fits_one_page(rows, style):
            smaller = squeeze(style)
            if smaller is None:
                break
            style = smaller
        else:
            return style, [list(range(len(rows)))]
    while True:
        header_h = sum(header_heights(style))
        heights = [row_height(r, style) for r in rows]
        pages, has_room = paginate(
            heights, style, header_h=header_h, repeat_header=repeat_header, forced_break=None
        )
        if (len(pages) <= 2 and has_room) or style.size <= MIN_TWO_PAGE_SIZE:
            break
        style = replace(style, size=style.size - 0.5)  # two pages, not three, with the signature
    if len(pages) == 1:
        at = ch.pick("forced_break_row", lambda r: r.randint(len(rows) // 2, len(rows) * 6 // 7))
        pages, _ = paginate(
            heights, style, header_h=header_h, repeat_header=repeat_header, forced_break=at
        )
    return style, pages


# ---------------------------------------------------------------------------------
# Rasterising and marks


def rasterise(pdf: bytes, dpi: int) -> list[np.ndarray]:
    """Render every page to an RGB array with poppler, as a printer-then-scanner would."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "doc.pdf"
        src.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", str(src), str(Path(tmp) / "p")], check=True
        )
        files = sorted(Path(tmp).glob("p-*.png"), key=lambda p: int(p.stem.split("-")[-1]))
        return [np.asarray(Image.open(f).convert("RGB")) for f in files]


def to_px(value_pt: float, dpi: int) -> int:
    """Points to pixels at a dpi."""
    return round(value_pt * dpi / POINTS_PER_INCH)


# ---------------------------------------------------------------------------------
# Degradation


def brightness_gradient(img: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A slow linear light fall-off across the page, as lids and lamps leave."""
    h, w = img.shape[:2]
    angle = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = (xx / w) * math.cos(angle) + (yy / h) * math.sin(angle)
    ramp = (ramp - ramp.min()) / max(1e-6, float(np.ptp(ramp)))
    factor = 1.0 - strength * ramp
    return np.clip(img.astype(np.float32) * factor[..., None], 0, 255).astype(np.uint8)


def rotate(img: np.ndarray, angle_deg: float, fill: tuple[int, int, int]) -> np.ndarray:
    """Rotate a page skewed on the glass, widening the canvas so no corner is cut off.

    Scanners capture more than the sheet (auto-size, or a Letter/Legal glass), so the
    rotated sheet keeps all its content and the image grows a little.
    """
    if not angle_deg:
        return img
    h, w = img.shape[:2]
    sin = abs(math.sin(math.radians(angle_deg)))
    pad_x, pad_y = math.ceil(h * sin / 2) + 4, math.ceil(w * sin / 2) + 4
    img = cv2.copyMakeBorder(img, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=fill)
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=fill)


def dark_borders(img: np.ndarray, rng: np.random.Generator, dpi: int) -> np.ndarray:
    """Grey-black bands at some edges, where the scanner saw past the paper."""
    out = img.copy()
    w = out.shape[1]
    for side in rng.choice(4, size=rng.integers(1, 4), replace=False):
        band = int(rng.uniform(0.02, 0.12) * dpi)
        shade = int(rng.uniform(20, 90))
        if side == 0:
            out[:band] = shade
        elif side == 1:
            out[-band:] = shade
        elif side == 2:
            out[:, :band] = shade
        else:
            out[:, w - band :] = shade
    return out


def add_noise(img: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Sensor noise, the same on all channels (scanners' noise is mostly luminance)."""
    if sigma <= 0:
        return img
    noise = rng.normal(0, sigma, img.shape[:2]).astype(np.float32)[..., None]
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def degrade_scan(img: np.ndarray, ch: Chooser, rng: np.random.Generator, dpi: int) -> np.ndarray:
    """Flatbed scan: skew, light gradient, borders, blur and sensor noise."""
    skew = ch.choices["skew_deg"]
    img = rotate(img, skew, (255, 255, 255))
    strength = ch.pick("gradient", lambda r: round(r.uniform(0.0, 0.18), 3))
    img = brightness_gradient(img, rng, strength)
    if ch.chance("dark_borders", 0.35):
        img = dark_borders(img, rng, dpi)
    blur = ch.pick("blur_sigma", lambda r: round(r.choice([0, 0, 0.5, 0.8, 1.1]), 2))
    if blur:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    sigma = ch.pick("noise_sigma", lambda r: round(r.uniform(0.5, 4), 1))
    img = add_noise(img, rng, sigma)
    if ch.chance("grayscale", 0.4):
        img = np.repeat(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    return img


def degrade_fax(img: np.ndarray, ch: Chooser, rng: np.random.Generator, dpi: int) -> np.ndarray:
    """Fax: coarse vertical resolution, hard threshold, speckle and dropped pixels."""
    img = rotate(img, ch.choices["skew_deg"], (255, 255, 255))
    h, w = img.shape[:2]
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    if ch.chance("fax_standard_resolution", 0.5):
        gray = cv2.resize(gray, (w, h // 2), interpolation=cv2.INTER_AREA)
        gray = cv2.resize(gray, (w, h), interpolation=cv2.INTER_NEAREST)
    threshold = ch.pick("fax_threshold", lambda r: r.randint(140, 200))
    bw = np.where(gray < threshold, 0, 255).astype(np.uint8)
    speckle = ch.pick("fax_speckle", lambda r: round(r.uniform(0.0005, 0.004), 4))
    specks = rng.random(bw.shape) < speckle
    bw[specks] = 0
    dropouts = rng.random(bw.shape) < speckle * 4
    bw[dropouts] = 255
    if ch.chance("fax_streaks", 0.4):
        for y in rng.integers(0, h, size=rng.integers(1, 5)):
            bw[y : y + 2, :] = np.where(rng.random((min(2, h - y), w)) < 0.3, 0, bw[y : y + 2, :])
    return np.repeat(bw[..., None], 3, axis=2)


def degrade_photo(img: np.ndarray, ch: Chooser, rng: np.random.Generator) -> np.ndarray:
    """Phone photo: page on a desk, perspective, uneven light, softness."""
    h, w = img.shape[:2]
    margin = ch.pick("photo_margin", lambda r: round(r.uniform(0.04, 0.12), 3))
    out_w, out_h = int(w * (1 + 2 * margin)), int(h * (1 + 2 * margin))
    desk = np.array(
        ch.pick(
            "photo_background_rgb",
            lambda r: [r.randint(60, 170), r.randint(50, 140), r.randint(30, 110)],
        )
    )
    background = np.ones((out_h, out_w, 3), np.float32) * desk
    background += (
        rng.normal(0, 12, (out_h // 8 + 1, out_w // 8 + 1, 1))
        .repeat(8, 0)
        .repeat(8, 1)[:out_h, :out_w]
    )
    jitter = ch.pick("photo_corner_jitter", lambda r: round(r.uniform(0.01, 0.06), 3))
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    ox, oy = w * margin, h * margin
    dst = np.float32([[ox, oy], [ox + w, oy], [ox + w, oy + h], [ox, oy + h]])
    dst += rng.uniform(-jitter, jitter, (4, 2)).astype(np.float32) * np.float32([w, h])
    m = cv2.getPerspectiveTransform(src, dst)
    page = cv2.warpPerspective(img, m, (out_w, out_h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), m, (out_w, out_h))[..., None]
    out = background * (1 - mask) + page.astype(np.float32) * mask
    out = uneven_light(out, rng, ch.pick("photo_light", lambda r: round(r.uniform(0.15, 0.45), 2)))
    out = cv2.GaussianBlur(
        out, (0, 0), ch.pick("photo_blur", lambda r: round(r.uniform(0.6, 1.6), 2))
    )
    warm = np.float32(
        ch.pick(
            "photo_tint",
            lambda r: [1.0, round(r.uniform(0.95, 1.0), 3), round(r.uniform(0.85, 0.97), 3)],
        )
    )
    out = add_noise(np.clip(out * warm, 0, 255).astype(np.uint8), rng, 3)
    return out


def uneven_light(img: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A bright spot and darker corners, as from a ceiling lamp and the phone's shadow."""
    h, w = img.shape[:2]
    cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dist = np.sqrt(((yy - cy) / h) ** 2 + ((xx - cx) / w) ** 2)
    light = 1.0 - strength * np.clip(dist / 0.8, 0, 1) ** 1.5
    return np.clip(img.astype(np.float32) * light[..., None], 0, 255)


# ---------------------------------------------------------------------------------
# Saving


def save_pages(
    pages: Sequence[np.ndarray], out_dir: Path, name: str, *, fmt: str, dpi: int, quality: int
) -> list[str]:
    """Write pages as scanner software does: one PDF of images, or one image per page."""
    images = [to_pil(p) for p in pages]
    if fmt == "pdf":
        path = out_dir / f"{name}.pdf"
        first, *rest = images
        # Pillow stores 1-bit pages as CCITT G4 (as fax software does), others as JPEG.
        options: dict[str, Any] = {} if first.mode == "1" else {"quality": quality}
        # A fixed date keeps the bytes reproducible (Pillow writes "now" by default).
        options |= {"creationDate": SCAN_DATE, "modDate": SCAN_DATE, "producer": "Scanner"}
        first.save(path, "PDF", save_all=True, append_images=rest, resolution=float(dpi), **options)
        return [path.name]
    names = (
        [f"{name}.{fmt}"]
        if len(images) == 1
        else [f"{name}-p{i + 1}.{fmt}" for i in range(len(images))]
    )
    for image, file_name in zip(images, names, strict=True):
        options: dict[str, Any] = {"dpi": (dpi, dpi)}
        if fmt == "jpg":
            options |= {"quality": quality, "optimize": True}
        else:
            options |= {"optimize": True}
        image.save(out_dir / file_name, **options)
    return names


def to_pil(page: np.ndarray) -> Image.Image:
    """Grey pages are stored as grey (and pure black-and-white as 1-bit) to stay small."""
    if np.array_equal(page[..., 0], page[..., 1]) and np.array_equal(page[..., 1], page[..., 2]):
        gray = page[..., 0]
        if np.isin(gray, (0, 255)).all():
            return Image.fromarray(gray).convert("1")
        return Image.fromarray(gray)
    return Image.fromarray(page)


# ---------------------------------------------------------------------------------
# One document


def choose_mode(ch: Chooser, kinds: Sequence[str]) -> tuple[str, str]:
    """Kind (typed, handwritten, born-digital) and capture (scan, photo, fax, none)."""
    bases = [k for k in KINDS if k in kinds] or ["typed", "handwritten"]
    captures = [c for c in ("photo", "fax") if c in kinds]
    if not captures or any(k in kinds for k in ("typed", "handwritten", "scan")):
        captures.insert(0, "scan")
    weights = {"typed": 6, "handwritten": 3, "born-digital": 1.5}
    kind = ch.pick("kind", lambda r: r.choices(bases, [weights[b] for b in bases])[0])
    if kind == "born-digital":
        return kind, ch.pick("capture", lambda r: "none")
    cap_weights = {"scan": 6, "photo": 2, "fax": 1.5}
    return kind, ch.pick(
        "capture", lambda r: r.choices(captures, [cap_weights[c] for c in captures])[0]
    )


def make_document(
    layout: Layout,
    name: str,
    doc_seed: int,
    kinds: Sequence[str],
    overrides: Mapping[str, Any],
    out_dir: Path,
) -> dict[str, Any]:
    """Draw, render, mark, degrade and save one document; return its truth record."""
    pins, condition_slices = draw_conditions(doc_seed, kinds, overrides)
    overrides = {**pins, **overrides}
    ch = Chooser(sub_rng(doc_seed, "mode"), overrides)
    kind, capture = choose_mode(ch, kinds)
    is_hand = kind == "handwritten"
    ch.rng = sub_rng(doc_seed, "values")
    style_numbers = draw_number_style(ch, is_handwritten=is_hand)
    entries = draw_entries(layout, ch, ch.rng, style_numbers)
    has_corrections = kind != "born-digital" and ch.chance("corrections", 0.2)
    corrections = add_corrections(entries, ch, ch.rng, style_numbers) if has_corrections else []
    ch.rng = sub_rng(doc_seed, "table")
    rows = build_rows(layout, entries, ch, ch.rng)
    deleted = [delete_row(rows, ch.rng)] if ch.chance("has_deleted_row", 0.04) else []
    extras = (
        [add_extra_row(rows, style_numbers, ch.rng)] if ch.chance("has_extra_row", 0.08) else []
    )
    corrections = [c for c in corrections if c["row_key"] not in deleted]
    add_notes(rows, ch, ch.rng)
    style = draw_page_style(layout, ch)
    want_pages = ch.pick("pages_wanted", lambda r: r.choices([1, 2], [3, 2])[0])
    repeat_header = ch.chance("repeat_header", 0.6)
    style, pages = fit_pages(rows, style, ch, want_pages=want_pages, repeat_header=repeat_header)
    ch.choices |= {"font_size_used": style.size, "signature_block": style.has_signature}
    pdf, geo = render_pdf(
        rows, style, pages, repeat_header=repeat_header, print_numbers=not is_hand
    )
    slices = [kind, *(c for c in condition_slices if _shows(c, kind=kind, capture=capture))]
    if kind == "born-digital":
        files = [f"{name}.pdf"]
        (out_dir / files[0]).write_bytes(pdf)
    else:
        slices.append(capture)
        files = scan_document(
            pdf, geo, rows, ch, doc_seed, out_dir, name, kind=kind, capture=capture
        )
        slices += ch.choices.pop("_mark_slices", [])
    if geo.page_count > 1:
        slices.append("two-page")
    if corrections:
        slices.append("correction")
    if "note" not in style.widths:
        slices.append("no-note")
    if deleted:
        slices.append("deleted-row")
    if extras:
        slices.append("extra-row")
    ch.choices |= {"page_count": geo.page_count, "corrections_made": corrections}
    ch.choices |= {"deleted_rows": deleted, "extra_rows": extras}
    return truth_record(layout, files, slices, kind, doc_seed, ch.choices, entries)


def _shows(condition: str, *, kind: str, capture: str) -> bool:
    """Whether a drawn condition is visible on a document of this kind and capture."""
    if condition == "hard-photo":
        return capture == "photo"
    return kind != "born-digital" or condition == "thin-rules"


def draw_conditions(
    doc_seed: int, kinds: Sequence[str], overrides: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Pins for the page conditions asked for in ``kinds``, and their slice names.

    ``rotated``: the page is fed upside down or scanned landscape (turned 90/180/270
    deg); ``thin-rules``: 0.25-0.4 pt rules, which a 200-dpi fax breaks into dashes;
    ``small-type``: a table fitted to one page in 8.5-9.5 pt, scanned at 150 dpi;
    ``hard-photo``: a photo (when the capture is one) taken at a steeper angle
    (corners off by 6-10 % of the page) under harsher light.
    A choice pinned with --set wins; pinning ``turn_deg`` alone also turns pages.
    """
    rng = sub_rng(doc_seed, "conditions")
    pins: dict[str, Any] = {}
    slices: list[str] = []
    drawn = {c: c in kinds and rng.random() < CONDITION_RATES[c] for c in CONDITIONS}
    if drawn["rotated"] or "turn_deg" in overrides:
        turn = int(overrides.get("turn_deg", rng.choice([90, 180, 270])))
        pins["turn_deg"] = turn
        if turn % 360:
            slices += ["rotated", f"rotated-{turn % 360}"]
    if drawn["thin-rules"]:
        pins["rule_pt"] = round(rng.uniform(0.25, 0.4), 2)
        slices.append("thin-rules")
    if drawn["small-type"]:
        pins |= {"font_size": rng.choice([8.5, 9, 9.5]), "pages_wanted": 1, "dpi": 150}
        slices.append("small-type")
    if drawn["hard-photo"]:
        pins["photo_corner_jitter"] = round(rng.uniform(0.06, 0.10), 3)
        pins["photo_light"] = round(rng.uniform(0.45, 0.65), 2)
        slices.append("hard-photo")
    return pins, slices


def add_notes(rows: Sequence[PrintedRow], ch: Chooser, rng: random.Random) -> None:
    """A few words in "Ghi chú" for some filled rows (never digits)."""
    rate = ch.pick("note_rate", lambda r: r.choice([0, 0, 0.05, 0.12]))
    for row in rows:
        if row.cells and any(e.text for e in row.cells.values()) and rng.random() < rate:
            row.note = rng.choice(NOTE_TEXTS)


def truth_record(
    layout: Layout,
    files: list[str],
    slices: list[str],
    kind: str,
    seed: int,
    choices: Mapping[str, Any],
    entries: Mapping[tuple[str, str], Entry],
) -> dict[str, Any]:
    """The truth file's content: one entry per layout field, in layout order."""
    fields = [
        {
            "row_key": row_key,
            "field": name,
            "value": entries[(row_key, name)].value,
            "text": entries[(row_key, name)].text,
        }
        for row_key, name in layout.field_keys()
    ]
    clean = {
        k: (list(v) if isinstance(v, tuple) else v)
        for k, v in choices.items()
        if not k.startswith("_")
    }
    return {
        "layout": layout.id,
        "files": files,
        "slices": slices,
        "kind": kind,
        "seed": seed,
        "choices": clean,
        "fields": fields,
    }


def scan_document(
    pdf: bytes,
    geo: Geometry,
    rows: Sequence[PrintedRow],
    ch: Chooser,
    doc_seed: int,
    out_dir: Path,
    name: str,
    *,
    kind: str,
    capture: str,
) -> list[str]:
    """Print, write on, sign, stamp and scan/photograph/fax the document."""
    ch.rng = sub_rng(doc_seed, "scan")
    nrng = np.random.default_rng(doc_seed)
    default_dpi = {"scan": [150, 200, 200, 200, 300], "fax": [200], "photo": [150, 200]}[capture]
    dpi = ch.pick("dpi", lambda r: r.choice(default_dpi))
    if capture != "photo":  # a photo is skewed by its perspective instead
        ch.pick(
            "skew_deg",
            lambda r: (
                round(r.uniform(-3, 3), 2) if r.random() < 0.6 else round(r.uniform(-0.6, 0.6), 2)
            ),
        )
    pages = rasterise(pdf, dpi)
    pages = apply_marks(pages, geo, rows, ch, dpi=dpi, kind=kind, doc_seed=doc_seed)
    if capture == "scan":
        pages = [degrade_scan(p, ch, nrng, dpi) for p in pages]
    elif capture == "fax":
        pages = [degrade_fax(p, ch, nrng, dpi) for p in pages]
    else:
        pages = [degrade_photo(p, ch, nrng) for p in pages]
    formats = {"scan": ["pdf", "pdf", "png", "jpg"], "fax": ["pdf", "png"], "photo": ["jpg"]}[
        capture
    ]
    if "turn_deg" in ch.overrides:  # only when asked for: earlier documents stay as they were
        turns = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180}
        turns[270] = cv2.ROTATE_90_CLOCKWISE
        turn = int(ch.pick("turn_deg", lambda r: 0)) % 360
        pages = [cv2.rotate(p, turns[turn]) if turn else p for p in pages]
    fmt = ch.pick("format", lambda r: r.choice(formats))
    quality = ch.pick("jpeg_quality", lambda r: r.randint(40, 90))
    return save_pages(pages, out_dir, name, fmt=fmt, dpi=dpi, quality=quality)


def apply_marks(
    pages: list[np.ndarray],
    geo: Geometry,
    rows: Sequence[PrintedRow],
    ch: Chooser,
    *,
    dpi: int,
    kind: str,
    doc_seed: int,
) -> list[np.ndarray]:
    """Handwritten numbers, corrections, signature and seal on the printed pages."""
    ch.rng = sub_rng(doc_seed, "marks")
    images = [Image.fromarray(p).convert("RGBA") for p in pages]
    pen = Pen(
        font_file=HAND_FONTS[ch.pick("hand_font", lambda r: r.choice(sorted(HAND_FONTS)))],
        ink=INK_COLOURS[ch.pick("ink", lambda r: r.choice(["blue", "blue", "black"]))],
        weight=ch.pick("pen_weight", lambda r: r.choice([0, 0, 1])),
        rng=ch.rng,
        max_px=round(dpi * ch.pick("hand_size_in", lambda r: round(r.uniform(0.13, 0.18), 3))),
    )
    for row in rows:
        for column, entry in row.cells.items():
            cell = geo.cells.get((row.ident, column))
            if cell is None or not (entry.text or entry.old_text):
                continue
            image = images[cell.page]
            box = scale_box((cell.x, cell.y, cell.x + cell.w, cell.y + cell.h), dpi)
            if kind == "handwritten":
                write_cell_by_hand(image, entry, box, cell.align, pen)
            elif entry.old_text and cell.text_box:
                correct_typed(image, entry.text, scale_box(cell.text_box, dpi), box, pen)
    slices = []
    if geo.signature and ch.chance("signed", 0.85):
        page, cx, y = geo.signature
        sign(images[page], (to_px(cx, dpi), to_px(y + 22, dpi)), dpi, pen)
        slices.append("signature")
    if ch.chance("stamped", 0.6 if geo.signature else 0.25):
        slices += stamp_document(images, geo, ch, dpi=dpi)
    ch.choices["_mark_slices"] = slices
    return [np.asarray(im.convert("RGB")) for im in images]


def scale_box(box: tuple[float, float, float, float], dpi: int) -> tuple[int, int, int, int]:
    """A (x0, y0, x1, y1) box from points to pixels."""
    x0, y0, x1, y1 = box
    return (to_px(x0, dpi), to_px(y0, dpi), to_px(x1, dpi), to_px(y1, dpi))


# ---------------------------------------------------------------------------------
# Handwriting


@dataclass
class Pen:
    """One writer: a handwriting font, an ink and a hand that never repeats exactly."""

    font_file: str
    ink: tuple[int, int, int]
    weight: int
    rng: random.Random
    max_px: int = 60  # nobody writes taller digits in a tall (wrapped) row

    def font(self, size_px: int) -> ImageFont.FreeTypeFont:
        """The pen's font at a pixel size, never below a legible 8 px."""
        return _hand_font(self.font_file, max(8, size_px))


@functools.cache
def _hand_font(file_name: str, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(file_name)), size_px)


def hand_width(text: str, pen: Pen, size_px: int) -> float:
    """Width of text in a handwriting pen, with a margin for the pen's jitter."""
    return float(pen.font(size_px).getlength(text)) * 1.05


def write_by_hand(
    image: Image.Image, text: str, x: float, baseline: float, size_px: int, pen: Pen
) -> tuple[int, int, int, int]:
    """Write ``text`` glyph by glyph with jittered size, angle and baseline.

    Returns the ink's bounding box. A slight slope runs through the whole number, as
    when a hand drifts across a cell.
    """
    rng = pen.rng
    slope = rng.uniform(-0.05, 0.05)
    x0 = x
    top, bottom = baseline, baseline
    for char in text:
        size = max(8, round(size_px * rng.uniform(0.9, 1.1)))
        font = pen.font(size)
        ascent, descent = font.getmetrics()
        patch = Image.new("RGBA", (size * 2, ascent + descent + 4), (0, 0, 0, 0))
        alpha = rng.randint(215, 255)
        ImageDraw.Draw(patch).text(
            (size // 2, 2),
            char,
            font=font,
            fill=(*pen.ink, alpha),
            stroke_width=pen.weight,
            stroke_fill=(*pen.ink, alpha),
        )
        patch = patch.rotate(rng.uniform(-7, 7), resample=Image.BICUBIC, expand=False)
        y = baseline + (x - x0) * slope - ascent - 2 + rng.uniform(-0.06, 0.06) * size
        image.alpha_composite(patch, (round(x - size // 2), round(y)))
        top = min(top, y + ascent * 0.25)
        bottom = max(bottom, y + ascent + 2)
        x += font.getlength(char) * rng.uniform(0.95, 1.12)
    return (round(x0), round(top), round(x), round(bottom))


def write_cell_by_hand(
    image: Image.Image, entry: Entry, box: tuple[int, int, int, int], align: str, pen: Pen
) -> None:
    """Write a cell's number by hand, striking an old one first when corrected."""
    x0, y0, x1, y1 = box
    h, w = y1 - y0, x1 - x0
    rng = pen.rng
    size = round(min(h * rng.uniform(0.75, 1.0), pen.max_px))
    if entry.old_text:
        old_size = fit_size(entry.old_text, pen, size, w * 0.5)
        old = write_by_hand(
            image,
            entry.old_text,
            x1 - hand_width(entry.old_text, pen, old_size) - w * 0.06,
            y0 + h * 0.72,
            old_size,
            pen,
        )
        strike(image, old, pen)
        new_size = fit_size(entry.text, pen, size, w * 0.45)
        write_by_hand(image, entry.text, x0 + w * 0.06, y0 + h * 0.78, new_size, pen)
        return
    size = fit_size(entry.text, pen, size, w * 0.86)
    width = hand_width(entry.text, pen, size)
    slack = max(0.0, w - width - 0.1 * w)
    left = (
        x0
        + 0.05 * w
        + (slack * rng.uniform(0.6, 1.0) if align == "right" else slack * rng.uniform(0.3, 0.7))
    )
    write_by_hand(image, entry.text, left, y0 + h * rng.uniform(0.7, 0.82), size, pen)


def fit_size(text: str, pen: Pen, size: int, room: float) -> int:
    """Shrink the writing until it fits ``room`` pixels, as a writer squeezes digits."""
    width = hand_width(text, pen, size)
    return size if width <= room else max(10, int(size * room / width))


def strike(image: Image.Image, box: tuple[int, int, int, int], pen: Pen) -> None:
    """One or two lines through a number, as a clerk cancels it."""
    x0, y0, x1, y1 = box
    draw = ImageDraw.Draw(image)
    width = max(2, (y1 - y0) // 9)
    for _ in range(pen.rng.choice([1, 1, 2])):
        ya = (y0 + y1) / 2 + pen.rng.uniform(-0.2, 0.2) * (y1 - y0)
        yb = ya + pen.rng.uniform(-0.25, 0.25) * (y1 - y0)
        draw.line([(x0 - width * 2, ya), (x1 + width * 2, yb)], fill=(*pen.ink, 240), width=width)


def correct_typed(
    image: Image.Image,
    new_text: str,
    old_box: tuple[int, int, int, int],
    cell: tuple[int, int, int, int],
    pen: Pen,
) -> None:
    """Strike a typed number and write the right one beside it, or above if no room."""
    strike(image, old_box, pen)
    x0, y0, x1, y1 = cell
    h = y1 - y0
    room_left = old_box[0] - x0
    size = round(h * pen.rng.uniform(0.8, 1.0))
    if room_left > hand_width(new_text, pen, size) * 1.1:
        write_by_hand(image, new_text, x0 + room_left * 0.1, y0 + h * 0.8, size, pen)
        return
    size = fit_size(new_text, pen, round(h * 0.75), (x1 - x0) * 0.9)
    write_by_hand(image, new_text, old_box[0] - (x1 - x0) * 0.1, old_box[1] - h * 0.05, size, pen)


def sign(image: Image.Image, centre: tuple[int, int], dpi: int, pen: Pen) -> None:
    """A signature: a fast looping scribble with a flourish, in the writer's ink."""
    rng = pen.rng
    mm = dpi / 25.4
    width, height = rng.uniform(30, 50) * mm, rng.uniform(8, 16) * mm
    cx, cy = centre
    n = rng.randint(7, 12)
    xs = np.linspace(cx - width / 2, cx + width / 2, n) + np.array(
        [rng.uniform(-4, 4) * mm for _ in range(n)]
    )
    ys = np.array([cy + rng.uniform(-0.5, 0.5) * height for _ in range(n)])
    t = np.linspace(0, n - 1, n * 20)
    px = np.interp(t, range(n), xs) + np.sin(t * rng.uniform(2.5, 4.5)) * rng.uniform(1, 3) * mm
    py = np.interp(t, range(n), ys) + np.cos(t * rng.uniform(2.5, 4.5)) * rng.uniform(2, 5) * mm
    points = list(zip(px.tolist(), py.tolist(), strict=True))
    draw = ImageDraw.Draw(image)
    stroke = max(2, round(mm * rng.uniform(0.3, 0.5)))
    draw.line(points, fill=(*pen.ink, 235), width=stroke, joint="curve")
    flourish = [
        (px[-1], py[-1]),
        (cx - width * 0.6, cy + height * 0.6),
        (cx + width * 0.5, cy + height * 0.4),
    ]
    draw.line(flourish, fill=(*pen.ink, 220), width=max(1, stroke - 1), joint="curve")


# ---------------------------------------------------------------------------------
# Seals


def stamp_document(images: list[Image.Image], geo: Geometry, ch: Chooser, *, dpi: int) -> list[str]:
    """Press a red seal by the signature, or over the table's last rows and numbers."""
    rng = ch.rng
    radius = round(rng.uniform(17, 21) * dpi / 25.4)
    over_table = geo.signature is None or ch.chance("stamp_over_table", 0.35)
    if over_table:
        page = max(geo.tables)
        x0, _, x1, y1 = geo.tables[page]
        cx = to_px(x0 + (x1 - x0) * rng.uniform(0.55, 0.85), dpi)
        cy = to_px(y1, dpi) - round(radius * rng.uniform(0.2, 0.9))
    else:
        page, sx, sy = geo.signature  # type: ignore[misc]
        cx = to_px(sx, dpi) - round(radius * rng.uniform(0.3, 0.9))
        cy = to_px(sy, dpi) + round(radius * rng.uniform(0.2, 0.7))
    seal = draw_seal(radius, ch.pick("seal_text", lambda r: seal_text(r)), rng)
    press(
        images[page],
        seal,
        (cx, cy),
        opacity=ch.pick("seal_opacity", lambda r: round(r.uniform(0.55, 0.9), 2)),
    )
    covered = [
        f"{row}/{col}"
        for (row, col), cell in geo.cells.items()
        if cell.page == page and circle_hits(cell, (cx, cy), radius, dpi)
    ]
    ch.choices["stamp_over_cells"] = covered
    return ["stamp", "stamp-over-numbers"] if covered else ["stamp"]


def seal_text(rng: random.Random) -> str:
    """The ring text of a unit's red seal."""
    parent, unit = rng.choice(UNIT_NAMES)
    return f"{unit} * {parent} *"


def circle_hits(cell: CellBox, centre: tuple[int, int], radius: int, dpi: int) -> bool:
    """Whether a seal of ``radius`` px at ``centre`` touches the cell."""
    x0, y0, x1, y1 = scale_box((cell.x, cell.y, cell.x + cell.w, cell.y + cell.h), dpi)
    nx, ny = min(max(centre[0], x0), x1), min(max(centre[1], y0), y1)
    return (nx - centre[0]) ** 2 + (ny - centre[1]) ** 2 <= radius**2


def draw_seal(radius: int, text: str, rng: random.Random) -> Image.Image:
    """A round Vietnamese office seal: double ring, text around, star in the middle."""
    size = radius * 2 + 8
    seal = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(seal)
    c = size / 2
    ring = max(3, radius // 22)
    draw.ellipse([c - radius, c - radius, c + radius, c + radius], outline=255, width=ring)
    inner = radius * 0.66
    draw.ellipse([c - inner, c - inner, c + inner, c + inner], outline=255, width=max(2, ring // 2))
    font = ImageFont.truetype(
        str(font_path(BODY_FONTS["DejaVu Sans"][1])), max(8, round(radius * 0.17))
    )
    text_r = (radius + inner) / 2
    step = 2 * math.pi / len(text)
    for i, char in enumerate(text):
        angle = -math.pi / 2 + i * step
        glyph = Image.new("L", (font.size * 2, font.size * 2), 0)
        ImageDraw.Draw(glyph).text((font.size / 2, font.size / 3), char, font=font, fill=255)
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.BICUBIC)
        gx = c + text_r * math.cos(angle) - glyph.width / 2
        gy = c + text_r * math.sin(angle) - glyph.height / 2
        seal.paste(255, (round(gx), round(gy)), glyph)
    star_r = inner * 0.45
    star = [
        (
            c + (star_r if k % 2 == 0 else star_r * 0.4) * math.cos(-math.pi / 2 + k * math.pi / 5),
            c + (star_r if k % 2 == 0 else star_r * 0.4) * math.sin(-math.pi / 2 + k * math.pi / 5),
        )
        for k in range(10)
    ]
    draw.polygon(star, fill=255)
    return seal.rotate(rng.uniform(0, 360), resample=Image.BICUBIC)


def press(
    image: Image.Image, seal: Image.Image, centre: tuple[int, int], *, opacity: float
) -> None:
    """Multiply red ink into the page through a patchy mask, as a worn stamp pad does."""
    w, h = seal.size
    x, y = centre[0] - w // 2, centre[1] - h // 2
    patch = np.random.default_rng(w * 7919 + h).random((h // 6 + 1, w // 6 + 1)).astype(np.float32)
    patch = cv2.resize(patch, (w, h), interpolation=cv2.INTER_CUBIC)
    mask = np.asarray(seal, np.float32) / 255 * opacity * np.clip(0.55 + 0.6 * patch, 0, 1)
    page = np.asarray(image.convert("RGB"), np.float32)
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(page.shape[1], x + w), min(page.shape[0], y + h)
    m = mask[y0 - y : y1 - y, x0 - x : x1 - x, None]
    red = np.float32(STAMP_RED) / 255
    page[y0:y1, x0:x1] *= 1 - m * (1 - red)
    image.paste(Image.fromarray(page.astype(np.uint8)).convert("RGBA"))


# ---------------------------------------------------------------------------------
# Command line


def parse_pins(pins: Iterable[str]) -> dict[str, Any]:
    """``name=value`` pairs; values are JSON (numbers, booleans, lists) or plain strings."""
    out: dict[str, Any] = {}
    for pin in pins:
        name, sep, raw = pin.partition("=")
        if not sep:
            raise SystemExit(f"--set needs CHOICE=VALUE, got {pin!r}")
        try:
            out[name] = json.loads(raw)
        except json.JSONDecodeError:
            out[name] = raw
    return out


def generate(
    out_dir: Path,
    *,
    count: int,
    seed: int,
    kinds: Sequence[str],
    pinned: Mapping[str, Any] | None = None,
    prefix: str = "case",
) -> list[Path]:
    """Make ``count`` documents; the i-th depends only on (seed, i)."""
    layout = load_layout(LAYOUT_ID)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i in range(count):
        name = f"{prefix}-{i + 1:04d}"
        doc_seed = seed * 100_003 + i
        truth = make_document(layout, name, doc_seed, kinds, pinned or {}, out_dir)
        written.append(write_truth(out_dir, name, truth))
    return written


def write_truth(out_dir: Path, name: str, truth: Mapping[str, Any]) -> Path:
    """Write a case's truth file next to its document."""
    path = out_dir / f"{name}.truth.json"
    path.write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of ``python -m bench samples``."""
    parser = argparse.ArgumentParser(
        prog="python -m bench samples", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--count", type=int, default=10, help="number of documents")
    parser.add_argument("--seed", type=int, default=0, help="master seed")
    parser.add_argument(
        "--kinds",
        default="typed,handwritten,photo,fax,born-digital",
        help="comma-separated subset of: " + ",".join(ALL_KIND_WORDS),
    )
    parser.add_argument("--preset", choices=["committed"], help="the fixed committed set")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="CHOICE=VALUE",
        help="pin a choice for every document, e.g. --set dpi=200 --set format=png "
        "(VALUE is JSON, else a string; names as in the truth files' choices)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench samples``: write generated documents and their truth files."""
    args = parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = set(kinds) - set(ALL_KIND_WORDS)
    if unknown:
        raise SystemExit(
            f"unknown kinds {sorted(unknown)}; choose from {', '.join(ALL_KIND_WORDS)}"
        )
    if args.preset:
        paths = generate_preset(args.out, seed=args.seed)
    else:
        pinned = parse_pins(args.set)
        paths = generate(args.out, count=args.count, seed=args.seed, kinds=kinds, pinned=pinned)
    sys.stdout.write(f"wrote {len(paths)} documents to {args.out}\n")
    return 0


def generate_preset(out_dir: Path, *, seed: int) -> list[Path]:
    """The committed set: every kind and modifier at least once."""
    layout = load_layout(LAYOUT_ID)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, (name, kinds, overrides) in enumerate(PRESET):
        truth = make_document(layout, name, seed * 100_003 + i, kinds, overrides, out_dir)
        written.append(write_truth(out_dir, name, truth))
    return written


# Pins shared by the committed cases, so each file shows the condition in its name and
# nothing else unusual (and the folder stays small: grey scans, 200 dpi, JPEG).
_PLAIN: dict[str, Any] = {
    "has_deleted_row": False,
    "has_extra_row": False,
    "corrections": False,
    "stamped": False,
    "dpi": 200,
    "grayscale": True,
    "jpeg_quality": 55,
    "noise_sigma": 1.2,
    "capture": "scan",
}
_CLEAN: dict[str, Any] = {
    "skew_deg": 0.0,
    "blur_sigma": 0,
    "noise_sigma": 0.0,
    "gradient": 0.0,
    "dark_borders": False,
}
_TYPED_SCAN = ["typed", "scan"]
# The committed set: (case name, kinds to draw from, pinned choices).
PRESET: list[tuple[str, list[str], dict[str, Any]]] = [
    ("typed-clean-200dpi", _TYPED_SCAN, _PLAIN | _CLEAN | {"pages_wanted": 1, "format": "png"}),
    (
        "typed-300dpi-skew-2.5deg",
        _TYPED_SCAN,
        _PLAIN | {"dpi": 300, "skew_deg": 2.5, "pages_wanted": 1, "format": "pdf"},
    ),
    (
        "typed-two-page-repeated-header",
        _TYPED_SCAN,
        _PLAIN | {"pages_wanted": 2, "repeat_header": True, "format": "pdf", "signed": True},
    ),
    (
        "typed-two-page-jpgs-no-repeated-header",
        _TYPED_SCAN,
        _PLAIN | {"pages_wanted": 2, "repeat_header": False, "format": "jpg", "skew_deg": -1.2},
    ),
    (
        "typed-no-note-column",
        _TYPED_SCAN,
        _PLAIN | {"has_note_column": False, "pages_wanted": 1, "format": "jpg"},
    ),
    (
        "typed-fax",
        ["typed", "fax"],
        _PLAIN | {"capture": "fax", "pages_wanted": 2, "format": "pdf"},
    ),
    (
        "typed-photo",
        ["typed", "photo"],
        _PLAIN | {"capture": "photo", "pages_wanted": 1, "dpi": 150, "stamped": True},
    ),
    (
        "handwritten-blue",
        ["handwritten", "scan"],
        _PLAIN
        | {"ink": "blue", "hand_font": "Klee One", "pages_wanted": 2, "format": "pdf"}
        | {"grayscale": False},
    ),
    (
        "handwritten-black-corrections",
        ["handwritten", "scan"],
        _PLAIN
        | {"ink": "black", "hand_font": "Comic Neue", "pages_wanted": 1, "format": "jpg"}
        | {"corrections": True}
        | {"correction_share": 0.08},
    ),
    (
        "typed-stamp-over-numbers",
        _TYPED_SCAN,
        _PLAIN
        | {"stamped": True, "stamp_over_table": True, "signed": True, "pages_wanted": 2}
        | {"format": "pdf", "grayscale": False},
    ),
    (
        "typed-corrections",
        _TYPED_SCAN,
        _PLAIN
        | {"corrections": True, "correction_share": 0.08, "pages_wanted": 1, "format": "jpg"}
        | {"ink": "blue", "grayscale": False, "jpeg_quality": 75},
    ),
    ("born-digital-one-page", ["born-digital"], _PLAIN | {"pages_wanted": 1}),
    ("born-digital-two-page", ["born-digital"], _PLAIN | {"pages_wanted": 2}),
    (
        "typed-deleted-row",
        _TYPED_SCAN,
        _PLAIN | {"has_deleted_row": True, "pages_wanted": 2, "format": "pdf"},
    ),
    (
        "typed-extra-row",
        _TYPED_SCAN,
        _PLAIN | {"has_extra_row": True, "pages_wanted": 2, "format": "pdf"},
    ),
    (
        "typed-150dpi-low-quality",
        _TYPED_SCAN,
        _PLAIN | {"dpi": 150, "jpeg_quality": 40, "pages_wanted": 1, "format": "jpg"},
    ),
]


if __name__ == "__main__":
    raise SystemExit(main())
