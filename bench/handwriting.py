"""``python -m bench handwriting [--cells 600] [--seed 1] [--forms DIR] [--no-tesseract]``.

Measures the handwritten-digit recogniser of ``ocr/handwriting.py`` on writers and
fonts it was never trained on, and prints the figures:

* held-out writers (``load_digits`` indices 1438-1796): single digits, per digit and
  the 1/7, 4/9, 3/5, 0/6 confusions; numbers of 1-4 digits composed into cell crops
  (touching digits, rules, blue or black ink, JPEG and scan noise), with the review
  rate and residual error at the review threshold, and the reliability of the
  calibrated confidence (mean confidence against accuracy per bin);
* held-out handwriting fonts (those ``bench/samples.py`` writes with): digits
  and numbers composed the same way;
* Tesseract (digits whitelist, one mosaic call, as ``ocr/read.py`` reads) on the
  very same composed cells, so the gain is visible;
* the handwriting score: a threshold chosen on composed cells (held-out writers and
  fonts against typed cells in held-out print fonts), its accuracy there, and at the
  same threshold on the value cells of generated forms (``--forms DIR`` from
  ``python -m bench samples --kinds typed,handwritten``; the truth file's ``kind``
  says which) when given;
* milliseconds per digit (median over cells).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from bench import digitsynth as ds
from bench.digitsynth import say
from bench.train_digits import compose_number, typed_cell
from ocr import handwriting as hw

# The layout's review threshold (review.min_confidence): below it a value is flagged.
REVIEW_THRESHOLD = 0.80
CONFUSION_PAIRS = (("1", "7"), ("4", "9"), ("3", "5"), ("0", "6"))
RELIABILITY_EDGES = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0001)
# Crops are scaled so the ink is this tall before Tesseract, as ocr/read.py does.
TESSERACT_INK_HEIGHT_PX = 30

# Cells per Tesseract call: a page's worth; taller mosaics pass Tesseract's
# 32,767-pixel image limit and it refuses them.
TESSERACT_CELLS_PER_CALL = 150

Cell = tuple[np.ndarray, np.ndarray, int]  # gray, BGR, true value


def writer_digit_cells(rng: np.random.Generator, *, copies: int) -> list[Cell]:
    """Every held-out writer digit alone in a cell, ``copies`` times."""
    images, labels = ds.sklearn_digits()
    cells = []
    for i in ds.HELD_OUT_BLOCK:
        for _ in range(copies):
            ink = ds.augment_ink(ds.writer_ink(images[i]), rng)
            gray, colour = ds.compose_cell([ink], ds.random_style(rng), rng)
            cells.append((gray, colour, int(labels[i])))
    return cells


def writer_number_cells(rng: np.random.Generator, *, count: int) -> list[Cell]:
    """Numbers of 1-4 held-out writer digits."""
    cells = []
    for _ in range(count):
        inks, value = compose_number(ds.HELD_OUT_BLOCK, rng)
        gray, colour = ds.compose_cell(inks, ds.random_style(rng), rng)
        cells.append((gray, colour, value))
    return cells


def font_cells(rng: np.random.Generator, *, count: int, max_digits: int) -> list[Cell]:
    """Numbers in held-out handwriting fonts, each digit drawn and distorted apart."""
    fonts = ds.available_fonts(ds.HELD_OUT_FONTS)
    cells = []
    for k in range(count):
        font = fonts[k % len(fonts)]
        n = int(rng.integers(1, max_digits + 1))
        digits = [int(rng.integers(1 if (j == 0 and n > 1) else 0, 10)) for j in range(n)]
        inks = [ds.augment_ink(ds.font_ink(font, str(d)), rng, strength=0.5) for d in digits]
        gray, colour = ds.compose_cell(inks, ds.random_style(rng), rng)
        cells.append((gray, colour, int("".join(map(str, digits)))))
    return cells


def read_all(cells: list[Cell]) -> tuple[list[hw.HandwrittenRead], list[float]]:
    """Read every cell; also the milliseconds per digit of each."""
    model = hw.load_digit_model()
    reads, ms = [], []
    for gray, _, value in cells:
        t0 = time.perf_counter()
        reads.append(hw.read_handwriting(gray, model=model))
        ms.append((time.perf_counter() - t0) * 1000 / len(str(value)))
    return reads, ms


def value_figures(reads: list[hw.HandwrittenRead], truths: list[int]) -> dict[str, float]:
    """Accuracy, review rate and residual error (wrong and not flagged) of values."""
    right = np.array([r.value == t for r, t in zip(reads, truths, strict=True)])
    sure = np.array([r.confidence >= REVIEW_THRESHOLD for r in reads])
    return {
        "n": len(reads),
        "accuracy": float(right.mean()),
        "review": float((~sure).mean()),
        "residual": float((sure & ~right).mean()),
        "auto_accept_precision": float(right[sure].mean()) if sure.any() else float("nan"),
    }


def digit_report(reads: list[hw.HandwrittenRead], truths: list[int]) -> list[str]:
    """Per-digit accuracy and the classic confusions, as printed lines."""
    pairs = Counter((str(t), r.text) for r, t in zip(reads, truths, strict=True))
    lines = []
    per_digit = []
    for d in "0123456789":
        total = sum(n for (t, _), n in pairs.items() if t == d)
        per_digit.append(f"{d}: {pairs[(d, d)] / max(total, 1):.3f}")
    lines.append("    per digit   " + "  ".join(per_digit))
    for a, b in CONFUSION_PAIRS:
        na = sum(n for (t, _), n in pairs.items() if t == a)
        nb = sum(n for (t, _), n in pairs.items() if t == b)
        lines.append(
            f"    {a}->{b} {pairs[(a, b)]}/{na} ({pairs[(a, b)] / max(na, 1):.1%})"
            f"   {b}->{a} {pairs[(b, a)]}/{nb} ({pairs[(b, a)] / max(nb, 1):.1%})"
        )
    return lines


def reliability(reads: list[hw.HandwrittenRead], truths: list[int]) -> list[str]:
    """Mean calibrated confidence against accuracy, per confidence bin."""
    conf = np.array([r.confidence for r in reads])
    right = np.array([r.value == t for r, t in zip(reads, truths, strict=True)])
    lines = []
    for lo, hi in itertools.pairwise(RELIABILITY_EDGES):
        inside = (conf >= lo) & (conf < hi)
        if inside.any():
            lines.append(
                f"    [{lo:.2f}, {min(hi, 1.0):.2f})  n={int(inside.sum()):4d}"
                f"  mean confidence {conf[inside].mean():.3f}  accuracy {right[inside].mean():.3f}"
            )
    return lines


def tesseract_values(cells: list[Cell]) -> list[int | None]:
    """Tesseract's reading of each cell: one mosaic call, digits whitelist."""
    from ocr.mosaic import build_mosaic, words_by_band
    from ocr.numbers import parse_number
    from ocr.read import DIGIT_WHITELIST
    from ocr.tesseract import DIGITS_LANG, ocr_words

    crops = [_scaled_for_tesseract(gray) for gray, _, _ in cells]
    values: list[int | None] = []
    for start in range(0, len(crops), TESSERACT_CELLS_PER_CALL):
        mosaic = build_mosaic(crops[start : start + TESSERACT_CELLS_PER_CALL])
        words = ocr_words(mosaic.image, lang=DIGITS_LANG, psm=6, whitelist=DIGIT_WHITELIST)
        for band in words_by_band(mosaic, words):
            text = "".join(w.text for w in band)
            values.append(parse_number(text).value if text else None)
    return values


