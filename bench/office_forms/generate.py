"""One document from its seed: draw, write the DOCX, print to PDF, ink, capture, save.

``make_document`` is what each worker process runs; it needs only picklable arguments
(the spec's index, the master seed, the fonts found once by the parent) and returns
the truth it wrote, so a pool can run documents in any order and get the same bytes.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pdfplumber

from bench.office_forms import capture, handwriting, marks, render
from bench.office_forms.docx_form import build_docx
from bench.office_forms.soft_copy import write_xlsx
from bench.office_forms.spec import (
    CAPTURES,
    FONT_SIZES_PT,
    KINDS,
    RULE_EIGHTHS,
    SMALL_TYPE_MAX_PT,
    FormSpec,
    PrintedRow,
    draw_rows,
)
from ocr.layout import Layout, load_layout

LAYOUT_ID = "llw-summary-2022"
# Handwriting fonts shipped by Debian (package in the comment); only installed ones
# are used. They have digits but no Vietnamese letters, so only values use them.
HANDWRITING_FONTS = (
    "DkgHandwriting",  # fonts-dkg-handwriting
    "Humor Sans",  # fonts-humor-sans
    "Comic Neue",  # fonts-comic-neue
    "Klee One",  # fonts-klee
    "Breip",  # fonts-breip
    "Because We Learn",  # fonts-bwht
    "Kristi",  # fonts-kristi
    "Rufscript",  # fonts-rufscript
    "Leckerli One",  # fonts-leckerli-one
    "Yusei Magic",  # fonts-yusei-magic
)
# Families fontconfig lists for Vietnamese that are not body type for a form.
NOT_BODY_FONTS = ("Mono", "Seto", "Display")
# Kind and capture shares of a generated set (typed forms are most of what units send).
KIND_WEIGHTS = {"typed": 0.5, "handwritten": 0.2, "handwritten-real": 0.3}
CAPTURE_WEIGHTS = {"scan": 0.4, "fax": 0.15, "photo": 0.2, "born-digital": 0.25}
# Shares of documents that are whole reports, turned pages, or carry a seal.
WHOLE_REPORT_RATE = 0.2
TURNED_RATE = 0.12
SEAL_RATE = 0.7
SEAL_OVER_TABLE_RATE = 0.3


@dataclass(frozen=True)
class Job:
    """What a worker needs for one document (all picklable)."""

    index: int
    master_seed: int
    out_dir: Path
    body_fonts: tuple[str, ...]
    hand_fonts: tuple[str, ...]
    kinds: tuple[str, ...]
    captures: tuple[str, ...]
    soft_copies: bool


@lru_cache(maxsize=1)
def installed_fonts() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(body fonts with Vietnamese coverage, handwriting fonts), as fontconfig has them."""

    def families(*args: str) -> set[str]:
        done = subprocess.run(
            ["fc-list", *args, "family"], capture_output=True, text=True, check=False, timeout=60
        )
        return {line.split(",")[0].strip() for line in done.stdout.splitlines() if line.strip()}

    body = sorted(f for f in families(":lang=vi") if not any(n in f for n in NOT_BODY_FONTS))
    every = families(":")
    return tuple(body), tuple(f for f in HANDWRITING_FONTS if f in every)


def _weighted(rng: random.Random, weights: dict[str, float], allowed: tuple[str, ...]) -> str:
    names = [n for n in weights if n in allowed]
    return rng.choices(names, [weights[n] for n in names])[0]


def _widths(rng: random.Random, usable_cm: float, *, has_note: bool) -> tuple[float, ...]:
    stt, unit = rng.uniform(0.8, 1.3), rng.uniform(1.5, 2.6)
    count, people = rng.uniform(1.6, 2.6), rng.uniform(1.4, 2.4)
    note = rng.uniform(1.2, 2.2) if has_note else 0.0
    label = usable_cm - stt - unit - count - people - note
    widths = (stt, label, unit, count, people) + ((note,) if has_note else ())
    return tuple(round(w, 2) for w in widths)


