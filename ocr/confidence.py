"""Confidence as a probability: what evidence a reading has, and how often such evidence was right.

Tesseract's own character confidences are not probabilities: on clean type they
are ~0.99 whether or not the digit is right, and on handwriting or blurred photos a
wrong digit can still score 0.95. Two things make them usable:

1. **Independent looks.** Every cell is read three times, from three renderings
   (free and digits-only charsets, two text heights and stroke weights); the looks
   vote on the *value*. Unanimity is strong evidence; a split is a reason to ask a
   person.
2. **Calibration.** Readings are put in buckets by the kind of evidence (two reads
   agreeing, disagreeing, a blank cell, a dash, a lone stroke) and, within a bucket,
   by the surest agreeing look's confidence. ``formscan calibrate DIR`` measures, on samples
   with ground truth, how often each bucket and score was right and stores the
   curve (monotone, fitted by pool-adjacent-violators) in ``ocr/calibration.json``;
   a reading's confidence is then the measured frequency.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")

# Evidence buckets.
READS_AGREE = "reads_agree"  # every look read the same value
READS_MAJORITY = "reads_majority"  # most looks did
READS_SPLIT = "reads_split"  # no majority: the first look's value, barely supported
BLANK = "blank"
DASH = "dash"
LONE_STROKE = "lone_stroke"
TEXT_LAYER = "text_layer"
# The scan reader's buckets (ocr.combined): PP-OCR (and the digit model on handwriting)
# read the value Tesseract voted for; or one of them read another value (a veto); or
# ink isolation and the cell's own view disagree on whether it holds marks at all.
ENGINES_AGREE = "engines_agree"
ENGINES_DISAGREE = "engines_disagree"
VIEWS_DISAGREE = "views_disagree"
# A long amount read across both sub-columns of a single-value row (ocr.pipeline).
SPILLED = "spilled"
UNPARSED = "unparsed"
# Suffix of a bucket whose reading takes part in a sum that adds up with every part
# read (ocr.checks.support_by_arithmetic): calibrated as a curve of its own.
SUM_SUPPORT = "+sum"

# Before any calibration is measured, a bucket's score is used as is, except that
# disagreeing reads are capped: two engines disagreeing is never "probably right".
UNCALIBRATED_DISAGREE_CAP = 0.5
# A curve step needs this many samples; fewer are merged with a neighbour, so that a
# handful of lucky readings cannot claim certainty.
MIN_STEP_SAMPLES = 25


@dataclass(frozen=True)
class Evidence:
    """Why we believe a cell's value: the bucket and a raw score in [0, 1]."""

    bucket: str
    score: float


@dataclass(frozen=True)
class Curve:
    """A monotone step function: score >= thresholds[i] -> probabilities[i]."""

    thresholds: tuple[float, ...]
    probabilities: tuple[float, ...]
    samples: int

    def __call__(self, score: float) -> float:
        """The calibrated probability for a raw score (a step function)."""
        p = self.probabilities[0] if self.probabilities else score
        for threshold, prob in zip(self.thresholds, self.probabilities, strict=True):
            if score >= threshold:
                p = prob
        return p


def probability(evidence: Evidence) -> float:
    """The calibrated probability that a reading with this evidence is right."""
    if evidence.bucket == TEXT_LAYER:
        return evidence.score
    curves = _curves()
    unsupported = evidence.bucket.removesuffix(SUM_SUPPORT)
    base = unsupported.split("/", 1)[0]  # "reads_agree/clear" falls back to "reads_agree"
    curve = curves.get(evidence.bucket) or curves.get(unsupported) or curves.get(base)
    if curve is not None:
        return curve(evidence.score)
    if base in (READS_MAJORITY, READS_SPLIT, ENGINES_DISAGREE, VIEWS_DISAGREE):
        return min(evidence.score, UNCALIBRATED_DISAGREE_CAP)
    return evidence.score


def with_sum_support(bucket: str) -> str:
    """The bucket of the same evidence with a sum that adds up behind it."""
    return bucket if bucket.endswith(SUM_SUPPORT) else bucket + SUM_SUPPORT


@cache
def _curves() -> dict[str, Curve]:
    if not CALIBRATION_FILE.exists():
        return {}
    data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    return {
        bucket: Curve(tuple(c["thresholds"]), tuple(c["probabilities"]), int(c["samples"]))
        for bucket, c in data["buckets"].items()
    }


def fit_curve(observations: Sequence[tuple[float, bool]]) -> Curve:
    """Monotone (non-decreasing) fit of P(right | score) by pool-adjacent-violators.

    Blocks hold at least ``MIN_STEP_SAMPLES`` observations and use Laplace's rule
    (right + 1) / (n + 2), so no step claims a certainty the data cannot show.
    """
    ordered = sorted(observations, key=lambda o: o[0])
    blocks: list[list[float]] = []  # [min_score, right, n, max_score]
    for score, ok in ordered:
        # Equal scores always share a block: a step cannot split what it cannot tell apart.
        if not blocks or (blocks[-1][2] >= MIN_STEP_SAMPLES and score > blocks[-1][3]):
            blocks.append([score, 0.0, 0.0, score])
        blocks[-1][1] += ok
        blocks[-1][2] += 1
        blocks[-1][3] = score
    if len(blocks) > 1 and blocks[-1][2] < MIN_STEP_SAMPLES:
        last = blocks.pop()
        blocks[-1][1] += last[1]
        blocks[-1][2] += last[2]
    merged: list[list[float]] = []
    for block in blocks:
        merged.append(block)
        while len(merged) > 1 and _rate(merged[-2]) >= _rate(merged[-1]):
            top = merged.pop()
            merged[-1][1] += top[1]
            merged[-1][2] += top[2]
    return Curve(
        thresholds=tuple(round(b[0], 6) for b in merged),
        probabilities=tuple(round(_rate(b), 4) for b in merged),
        samples=len(ordered),
    )


def _rate(block: list[float]) -> float:
    return (block[1] + 1) / (block[2] + 2)


def write_calibration(
    observations: Iterable[tuple[Evidence, bool]], *, source: str, path: Path = CALIBRATION_FILE
) -> dict[str, Curve]:
    """Fit one curve per bucket and store them; returns the curves."""
    by_bucket: dict[str, list[tuple[float, bool]]] = {}
    for evidence, ok in observations:
        if evidence.bucket != TEXT_LAYER:
            by_bucket.setdefault(evidence.bucket, []).append((evidence.score, ok))
    curves = {bucket: fit_curve(obs) for bucket, obs in sorted(by_bucket.items())}
    payload = {
        "source": source,
        "buckets": {
            b: {
                "thresholds": list(c.thresholds),
                "probabilities": list(c.probabilities),
                "samples": c.samples,
            }
            for b, c in curves.items()
        },
    }
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    _curves.cache_clear()
    return curves