def _scaled_for_tesseract(gray: np.ndarray) -> np.ndarray:
    mask = hw.ink_mask(gray)
    ys = np.nonzero(mask.any(axis=1))[0]
    ink_h = int(ys[-1] - ys[0] + 1) if ys.size else gray.shape[0]
    factor = TESSERACT_INK_HEIGHT_PX / max(ink_h, 1)
    size = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)


def score_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """The threshold of best accuracy, that accuracy, and the ROC area."""
    candidates = np.unique(scores)
    accs = [float(np.mean((scores >= t) == labels)) for t in candidates]
    best = int(np.argmax(accs))
    pos, neg = scores[labels], scores[~labels]
    auc = float(np.mean(pos[:, None] > neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :]))
    return float(candidates[best]), accs[best], auc


def handwriting_detection(rng: np.random.Generator, *, count: int, forms: list[Path]) -> list[str]:
    """Handwritten-or-typed: threshold on composed cells, reported again on forms."""
    model = hw.load_digit_model()
    typed_fonts = ds.available_fonts(ds.TYPED_HELD_OUT_FONTS)
    hand = writer_number_cells(rng, count=count // 2) + font_cells(
        rng, count=count // 2, max_digits=4
    )
    typed = [typed_cell(typed_fonts[k % len(typed_fonts)], rng) for k in range(count)]
    scores = np.array(
        [hw.handwriting_score(g, c, model=model) for g, c, _ in hand]
        + [hw.handwriting_score(g, c, model=model) for g, c in typed]
    )
    labels = np.array([True] * len(hand) + [False] * len(typed))
    threshold, acc, auc = score_threshold(scores, labels)
    lines = [
        f"  composed cells (held-out writers+fonts vs held-out print fonts, n={len(labels)}):"
        f" threshold {threshold:.3f}  accuracy {acc:.3f}  ROC area {auc:.3f}"
    ]
    if forms:
        f_scores, f_labels = form_cell_scores(forms, model)
        if f_labels.size:
            f_acc = float(np.mean((f_scores >= threshold) == f_labels))
            _, _, f_auc = score_threshold(f_scores, f_labels)
            lines.append(
                f"  generated forms (n={f_labels.size} value cells, "
                f"{int(f_labels.sum())} handwritten): accuracy at that threshold {f_acc:.3f}"
                f"  ROC area {f_auc:.3f}"
            )
    return lines