def draw_spec(job: Job, layout: Layout) -> FormSpec:
    """Every choice of document ``job.index``, from its own seed."""
    seed = job.master_seed * 1_000_003 + job.index
    rng = random.Random(seed)
    kind = _weighted(rng, KIND_WEIGHTS, job.kinds)
    captures = tuple(c for c in job.captures if c != "born-digital" or kind == "typed")
    capture_name = _weighted(rng, CAPTURE_WEIGHTS, captures or ("scan",))
    size = rng.choice(FONT_SIZES_PT)
    small = size <= SMALL_TYPE_MAX_PT
    margins = (
        rng.uniform(1.0, 2.0),
        rng.uniform(1.0, 2.0),
        rng.uniform(1.2, 2.0) if small else rng.uniform(1.5, 3.0),
        rng.uniform(1.0, 2.0),
    )
    has_note = rng.random() < 0.8
    is_raster = capture_name != "born-digital"
    spec = FormSpec(
        name=f"office-{job.index:03d}-{kind}-{capture_name}",
        seed=seed,
        kind=kind,
        capture=capture_name,
        font=rng.choice(job.body_fonts),
        value_font=rng.choice(job.hand_fonts) if job.hand_fonts else rng.choice(job.body_fonts),
        font_size_pt=size,
        rule_eighths=rng.choice(RULE_EIGHTHS),
        widths_cm=_widths(rng, 21.0 - margins[2] - margins[3], has_note=has_note),
        margins_cm=tuple(round(m, 2) for m in margins),  # type: ignore[arg-type]
        has_note_column=has_note,
        repeat_header=rng.random() < 0.5,
        whole_report=rng.random() < WHOLE_REPORT_RATE,
        rotation_deg=rng.choice((90, 180, 270)) if is_raster and rng.random() < TURNED_RATE else 0,
        has_seal=is_raster and rng.random() < SEAL_RATE,
        seal_over_table=rng.random() < SEAL_OVER_TABLE_RATE,
        ink=rng.choice(("blue", "blue", "black")),
        dpi=rng.choice(capture.SCAN_DPIS),
        header_count=rng.choice(("Số lớp/số cuộc thi", "Số lớp/cuộc thi", "Số lớp/ số cuộc thi")),
        header_unit=rng.choice(("Đơn vị", "Đơn vị tính", "ĐVT")),
        label_variant=rng.choice(("template", "fixed", "mixed")),
    )
    if spec.kind == "handwritten" and not job.hand_fonts:  # no handwriting font installed
        spec.kind = "typed"
        spec.name = f"office-{job.index:03d}-typed-{capture_name}"
    draw_rows(layout, spec, rng, wide_units=rng.random() < 0.35)
    return spec


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower()
    return re.sub(r"[^\w]+", "", text)


def _text_in(page: pdfplumber.page.Page, box: render.CellBox) -> str:
    """Text of the characters whose centre lies in ``box`` (crops keep overlapping ones)."""

    def is_inside(obj: dict[str, object]) -> bool:
        if obj.get("object_type") != "char":
            return False
        x = (float(obj["x0"]) + float(obj["x1"])) / 2  # type: ignore[arg-type]
        y = (float(obj["top"]) + float(obj["bottom"])) / 2  # type: ignore[arg-type]
        return box.x0 <= x <= box.x1 and box.top <= y <= box.bottom

    return page.filter(is_inside).extract_text() or ""


def locate_value_cells(
    pdf: Path, rows: list[PrintedRow]
) -> list[tuple[render.CellBox | None, render.CellBox | None]]:
    """The count and people cell of every printed row, found in the PDF LibreOffice wrote.

    Table rows are matched to printed rows in order by the text of their label cell
    (pdfplumber's words inside the widest cell), so header rows, repeated headers and
    page breaks need no bookkeeping. Raises if a printed row is not found: then the
    truth could not be trusted.
    """
    found: list[tuple[render.CellBox | None, render.CellBox | None]] = []
    wanted = iter(rows)
    current = next(wanted)
    with pdfplumber.open(pdf) as document:
        pages = document.pages
        for row in render.table_rows(pdf):
            cells = sorted((c for c in row if c is not None), key=lambda c: c.x0)
            if len(cells) < 4:
                continue
            label_cell = cells[1]
            text = _norm(_text_in(pages[label_cell.page], label_cell))
            if not text or not _norm(current.label).startswith(text[:12]):
                continue
            people = None if current.is_spill else cells[4]
            found.append((cells[3], people))
            current = next(wanted, None)  # type: ignore[arg-type]
            if current is None:
                return found
    raise RuntimeError(f"row {current.key or current.label!r} not found in {pdf.name}")


