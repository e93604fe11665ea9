"""What one document says and how it looks: every random draw, made before rendering.

A ``FormSpec`` is drawn from the document's own seeded RNG and then rendered by the
other modules without drawing again, so the truth file can record every choice and the
same seed always gives the same document. Values follow ``DOMAIN.md``: blanks are
null, zeros are written ``0 - – — x``, money the Vietnamese way (and the other ways
clerks type it), single-value rows in either sub-column, people usually at least the
classes, and a total that units sometimes get wrong.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ocr.layout import Layout, Row

KINDS = ("typed", "handwritten", "handwritten-real")
CAPTURES = ("scan", "fax", "photo", "born-digital")

# Dash-like and letter zeros units type for "none"; the reader must read all as 0.
ZERO_TEXTS = ("0", "-", "–", "—", "x")
# Share of numeric fields left blank or written as a zero, per document (drawn in range).
FILL_RATE_RANGE = (0.35, 0.95)
ZERO_SHARE_RANGE = (0.05, 0.35)
# A unit's total of row 1 is wrong this often (as hand-added sums are).
WRONG_TOTAL_RATE = 0.2
# People < classes happens in real reports (a typo, swapped columns) but rarely.
PEOPLE_LT_COUNT_RATE = 0.04
# Body sizes in points. Below 9.5 pt is the "fit to one page" small type of class 3.
FONT_SIZES_PT = (8.5, 9.0, 9.5, 10.0, 10.5, 11.0, 12.0, 13.0)
SMALL_TYPE_MAX_PT = 9.5
# Word's border widths are eighths of a point; these span 0.25 to 1.5 pt.
RULE_EIGHTHS = (2, 3, 4, 6, 8, 12)
# Money written the ways units type it; {n} is the grouped number.
MONEY_FORMATS = ("{dot}", "{dot} đồng", "{comma}", "{dot}đ", "{space}", "{dot} đ")
# By hand, people write the digits and their separators, not the word.
HAND_MONEY_FORMATS = ("{dot}", "{dot}", "{comma}")
# Unit-of-measure texts long enough to run up against the count column's rule.
LONG_UNITS = ("lớp học/lượt người", "số lớp/số người tham gia", "cuộc thi/lượt người")


@dataclass
class PrintedRow:
    """One printed row of the table: the layout row it is (or None for an added one)."""

    key: str | None
    stt: str
    label: str
    unit: str
    kind: str  # section | total | item
    count_text: str = ""
    people_text: str = ""
    note_text: str = ""
    is_spill: bool = False  # the two sub-columns merged and one amount typed across
    is_long_unit: bool = False


@dataclass
class FormSpec:
    """Every choice of one document; rendered as drawn, recorded in the truth file."""

    name: str
    seed: int
    kind: str
    capture: str
    font: str
    value_font: str
    font_size_pt: float
    rule_eighths: int
    widths_cm: tuple[float, ...]
    margins_cm: tuple[float, float, float, float]  # top, bottom, left, right
    has_note_column: bool
    repeat_header: bool
    whole_report: bool
    rotation_deg: int
    has_seal: bool
    seal_over_table: bool
    ink: str
    dpi: int
    rows: list[PrintedRow] = field(default_factory=list)
    truth: dict[tuple[str, str], int | None] = field(default_factory=dict)
    header_count: str = "Số lớp/số cuộc thi"
    header_unit: str = "Đơn vị"
    label_variant: str = "template"
    total_is_wrong: bool = False

    @property
    def slices(self) -> list[str]:
        """The benchmark slices this document belongs to, kind and capture first."""
        out = [self.kind]
        if self.kind.startswith("handwritten") and self.kind != "handwritten":
            out.append("handwritten")
        out.append(self.capture)
        if self.rotation_deg:
            out += ["rotated", f"rotated-{self.rotation_deg}"]
        if self.font_size_pt <= SMALL_TYPE_MAX_PT:
            out.append("small-type")
        if self.whole_report:
            out.append("whole-report")
        if any(r.is_spill for r in self.rows):
            out.append("money-spill")
        if any(r.is_long_unit for r in self.rows):
            out.append("long-unit")
        if any(r.key is None for r in self.rows):
            out.append("extra-row")
        if self.has_seal:
            out.append("stamp")
            if self.seal_over_table:
                out.append("stamp-over-numbers")
        return out


def _grouped(n: int, sep: str) -> str:
    return f"{n:,}".replace(",", sep)


def money_text(amount: int, style: str) -> str:
    """An amount in đồng as a clerk types it (``style`` is one of ``MONEY_FORMATS``)."""
    return style.format(
        dot=_grouped(amount, "."), comma=_grouped(amount, ","), space=_grouped(amount, " ")
    )


def _stt(row: Row, rng: random.Random, style: str) -> str:
    if row.number:
        return row.number
    if "." not in row.key or row.kind == "total":
        return ""
    major, minor = row.key.split(".")
    if style == "dash":
        return "-"
    return f"{major}.{int(minor)}"


def _label(row: Row, variant: str, rng: random.Random) -> str:
    if not row.aliases:
        return row.label
    if variant == "template":  # the template's wording is the label or the typo alias
        return row.label
    if variant == "fixed":
        return row.aliases[0]
    return rng.choice(row.labels)


def _count_people(rng: random.Random, zero_share: float) -> tuple[int, int, str, str]:
    """A (classes, people) pair and their texts; zeros come in pairs as units write them."""
    if rng.random() < zero_share:
        z1, z2 = rng.choice(ZERO_TEXTS), rng.choice(ZERO_TEXTS)
        return 0, 0, z1, z2
    classes = rng.choice((1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 24, 36))
    people = classes * rng.randint(8, 60)
    if rng.random() < PEOPLE_LT_COUNT_RATE:
        people = rng.randint(0, max(0, classes - 1))
    return classes, people, str(classes), str(people)


def _single_value(
    row: Row, rng: random.Random, zero_share: float, money_style: str
) -> tuple[int, str]:
    if rng.random() < zero_share:
        return 0, rng.choice(ZERO_TEXTS)
    if row.unit == "đồng":
        amount = rng.randint(5, 9500) * rng.choice((1000, 10000, 100000))
        return amount, money_text(amount, money_style)
    if row.key in ("4.3",):
        n = rng.randint(20, 6000)
    elif row.key in ("2", "3"):
        n = rng.randint(1, 400)
    elif row.key == "7.1":
        n = rng.randint(1, 9)
    else:
        n = rng.randint(1, 60)
    return n, str(n)


def _fill_row(
    printed: PrintedRow, row: Row, rng: random.Random, opts: dict[str, object], spec: FormSpec
) -> None:
    """Draw the row's numbers; write texts into the printed row and values into truth."""
    fill = float(opts["fill"])  # type: ignore[arg-type]
    zero_share = float(opts["zero"])  # type: ignore[arg-type]
    if row.fields == ("count", "people"):
        if rng.random() > fill:
            spec.truth[(row.key, "count")] = spec.truth[(row.key, "people")] = None
            return
        c, p, ct, pt = _count_people(rng, zero_share)
        if rng.random() < 0.08:  # only one of the pair reported
            if rng.random() < 0.5:
                p, pt = None, ""  # type: ignore[assignment]
            else:
                c, ct = None, ""  # type: ignore[assignment]
        printed.count_text, printed.people_text = ct, pt
        spec.truth[(row.key, "count")], spec.truth[(row.key, "people")] = c, p
        return
    if rng.random() > fill:
        spec.truth[(row.key, "value")] = None
        return
    value, text = _single_value(row, rng, zero_share, str(opts["money_style"]))
    spec.truth[(row.key, "value")] = value
    is_person = row.unit in ("người", "cá nhân")
    if row.unit == "đồng" and value and rng.random() < float(opts["spill"]):  # type: ignore[arg-type]
        printed.is_spill = True
        printed.count_text = text
    elif rng.random() < (0.6 if is_person else 0.2):
        printed.people_text = text
    else:
        printed.count_text = text