def form_cell_scores(
    directories: list[Path], model: hw.DigitModel
) -> tuple[np.ndarray, np.ndarray]:
    """Scores of the non-blank value cells of generated forms (grayscale pages)."""
    from ocr.clean import clean_page
    from ocr.layout import load_layout
    from ocr.load import InputFile, load_document
    from ocr.pipeline import extract_cleaned

    scores, labels = [], []
    for truth_path in sorted(p for d in directories for p in d.glob("*.truth.json")):
        forms = truth_path.parent
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        if truth["kind"] not in ("typed", "handwritten"):
            continue
        files = [InputFile(name=n, data=(forms / n).read_bytes()) for n in truth["files"]]
        pages = [clean_page(p) for p in load_document(files)]
        extraction = extract_cleaned(pages, load_layout(truth["layout"]))
        values = {(f["row_key"], f["field"]): f["value"] for f in truth["fields"]}
        for reading in extraction.readings:
            if values.get((reading.row_key, reading.field)) is None or reading.box is None:
                continue
            b, image = reading.box, pages[reading.page_index or 0].image
            crop = image[b.y : b.y + b.height, b.x : b.x + b.width]
            scores.append(hw.handwriting_score(crop, None, model=model))
            labels.append(truth["kind"] == "handwritten")
    return np.array(scores), np.array(labels, bool)


def _section(
    title: str, cells: list[Cell], *, tesseract: bool, extra: Callable[..., list[str]] | None = None
) -> list[float]:
    reads, ms = read_all(cells)
    truths = [v for _, _, v in cells]
    fig = value_figures(reads, truths)
    say(
        f"{title} (n={fig['n']}): accuracy {fig['accuracy']:.3f}  review {fig['review']:.3f}"
        f"  residual {fig['residual']:.4f}  auto-accept precision "
        f"{fig['auto_accept_precision']:.4f}"
    )
    if extra is not None:
        for line in extra(reads, truths):
            say(line)
    if tesseract:
        tess = tesseract_values(cells)
        say(
            f"    Tesseract on the same cells: accuracy "
            f"{np.mean([v == t for v, t in zip(tess, truths, strict=True)]):.3f}"
        )
    return ms


def main(argv: list[str]) -> int:
    """Print the handwriting figures: held-out writers and fonts, confusions, speed."""
    parser = argparse.ArgumentParser(prog="python -m bench handwriting", description=__doc__)
    parser.add_argument("--cells", type=int, default=600, help="composed numbers per source")
    parser.add_argument("--copies", type=int, default=2, help="cells per held-out writer digit")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--forms", type=Path, nargs="*", default=[], help="directories of generated forms"
    )
    parser.add_argument("--no-tesseract", action="store_true")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    tess = not args.no_tesseract
    meta = json.loads(hw.MODEL_PATH.with_suffix(".json").read_text())
    say(
        f"model {hw.MODEL_PATH.name}: {meta['features']}, "
        f"{hw.MODEL_PATH.stat().st_size // 1024} KB, trained {meta['date']}"
    )
    ms = _section(
        "held-out writers, single digits",
        writer_digit_cells(rng, copies=args.copies),
        tesseract=tess,
        extra=digit_report,
    )
    numbers = writer_number_cells(rng, count=args.cells)
    ms += _section(
        "held-out writers, 1-4 digit numbers",
        numbers,
        tesseract=tess,
        extra=lambda r, t: ["    reliability (calibrated confidence):", *reliability(r, t)],
    )
    ms += _section(
        "held-out fonts, single digits",
        font_cells(rng, count=args.cells, max_digits=1),
        tesseract=tess,
        extra=digit_report,
    )
    ms += _section(
        "held-out fonts, 1-4 digit numbers",
        font_cells(rng, count=args.cells, max_digits=4),
        tesseract=tess,
    )
    say("handwriting score:")
    for line in handwriting_detection(rng, count=args.cells, forms=args.forms):
        say(line)
    say(f"ms per digit: median {np.median(ms):.2f}  p95 {np.percentile(ms, 95):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
