from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ocr import handwriting as hw
from ocr.errors import EngineMissingError

# load_digits indices 1438-1796 are held out from training (bench/digitsynth.py).
HELD_OUT_START = 1438


def held_out_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.images[HELD_OUT_START:], data.target[HELD_OUT_START:]


def pen_ink(image8: np.ndarray, *, height_px: int = 34) -> np.ndarray:
    """An 8x8 digit upsampled to a pen stroke: ink in [0, 1]."""
    up = cv2.resize(image8 / 16.0, (height_px, height_px), interpolation=cv2.INTER_CUBIC)
    return np.clip((up - 0.3) / 0.35, 0.0, 1.0)


def cell(inks: list[np.ndarray], *, gap_px: int = 6, height_px: int = 60) -> np.ndarray:
    """Inks side by side (gap < 0 overlaps them) on white, as a grayscale cell crop."""
    width = sum(i.shape[1] for i in inks) + gap_px * (len(inks) - 1) + 40
    canvas = np.zeros((height_px, width), np.float32)
    x = 20
    for ink in inks:
        h, w = ink.shape
        y = (height_px - h) // 2
        np.maximum(canvas[y : y + h, x : x + w], ink, out=canvas[y : y + h, x : x + w])
        x += w + gap_px
    return (245 - canvas * 200).astype(np.uint8)


def trimmed(ink: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(ink > 0.1)
    return ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def test_load_digit_model_missing_file_raises_engine_missing(tmp_path: Path) -> None:
    with pytest.raises(EngineMissingError) as info:
        hw.load_digit_model(tmp_path / "absent.npz")
    assert info.value.code == "engine_missing"


def test_model_classifies_held_out_writers_far_above_chance() -> None:
    images, labels = held_out_digits()
    cells = [cell([trimmed(pen_ink(img))]) for img in images[:100]]
    reads = [hw.read_handwriting(c) for c in cells]
    right = sum(r.value == int(t) for r, t in zip(reads, labels[:100], strict=True))
    assert right >= 80  # chance is 10; measured accuracy is well above 80


def test_read_handwriting_confidences_are_probabilities() -> None:
    images, _ = held_out_digits()
    for img in images[:20]:
        read = hw.read_handwriting(cell([trimmed(pen_ink(img))]))
        assert 0.0 <= read.confidence <= 1.0
        assert all(0.0 <= d.prob <= 1.0 for d in read.digits)
        assert all(0.0 <= p <= 1.0 for _, p in (a for d in read.digits for a in d.alternatives))


@pytest.mark.parametrize(("first", "second", "gap_px"), [(3, 5, -7), (4, 7, -5), (1, 6, -5)])
def test_read_handwriting_touching_digits_split_in_two(
    first: int, second: int, gap_px: int
) -> None:
    images, labels = held_out_digits()
    inks = [trimmed(pen_ink(images[list(labels).index(d)])) for d in (first, second)]
    crop = cell(inks, gap_px=gap_px)
    _, mask = cv2.threshold(255 - crop, 60, 1, cv2.THRESH_BINARY)
    assert cv2.connectedComponents(mask)[0] - 1 == 1  # really touching: one component
    read = hw.read_handwriting(crop)
    assert len(read.digits) == 2
    assert read.value == 10 * first + second


def test_read_handwriting_broken_four_merges_into_one_digit() -> None:
    crop = np.full((60, 60), 245, np.uint8)
    cv2.line(crop, (22, 12), (12, 36), 30, 3)  # the open left stroke
    cv2.line(crop, (12, 36), (38, 36), 30, 3)  # the bar
    cv2.line(crop, (30, 10), (30, 25), 30, 3)  # the stem, lifted above the bar
    cv2.line(crop, (30, 33), (30, 50), 30, 3)
    _, mask = cv2.threshold(255 - crop, 60, 1, cv2.THRESH_BINARY)
    assert cv2.connectedComponents(mask)[0] - 1 == 2
    read = hw.read_handwriting(crop)
    assert len(read.digits) == 1
    assert read.value == 4


def test_read_handwriting_dash_is_not_a_digit() -> None:
    crop = np.full((60, 80), 245, np.uint8)
    cv2.line(crop, (22, 31), (56, 29), 40, 3)
    read = hw.read_handwriting(crop)
    assert read.text == "-"
    assert read.value == 0  # the form's "none"


def test_read_handwriting_lone_dot_is_not_a_digit() -> None:
    crop = np.full((60, 80), 245, np.uint8)
    cv2.circle(crop, (40, 30), 3, 40, -1)
    read = hw.read_handwriting(crop)
    assert read.value is None


def test_read_handwriting_blank_crop_reads_nothing() -> None:
    read = hw.read_handwriting(np.full((60, 80), 240, np.uint8))
    assert (read.text, read.value, read.digits) == ("", None, ())


def test_read_handwriting_thousands_separator_read_by_shape() -> None:
    images, labels = held_out_digits()
    ink = {d: trimmed(pen_ink(images[list(labels).index(d)])) for d in (1, 0)}
    dot = np.zeros((5, 5))
    cv2.circle(dot, (2, 2), 2, 1.0, -1)
    crop = cell([ink[1], ink[0], ink[0], ink[0]], gap_px=6)
    # a "." on the baseline between the first and the second digit
    x = 20 + ink[1].shape[1] + 1
    y = (60 + ink[0].shape[0]) // 2 - 5
    crop[y : y + 5, x : x + 5] = np.minimum(crop[y : y + 5, x : x + 5], 245 - dot * 200)
    read = hw.read_handwriting(crop)
    assert read.text == "1.000"
    assert read.value == 1000


def test_review_text_marks_doubtful_digits() -> None:
    box = hw.Box(0, 0, 1, 1)
    read = hw.HandwrittenRead(
        "127",
        127,
        0.5,
        (
            hw.DigitRead("1", 0.99, (), box),
            hw.DigitRead("2", 0.4, (("7", 0.35),), box),
            hw.DigitRead("7", 0.95, (), box),
        ),
    )
    assert hw.review_text(read) == "1?7"


def test_handwriting_score_blank_is_zero_and_scores_are_probabilities() -> None:
    assert hw.handwriting_score(np.full((60, 80), 240, np.uint8)) == 0.0
    images, _ = held_out_digits()
    score = hw.handwriting_score(cell([trimmed(pen_ink(images[0]))]))
    assert 0.0 <= score <= 1.0