def _px(box: render.CellBox, dpi: int) -> tuple[int, int, int, int]:
    """A cell box in pixels, shrunk by a rule's width so ink never lands on a rule."""
    scale = dpi / 72
    inset = 1.5
    return (
        int((box.x0 + inset) * scale),
        int((box.top + inset) * scale),
        int((box.x1 - inset) * scale),
        int((box.bottom - inset) * scale),
    )


def ink_real_digits(
    pages: list[np.ndarray], pdf: Path, spec: FormSpec, rng: random.Random
) -> list[int]:
    """Write every value of a blank printed form with held-out real digits; their indices."""
    used: list[int] = []
    boxes = locate_value_cells(pdf, spec.rows)
    for printed, (count_box, people_box) in zip(spec.rows, boxes, strict=True):
        for text, box in ((printed.count_text, count_box), (printed.people_text, people_box)):
            if not text or box is None:
                continue
            mask = handwriting.compose(text, rng, used)
            handwriting.ink_into(
                pages[box.page],
                mask,
                _px(box, capture.RENDER_DPI),
                rng,
                pen=spec.ink,
                dpi=capture.RENDER_DPI,
            )
    return used


def _signature_point(pdf: Path, spec: FormSpec, rng: random.Random) -> tuple[int, tuple[int, int]]:
    """Page and pixel where the head signs (or, for a seal over the table, a value cell)."""
    scale = capture.RENDER_DPI / 72
    if spec.seal_over_table:
        boxes = [b for b, _ in locate_value_cells(pdf, spec.rows)[-12:] if b is not None]
        box = rng.choice(boxes)
        return box.page, (int(box.x1 * scale), int((box.top + box.bottom) / 2 * scale))
    with pdfplumber.open(pdf) as document:
        for index in range(len(document.pages) - 1, -1, -1):
            hits = document.pages[index].search("THỦ TRƯỞNG")
            if hits:
                hit = hits[0]
                return index, (int((hit["x0"] + hit["x1"]) / 2 * scale), int(hit["bottom"] * scale))
    return len(document.pages) - 1, (int(400 * scale), int(700 * scale))


def _capture_pages(
    pages: list[np.ndarray], spec: FormSpec, rng: random.Random
) -> tuple[list[np.ndarray], dict[str, object]]:
    out, choices = [], {}
    for page in pages:
        if spec.capture == "scan":
            image, choices = capture.scan(page, rng, dpi=spec.dpi)
        elif spec.capture == "fax":
            image, choices = capture.fax(page, rng)
        else:
            image, choices = capture.photo(page, rng)
        out.append(capture.turn(image, spec.rotation_deg))
    return out, choices


def _save_raster(
    pages: list[np.ndarray],
    spec: FormSpec,
    out_dir: Path,
    rng: random.Random,
    choices: dict[str, object],
) -> list[str]:
    """Write the captured pages the way each capture arrives; returns the file names."""
    dpi = int(choices.get("dpi", 200))  # type: ignore[call-overload]
    if spec.capture == "fax":
        names = [f"{spec.name}-p{i}.png" for i in range(1, len(pages) + 1)]
        for name, page in zip(names, pages, strict=True):
            (out_dir / name).write_bytes(capture.encode_png(page, dpi=dpi, is_bilevel=True))
        return names
    quality = int(choices.get("jpeg_quality", 85))  # type: ignore[call-overload]
    if spec.capture == "scan" and rng.random() < 0.6:
        name = f"{spec.name}.pdf"
        (out_dir / name).write_bytes(capture.encode_jpeg_pdf(pages, dpi=dpi, quality=quality))
        return [name]
    names = [f"{spec.name}-p{i}.jpg" for i in range(1, len(pages) + 1)]
    if len(pages) == 1:
        names = [f"{spec.name}.jpg"]
    for name, page in zip(names, pages, strict=True):
        (out_dir / name).write_bytes(capture.encode_jpeg(page, dpi=dpi, quality=quality))
    return names


