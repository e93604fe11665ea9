"""``python -m bench calibrate DIR``: measure how often each kind of evidence is right.

Runs the pipeline over samples with ground truth (``*.truth.json``, see ``bench.accuracy``),
pairs every reading's evidence (``Reading.bucket``, ``Reading.score``) with whether its
value was right, fits one monotone curve per bucket (``ocr.confidence.fit_curve``) and
writes ``ocr/calibration.json``. It then prints, for a range of review thresholds, the
share of fields sent to review and the residual error (wrong and not flagged) that
the threshold leaves, so the threshold in a layout is chosen on measured figures.

Calibrate on a set generated independently of the committed test samples (another
seed), so tests do not grade the data the curves were fitted on.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.accuracy import Case, load_cases
from ocr.confidence import CALIBRATION_FILE, Evidence, probability, write_calibration
from ocr.errors import OcrError
from ocr.files import read_input_files
from ocr.layout import load_layout
from ocr.load import load_document
from ocr.pipeline import EXPLANATORY_REASONS, extract
from ocr.reasons import Reason
from ocr.types import Reading

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)


def collect(cases: list[Case], *, progress: Callable[[str], None]) -> list[tuple[Reading, bool]]:
    """Every reading of every case with whether its value equals the truth."""
    pairs: list[tuple[Reading, bool]] = []
    for i, case in enumerate(cases, 1):
        try:
            pages = load_document(read_input_files(case.files))
            extraction = extract(pages, load_layout(case.layout))
        except OcrError as exc:
            progress(f"[{i}/{len(cases)}] {case.truth_path.name}: {exc.code}")
            continue
        for reading in extraction.readings:
            want = case.truth[(reading.row_key, reading.field)]
            pairs.append((reading, reading.value == want))
        progress(f"[{i}/{len(cases)}] {case.truth_path.name}")
    return pairs


def threshold_table(
    pairs: list[tuple[Reading, bool]], *, rule_flagged: Callable[[Reading], bool]
) -> str:
    """Review rate and residual error for each candidate threshold, on calibrated confidence."""
    lines = [
        "| min_confidence | review rate | residual error | accuracy |",
        "|---:|---:|---:|---:|",
    ]
    n = max(1, len(pairs))
    accuracy = sum(ok for _, ok in pairs) / n
    for threshold in THRESHOLDS:
        flagged = [_confidence(r) < threshold or rule_flagged(r) for r, _ in pairs]
        review = sum(flagged) / n
        residual = sum((not ok) and not f for (_, ok), f in zip(pairs, flagged, strict=True)) / n
        lines.append(
            f"| {threshold:.2f} | {review * 100:.1f} % | {residual * 100:.2f} % "
            f"| {accuracy * 100:.1f} % |"
        )
    return "\n".join(lines)


def _confidence(reading: Reading) -> float:
    if not reading.bucket:
        return reading.confidence
    return probability(Evidence(reading.bucket, reading.score))


def _rule_or_read_flag(reading: Reading) -> bool:
    """Flags that do not depend on the threshold: rules, unreadable, row not found."""
    return any(r not in (Reason.LOW_CONFIDENCE, *EXPLANATORY_REASONS) for r in reading.reasons)


def run_calibration(directory: Path, *, limit: int | None = None, write: bool = True) -> int:
    """Fit and write the calibration curves, then print the threshold table."""
    cases = load_cases(directory)[:limit]
    if not cases:
        sys.stderr.write(f"bench calibrate: no *.truth.json under {directory}\n")
        return 2
    pairs = collect(cases, progress=lambda m: sys.stderr.write(m + "\n"))
    observations = [(Evidence(r.bucket, r.score), ok) for r, ok in pairs if r.bucket]
    if write:
        curves = write_calibration(observations, source=f"{len(cases)} documents from {directory}")
        for bucket, curve in curves.items():
            sys.stdout.write(f"{bucket}: {curve.samples} readings, {len(curve.thresholds)} steps\n")
        sys.stdout.write(f"wrote {CALIBRATION_FILE}\n\n")
    sys.stdout.write(threshold_table(pairs, rule_flagged=_rule_or_read_flag) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench calibrate DIR [--limit N] [--dry-run]``."""
    parser = argparse.ArgumentParser(
        prog="python -m bench calibrate",
        description="Fit confidence to measured accuracy on samples with ground truth.",
    )
    parser.add_argument("directory", type=Path, metavar="DIR")
    parser.add_argument("--limit", type=int, default=None, help="at most this many cases")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the threshold table, write nothing"
    )
    args = parser.parse_args(argv)
    return run_calibration(args.directory, limit=args.limit, write=not args.dry_run)
