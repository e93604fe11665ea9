from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocr import confidence
from ocr.confidence import (
    READS_AGREE,
    READS_SPLIT,
    Evidence,
    fit_curve,
    probability,
    write_calibration,
)


def test_fit_curve_is_monotone_and_never_certain() -> None:
    obs = [(i / 100, i % 7 != 0 or i > 80) for i in range(100)] * 3
    curve = fit_curve(obs)
    assert list(curve.probabilities) == sorted(curve.probabilities)
    assert all(0 < p < 1 for p in curve.probabilities)
    assert curve(0.99) >= curve(0.0)


def test_fit_curve_reflects_measured_error_rate() -> None:
    obs = [(0.9, True)] * 90 + [(0.9, False)] * 10
    assert fit_curve(obs)(0.9) == pytest.approx(91 / 102, abs=1e-3)


def test_probability_uses_written_curves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "calibration.json"
    monkeypatch.setattr(confidence, "CALIBRATION_FILE", path)
    confidence._curves.cache_clear()
    observations = [(Evidence(READS_AGREE, 0.99), True)] * 200
    observations += [(Evidence(READS_SPLIT, 0.99), i % 2 == 0) for i in range(200)]
    write_calibration(observations, source="test", path=path)
    assert json.loads(path.read_text())["source"] == "test"
    assert probability(Evidence(READS_AGREE, 0.99)) > 0.98
    assert probability(Evidence(READS_SPLIT, 0.99)) == pytest.approx(0.5, abs=0.05)
    confidence._curves.cache_clear()


def test_probability_uncalibrated_disagreement_is_capped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(confidence, "CALIBRATION_FILE", tmp_path / "missing.json")
    confidence._curves.cache_clear()
    assert probability(Evidence(READS_SPLIT, 0.99)) <= 0.5
    confidence._curves.cache_clear()