def truth_fields(layout: Layout, spec: FormSpec) -> list[dict[str, object]]:
    """One entry per layout field, in layout order: value and the text written."""
    printed = {r.key: r for r in spec.rows if r.key}
    fields = []
    for row_key, field_name in layout.field_keys():
        row = printed.get(row_key)
        if row is None:
            text = ""
        elif field_name == "value":
            text = row.count_text or row.people_text
        else:
            text = getattr(row, f"{field_name}_text")
        fields.append(
            {
                "row_key": row_key,
                "field": field_name,
                "value": spec.truth[(row_key, field_name)],
                "text": text,
            }
        )
    return fields


def _truth(
    layout: Layout, spec: FormSpec, files: list[str], slices: list[str], choices: dict[str, object]
) -> dict[str, object]:
    drawn = {k: v for k, v in asdict(spec).items() if k not in ("rows", "truth")}
    drawn.update(choices)
    drawn["deleted_rows"] = [
        r.key for r in layout.rows if r.fields and r.key not in {p.key for p in spec.rows}
    ]
    drawn["extra_rows"] = [asdict(r) for r in spec.rows if r.key is None]
    return {
        "layout": LAYOUT_ID,
        "files": files,
        "slices": slices,
        "kind": spec.kind,
        "seed": spec.seed,
        "source": "office-forms",
        "choices": drawn,
        "fields": truth_fields(layout, spec),
    }


def _write_soft_copies(spec: FormSpec, truth: dict[str, object], out_dir: Path) -> None:
    soft_dir = out_dir / "soft-copies"
    soft_dir.mkdir(exist_ok=True)
    typed = replace(spec, kind="typed")
    build_docx(typed).save(str(soft_dir / f"{spec.name}.docx"))
    write_xlsx(typed, soft_dir / f"{spec.name}.xlsx")
    soft = dict(
        truth,
        files=[f"{spec.name}.docx", f"{spec.name}.xlsx"],
        slices=["soft-copy", "docx", "xlsx"],
    )
    (soft_dir / f"{spec.name}.soft-truth.json").write_text(
        json.dumps(soft, ensure_ascii=False, indent=1), encoding="utf-8"
    )


def make_document(job: Job) -> dict[str, object]:
    """Render document ``job.index`` into ``job.out_dir``; returns its truth."""
    layout = load_layout(LAYOUT_ID)
    return render_spec(draw_spec(job, layout), layout, job.out_dir, soft_copies=job.soft_copies)


def render_spec(
    spec: FormSpec, layout: Layout, out_dir: Path, *, soft_copies: bool
) -> dict[str, object]:
    """Write the document ``spec`` describes and its truth into ``out_dir``; the truth."""
    rng = random.Random(spec.seed + 1)
    with tempfile.TemporaryDirectory() as tmp:
        docx_path = Path(tmp) / f"{spec.name}.docx"
        build_docx(spec).save(str(docx_path))
        pdf = render.docx_to_pdf(docx_path, Path(tmp))
        texts = render.page_texts(pdf)
        # pages the table is drawn on (a last page may hold only the signature lines)
        table_pages = len({c.page for row in render.table_rows(pdf) for c in row if c})
        slices = spec.slices + (["two-page"] if table_pages > 1 else [])
        if table_pages > 1:
            slices.append("repeated-header" if spec.repeat_header else "no-repeated-header")
        choices: dict[str, object] = {"pages": len(texts), "table_pages": table_pages}
        if spec.capture == "born-digital":
            files = [f"{spec.name}.pdf"]
            shutil.copyfile(pdf, out_dir / files[0])
        else:
            pages = render.rasterise(pdf, capture.RENDER_DPI)
            if spec.kind == "handwritten-real":
                choices["digit_indices"] = ink_real_digits(pages, pdf, spec, rng)
            if spec.has_seal:
                page_index, point = _signature_point(pdf, spec, rng)
                marks.sign_and_seal(pages[page_index], point, capture.RENDER_DPI, rng, pen=spec.ink)
            captured, capture_choices = _capture_pages(pages, spec, rng)
            choices.update(capture_choices)
            files = _save_raster(captured, spec, out_dir, rng, choices)
        truth = _truth(layout, spec, files, slices, choices)
        (out_dir / f"{spec.name}.truth.json").write_text(
            json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        if soft_copies:
            _write_soft_copies(spec, truth, out_dir)
    return truth


__all__ = ["CAPTURES", "KINDS", "Job", "installed_fonts", "make_document"]