def _fix_total(spec: FormSpec, rng: random.Random, *, wrong: bool) -> None:
    """Make 1.total the sum of its parts as reported, or a plausible wrong sum."""
    total_row = next(r for r in spec.rows if r.key == "1.total")
    parts = [r for r in spec.rows if r.key and r.key.startswith("1.") and r.key != "1.total"]
    for field_name in ("count", "people"):
        values = [spec.truth.get((r.key, field_name)) for r in parts if r.key]
        total = sum(v for v in values if v)
        if wrong:
            total = max(0, total + rng.choice((-10, -2, -1, 1, 1, 3, 10, 100)))
        spec.truth[("1.total", field_name)] = total
        setattr(total_row, f"{field_name}_text", str(total))


def draw_rows(layout: Layout, spec: FormSpec, rng: random.Random, *, wide_units: bool) -> None:
    """The printed rows with their texts, including deleted and added rows."""
    opts: dict[str, object] = {
        "fill": rng.uniform(*FILL_RATE_RANGE),
        "zero": rng.uniform(*ZERO_SHARE_RANGE),
        "money_style": rng.choice(
            HAND_MONEY_FORMATS if spec.kind == "handwritten-real" else MONEY_FORMATS
        ),
        "spill": rng.choice((0.0, 0.0, 0.5, 1.0)),
    }
    stt_style = rng.choice(("number", "dash"))
    deletable = [r.key for r in layout.rows if r.kind == "item" and r.key.startswith(("5.", "6."))]
    deleted = rng.choice(deletable) if rng.random() < 0.12 else None
    extra_after = rng.choice(("1.14", "5.6", "6.3")) if rng.random() < 0.15 else None
    for row in layout.rows:
        if row.key == deleted:
            for f in row.fields:
                spec.truth[(row.key, f)] = None
            continue
        unit = row.unit
        printed = PrintedRow(
            row.key, _stt(row, rng, stt_style), _label(row, spec.label_variant, rng), unit, row.kind
        )
        if wide_units and row.unit == "lớp/người" and rng.random() < 0.3:
            printed.unit, printed.is_long_unit = rng.choice(LONG_UNITS), True
        if row.fields:
            _fill_row(printed, row, rng, opts, spec)
        if printed.count_text and rng.random() < 0.05:
            printed.note_text = rng.choice(("Trực tuyến", "Kết hợp", "Ước tính", "Đã báo cáo"))
        spec.rows.append(printed)
        if row.key == extra_after:
            n = rng.randint(1, 9)
            spec.rows.append(
                PrintedRow(
                    None,
                    "",
                    "Hoạt động khác do đơn vị bổ sung",
                    "lớp/người",
                    "item",
                    str(n),
                    str(n * rng.randint(10, 40)),
                )
            )
    spec.total_is_wrong = rng.random() < WRONG_TOTAL_RATE
    _fix_total(spec, rng, wrong=spec.total_is_wrong)
