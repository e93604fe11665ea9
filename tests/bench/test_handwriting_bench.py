from __future__ import annotations

import numpy as np
import pytest

from bench import digitsynth as ds
from bench.handwriting import score_threshold, value_figures
from bench.train_digits import compose_number, glyph_of_cell
from ocr import handwriting as hw


def test_writer_blocks_are_disjoint_and_cover_load_digits() -> None:
    blocks = [ds.TRAIN_BLOCK, ds.VALIDATION_BLOCK, ds.HELD_OUT_BLOCK]
    indices = [i for block in blocks for i in block]
    assert indices == list(range(1797))
    assert ds.HELD_OUT_BLOCK.start == 1438  # the block the second test source paints


def test_held_out_fonts_never_train() -> None:
    assert not set(ds.HELD_OUT_FONTS) & set(ds.TRAIN_FONTS + ds.TYPED_TRAIN_FONTS)


def test_compose_number_one_ink_per_digit_and_no_leading_zero() -> None:
    rng = np.random.default_rng(3)
    for _ in range(30):
        inks, value = compose_number(ds.HELD_OUT_BLOCK, rng)
        assert 1 <= len(inks) <= 4
        assert len(str(value)) == len(inks)  # a leading zero would make the number shorter


def test_compose_cell_gives_matching_gray_and_colour_crops() -> None:
    rng = np.random.default_rng(4)
    images, _ = ds.sklearn_digits()
    ink = ds.writer_ink(images[1500])
    gray, colour = ds.compose_cell([ink, ink], ds.random_style(rng), rng)
    assert gray.dtype == np.uint8 and colour.shape == (*gray.shape, 3)
    assert gray.min() < 150 < gray.max()  # ink on paper


def test_glyph_of_cell_is_a_normalised_glyph() -> None:
    rng = np.random.default_rng(5)
    images, _ = ds.sklearn_digits()
    gray, _ = ds.compose_cell([ds.writer_ink(images[1600])], ds.random_style(rng), rng)
    glyph = glyph_of_cell(gray)
    assert glyph.shape == (hw.GLYPH_PX, hw.GLYPH_PX)
    assert glyph.max() == pytest.approx(1.0)


def test_score_threshold_separates_separable_scores() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    labels = np.array([False, False, False, True, True, True])
    threshold, accuracy, auc = score_threshold(scores, labels)
    assert 0.3 < threshold <= 0.7
    assert (accuracy, auc) == (1.0, 1.0)


def test_value_figures_counts_residual_only_for_sure_wrong_values() -> None:
    box = hw.Box(0, 0, 1, 1)
    digit = (hw.DigitRead("5", 0.9, (), box),)
    reads = [
        hw.HandwrittenRead("5", 5, 0.95, digit),  # right, accepted
        hw.HandwrittenRead("5", 5, 0.95, digit),  # wrong (truth 6), accepted: residual
        hw.HandwrittenRead("5", 5, 0.5, digit),  # wrong, flagged
        hw.HandwrittenRead("5", 5, 0.5, digit),  # right, flagged
    ]
    fig = value_figures(reads, [5, 6, 7, 5])
    assert fig["accuracy"] == 0.5
    assert fig["review"] == 0.5
    assert fig["residual"] == 0.25
    assert fig["auto_accept_precision"] == 0.5
