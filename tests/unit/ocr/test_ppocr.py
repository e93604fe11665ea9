"""The PP-OCRv4 wrapper with the real model from its package: no mocks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ocr.errors import EngineMissingError
from ocr.numbers import parse_number
from ocr.ppocr import (
    DIGIT_CHARS,
    Recogniser,
    RecogniserError,
    decode,
    find_model,
    fold_matrix,
    load_recogniser,
    prepare_crop,
    recognise,
)


def rendered_line(text: str, *, scale: float = 1.2, thickness: int = 2) -> np.ndarray:
    """Dark text on white paper, as a typed value looks in a cleaned scan."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    (w, h), base = cv2.getTextSize(text, font, scale, thickness)
    image = np.full((h + base + 16, w + 16), 255, np.uint8)
    cv2.putText(image, text, (8, h + 8), font, scale, 0, thickness, cv2.LINE_AA)
    return image


def test_recognise_rendered_amount() -> None:
    (read,) = recognise([rendered_line("12.500")])
    assert read.text == "12.500"
    assert parse_number(read.text).value == 12500
    assert 0.0 <= read.confidence <= 1.0
    assert 0.0 <= read.margin <= read.confidence
    assert [c.char for c in read.chars] == list("12.500")
    assert all(0.0 <= c.prob <= 1.0 for c in read.chars)


def test_recognise_keeps_order_of_crops_of_different_widths() -> None:
    texts = ["7", "1.234.567", "305"]
    reads = recognise([rendered_line(t) for t in texts])
    assert [r.text for r in reads] == texts


def test_recognise_restricted_to_digit_charset() -> None:
    (read,) = recognise([rendered_line("KHONG")])
    assert set(read.text) <= set(DIGIT_CHARS)
    assert all(set(alt) <= set(DIGIT_CHARS) for c in read.chars for alt, _ in c.alternatives)


def test_recognise_wider_charset_reads_letters() -> None:
    """The restriction is what keeps letters out: allowed more, the model reads them."""
    (read,) = recognise([rendered_line("KHONG")], allowed="KHONG")
    assert read.text == "KHONG"


def test_recognise_blank_crop_is_empty_text() -> None:
    (read,) = recognise([np.full((40, 120), 255, np.uint8)])
    assert read.text == ""
    assert read.chars == ()
    assert 0.0 <= read.confidence <= 1.0


def test_recognise_no_crops() -> None:
    assert recognise([]) == []


def test_model_characters_come_from_metadata() -> None:
    characters = load_recogniser().characters
    assert characters[0] == ""  # CTC blank
    assert characters[-1] == " "
    assert set("0123456789.,-x") <= set(characters)
    assert "đ" not in characters  # why DIGIT_CHARS leaves it out


def test_prepare_crop_shape_and_range() -> None:
    x = prepare_crop(rendered_line("42"))
    assert x.shape[0] == 3 and x.shape[1] == 48
    assert x.dtype == np.float32
    assert x.min() >= -1.0 and x.max() <= 1.0


def test_decode_collapses_repeats_and_blanks() -> None:
    symbols = ("", "1", "2")
    frames = [1, 1, 0, 1, 2, 2, 0]  # "1 1" split by a blank is two ones; "22" one two
    probs = np.full((len(frames), 3), 0.03, np.float32)
    for t, k in enumerate(frames):
        probs[t, k] = 0.94
    probs[4] = [0.04, 0.36, 0.6]  # the "2" is weaker at its first frame than at its peak
    read = decode(probs, symbols)
    assert read.text == "112"
    assert read.chars[2].prob == pytest.approx(0.94)
    assert read.confidence == pytest.approx(0.94)


def test_fold_matrix_restricts_and_merges_lookalikes() -> None:
    characters = ("", "月", "3", "O", "0", " ")
    symbols, fold = fold_matrix(characters, "03 ")
    assert symbols == ("", " ", "0", "3")
    probs = np.array([[0.1, 0.45, 0.25, 0.12, 0.08, 0.0]], np.float32) @ fold
    read = decode(probs, symbols)
    assert read.text == "3"  # "月" counts for nothing; "O" + "0" = 0.2 lose to "3"
    assert read.chars[0].alternatives[0] == ("0", pytest.approx(0.2))
    probs = np.array([[0.3, 0.0, 0.0, 0.45, 0.25, 0.0]], np.float32) @ fold
    assert decode(probs, symbols).text == "0"  # a round "O" in a number cell is a zero


def test_find_model_missing_package() -> None:
    with pytest.raises(EngineMissingError) as info:
        find_model(package="no_such_model_package")
    assert info.value.code == "engine_missing"
    assert "rapidocr-onnxruntime" in info.value.fix


def test_find_model_missing_file() -> None:
    with pytest.raises(EngineMissingError):
        find_model(resource="models/no-such-model.onnx")


def test_recogniser_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(EngineMissingError):
        Recogniser(tmp_path / "absent.onnx")


def test_recogniser_broken_model_is_engine_error(tmp_path: Path) -> None:
    broken = tmp_path / "rec.onnx"
    broken.write_bytes(b"not an onnx model")
    with pytest.raises(RecogniserError) as info:
        Recogniser(broken)
    assert info.value.code == "recogniser_failed"
    assert info.value.__cause__ is not None
