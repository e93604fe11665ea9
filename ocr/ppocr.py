"""The only module that talks to the PP-OCRv4 text-line recogniser (onnxruntime).

A second reader of value cells, independent of Tesseract: a CRNN/SVTR network trained
on large real data, which reads handwriting-like and degraded digits better than
Tesseract's LSTM. Only its recognition model is used (the grid already says where the
text is), run directly on onnxruntime:

- **The model comes from a package.** ``rapidocr-onnxruntime`` ships
  ``ch_PP-OCRv4_rec_infer.onnx`` (10.9 MB, Apache-2.0) with its character list in the
  model's metadata; it is found with ``importlib.util.find_spec`` and never
  downloaded. Nothing of that package is imported.
- **One session per process, one thread.** The service runs one OCR process per core;
  onnxruntime's own thread pools would only fight over the same cores (two threads on
  two busy cores were slower than one).
- **Decoding is restricted.** The model knows 6,623 characters and, left free, turns a
  smudged "3" into "月". Each frame's probabilities are first folded onto the symbols
  a value cell may hold (``DIGIT_CHARS``): a class that *looks like* one of them adds
  to it (``LOOKALIKES``: "O", "θ" and "。" are a 0 in a number cell, "一" is a dash,
  full-width digits are digits), the rest is dropped. CTC decoding then takes, frame
  by frame, the best of the blank and those symbols. Without the folding, a round
  zero the network calls "O" or "。" loses to the blank and the cell reads empty.

Errors::

    EngineError
    ├─ EngineMissingError   the package or its model file is not installed
    └─ RecogniserError      onnxruntime failed to load or run the model

Why no batching by default: grouping crops of similar width into one run saved
nothing measurable on one core (the network's cost is per pixel column), and a batch
pads every crop to its widest member; ``BATCH_SIZE`` keeps the option measurable.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from ocr.errors import EngineError, EngineMissingError

# The wheel that carries the model, and the model's path inside it.
MODEL_PACKAGE = "rapidocr_onnxruntime"
MODEL_RESOURCE = "models/ch_PP-OCRv4_rec_infer.onnx"
# Install hint for EngineMissingError: the dependency declared in pyproject.toml.
MISSING_FIX = (
    "Install formscan with its dependencies (pip install formscan brings "
    "rapidocr-onnxruntime and onnxruntime)."
)
# What a value cell may hold: digits, the separators clerks use, a minus-like dash, the
# space of "12 500 000" and the "x" clerks write for none. The "đ" of an amount is left
# out: the model's character set has none, and the number reads the same without it.
DIGIT_CHARS = "0123456789.,- x"
# The model was trained on lines 48 px tall (PP-OCRv4 rec input is 3 x 48 x W).
INPUT_HEIGHT_PX = 48
# PaddleOCR pads every line to at least this width (a 320/48 aspect) at inference;
# the network's frames near a narrow crop's right end read worse without it.
MIN_INPUT_WIDTH_PX = 320
# Wider than any value cell at 48 px (a 13-digit amount with separators is ~700 px);
# caps the cost of a crop that is mostly a stray line.
MAX_INPUT_WIDTH_PX = 1600
# White margin added around a crop, as a share of its height: the network was trained
# on detector boxes that leave some paper around the text, not on tight ink boxes.
PAD_SHARE = 0.25
# Crops per onnxruntime run (see the module docstring: 1 measured as fast as 6).
BATCH_SIZE = 1
# Classes of the model's character set that, inside a number cell, can only be the
# symbol they are listed under: letters and CJK marks the network gives round zeros,
# upright ones and flat dashes (measured on rendered digits: a lone "0" came out as
# "。" or "θ", a "-" partly as "一"), and full-width forms of every symbol.
LOOKALIKES: dict[str, str] = {
    "0": "OoθΘ〇○。°ОоΟο０",
    "1": "lI|丨１",
    "-": "一—–－_~",
    ".": "·．",
    ",": "，、",
    "x": "X×ｘ",
    **{d: chr(ord("０") + int(d)) for d in "23456789"},
}
# How many runner-up characters each CharRead keeps.
N_ALTERNATIVES = 2
# Index of CTC's blank class in the model's output (PaddleOCR's convention).
BLANK_INDEX = 0


class RecogniserError(EngineError):
    """onnxruntime could not load or run the recognition model."""

    code = "recogniser_failed"
    fix = (
        "Reinstall formscan's dependencies (onnxruntime); if it persists, contact the "
        "administrator."
    )


@dataclass(frozen=True)
class CharRead:
    """One decoded character: its probability and the runner-ups at its strongest frame.

    ``alternatives`` are (character, probability) pairs among the allowed characters,
    best first; the blank is given as ``""`` (the network thought nothing was there).
    """

    char: str
    prob: float
    alternatives: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class LineRead:
    """What the recogniser read in one crop.

    ``confidence`` is the weakest character's probability (a number is as doubtful as
    its weakest digit); for an empty text it is how surely every frame was blank.
    ``margin`` is the smallest gap between a chosen character and its runner-up, the
    blank included: small when a digit could as well be another, or not be there.
    Both run from 0 to 1.
    """

    text: str
    confidence: float
    margin: float
    chars: tuple[CharRead, ...]


class Recogniser:
    """A loaded PP-OCRv4 recognition model and its character list."""

    def __init__(self, model_path: Path) -> None:
        """Load the model in single-thread mode; see ``load_recogniser`` for the cached one."""
        self._session = _open_session(model_path)
        self._input_name: str = self._session.get_inputs()[0].name
        self.characters = _model_characters(self._session)
        self._folds: dict[str, tuple[tuple[str, ...], npt.NDArray[np.float32]]] = {}

    def recognise(
        self, crops: Sequence[np.ndarray], *, allowed: str = DIGIT_CHARS
    ) -> list[LineRead]:
        """Read each crop (grayscale or BGR uint8, dark text on light paper), in order."""
        if not crops:
            return []
        symbols, fold = self._folding(allowed)
        order = sorted(range(len(crops)), key=lambda i: _scaled_width(crops[i]))
        results: dict[int, LineRead] = {}
        for start in range(0, len(order), BATCH_SIZE):
            chunk = order[start : start + BATCH_SIZE]
            probs = self._run(_batch([prepare_crop(crops[i]) for i in chunk]))
            for n, i in enumerate(chunk):
                results[i] = decode(probs[n] @ fold, symbols)
        return [results[i] for i in range(len(crops))]

    def _folding(self, allowed: str) -> tuple[tuple[str, ...], npt.NDArray[np.float32]]:
        """Symbols (blank first) and the C x S matrix that sums each class onto its symbol."""
        key = "".join(sorted(set(allowed)))
        if key not in self._folds:
            self._folds[key] = fold_matrix(self.characters, key)
        return self._folds[key]

    def _run(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        try:
            (probs,) = self._session.run(None, {self._input_name: batch})
        except Exception as exc:  # onnxruntime raises its own pybind11 exception types
            raise RecogniserError(f"The text recogniser failed on a batch: {exc}") from exc
        return np.asarray(probs, dtype=np.float32)


def fold_matrix(
    characters: Sequence[str], allowed: str
) -> tuple[tuple[str, ...], npt.NDArray[np.float32]]:
    """The blank and the allowed symbols, and which model classes count for each.

    Column 0 is the blank (class 0); column j > 0 sums the class of ``symbols[j]`` and
    the classes of its ``LOOKALIKES``. Classes that are none of these count for nothing.
    """
    symbols = ("", *sorted(set(allowed)))
    owner = {ch: j for j, ch in enumerate(symbols) if j}
    for symbol, looks in LOOKALIKES.items():
        if symbol in owner:
            owner.update({ch: owner[symbol] for ch in looks if ch not in owner})
    fold = np.zeros((len(characters), len(symbols)), dtype=np.float32)
    fold[BLANK_INDEX, 0] = 1.0
    for i, ch in enumerate(characters):
        if i != BLANK_INDEX and ch in owner:
            fold[i, owner[ch]] = 1.0
    return symbols, fold


def find_model(package: str = MODEL_PACKAGE, resource: str = MODEL_RESOURCE) -> Path:
    """Path of the recognition model inside its installed package.

    The package is located, not imported: its ``__init__`` would import its whole OCR
    pipeline (OpenCV, Shapely, pyclipper), none of which is used here. ``package`` and
    ``resource`` are parameters so that a missing installation can be tested without
    uninstalling anything.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EngineMissingError(
            f"The text recogniser's model package '{package}' is not installed.", fix=MISSING_FIX
        )
    path = Path(next(iter(spec.submodule_search_locations))) / resource
    if not path.is_file():
        raise EngineMissingError(
            f"The text recogniser's model '{resource}' is missing from '{package}'.",
            fix=MISSING_FIX,
        )
    return path


@cache
def load_recogniser() -> Recogniser:
    """The process's one recogniser, loaded on first use (0.1-0.3 s)."""
    return Recogniser(find_model())


def recognise(crops: Sequence[np.ndarray], *, allowed: str = DIGIT_CHARS) -> list[LineRead]:
    """Read crops with the process's recogniser; one LineRead per crop, in order."""
    return load_recogniser().recognise(crops, allowed=allowed)


def _open_session(model_path: Path):  # type: ignore[no-untyped-def]
    """An onnxruntime session with one thread, or the engine errors that explain why not."""
    try:
        import onnxruntime as ort  # type: ignore[import-untyped]  # 1.32 ships no py.typed
    except ImportError as exc:
        raise EngineMissingError("onnxruntime is not installed.", fix=MISSING_FIX) from exc
    if not model_path.is_file():
        raise EngineMissingError(
            f"The text recogniser's model {model_path.name} is missing.", fix=MISSING_FIX
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # warnings about unused initialisers are noise here
    try:
        return ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime's pybind11 exceptions share no public base
        raise RecogniserError(f"The text recogniser's model could not be loaded: {exc}") from exc


def _model_characters(session) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    """The output classes: blank, the metadata's character list, then the space.

    PaddleOCR's convention (``use_space_char``): class 0 is CTC's blank and the last
    class is " ", which the character list itself does not contain.
    """
    meta = session.get_modelmeta().custom_metadata_map
    listed = meta.get("character")
    if not listed:
        raise RecogniserError("The text recogniser's model carries no character list.")
    characters = ("", *listed.splitlines(), " ")
    n_classes = session.get_outputs()[0].shape[-1]
    if isinstance(n_classes, int) and n_classes != len(characters):
        raise RecogniserError(
            f"The model has {n_classes} classes but its character list gives {len(characters)}."
        )
    return characters


def prepare_crop(crop: np.ndarray) -> npt.NDArray[np.float32]:
    """3 x 48 x W float input: padded with paper, scaled by aspect, normalised to [-1, 1]."""
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    pad = max(2, round(PAD_SHARE * gray.shape[0]))
    padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
    width = _scaled_width(padded)
    interp = cv2.INTER_AREA if padded.shape[0] > INPUT_HEIGHT_PX else cv2.INTER_CUBIC
    resized = cv2.resize(padded, (width, INPUT_HEIGHT_PX), interpolation=interp)
    normalised = (resized.astype(np.float32) / 255.0 - 0.5) / 0.5
    return np.repeat(normalised[np.newaxis], 3, axis=0)


def _scaled_width(image: np.ndarray) -> int:
    h, w = image.shape[:2]
    return int(min(MAX_INPUT_WIDTH_PX, max(1, math.ceil(INPUT_HEIGHT_PX * w / max(1, h)))))


def _batch(inputs: list[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
    """Stack inputs, padding on the right with zeros (PaddleOCR's padding value)."""
    width = max(MIN_INPUT_WIDTH_PX, *(x.shape[2] for x in inputs))
    batch = np.zeros((len(inputs), 3, INPUT_HEIGHT_PX, width), dtype=np.float32)
    for n, x in enumerate(inputs):
        batch[n, :, :, : x.shape[2]] = x
    return batch


def decode(probs: npt.NDArray[np.float32], symbols: Sequence[str]) -> LineRead:
    """Greedy CTC decoding of a T x S matrix of folded probabilities (S = blank + symbols).

    Each frame takes its most probable column (the blank included); runs of one column
    collapse to one character and blanks vanish. A character's probability is its peak
    over its run, the frame where the network saw it best.
    """
    best = probs.argmax(axis=1)
    chars: list[CharRead] = []
    blank_probs: list[float] = []
    previous = -1
    for t, k in enumerate(best.tolist()):
        if k == 0:
            blank_probs.append(float(probs[t, 0]))
        elif k != previous:
            chars.append(_char_read(probs[t], k, symbols))
        elif float(probs[t, k]) > chars[-1].prob:
            chars[-1] = _char_read(probs[t], k, symbols)
        previous = k
    text = "".join(c.char for c in chars).strip()
    if not chars:
        sure = min(blank_probs, default=0.0)
        return LineRead(text="", confidence=sure, margin=sure, chars=())
    confidence = min(c.prob for c in chars)
    margin = min(c.prob - (c.alternatives[0][1] if c.alternatives else 0.0) for c in chars)
    return LineRead(text=text, confidence=confidence, margin=max(0.0, margin), chars=tuple(chars))


def _char_read(frame: npt.NDArray[np.float32], k: int, symbols: Sequence[str]) -> CharRead:
    ranked = [int(j) for j in np.argsort(-frame) if int(j) != k][:N_ALTERNATIVES]
    alternatives = tuple((symbols[j], min(1.0, float(frame[j]))) for j in ranked)
    return CharRead(char=symbols[k], prob=min(1.0, float(frame[k])), alternatives=alternatives)
