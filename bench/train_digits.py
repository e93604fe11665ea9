"""``python -m bench train-digits [--out ocr/models/digits.npz] [--seed 0]``.

Trains the handwritten-digit classifier of ``ocr/handwriting.py`` and writes the
model file and a JSON of its metadata beside it. Reproducible: every random choice
comes from ``--seed``; the same seed, packages and fonts give the same file.

Data (see ``bench/digitsynth.py`` for the writer blocks and why they are contiguous):
augmented copies of the training writers' digits of scikit-learn's ``load_digits``,
digits of the training handwriting fonts, and marks that are not digits (dash, dot,
cross, rule fragment, scribble). Each is painted into a cell crop (ink colour, grey
rules, JPEG, scan noise) and cut back out by the recogniser's own segmentation, so
the classifier learns from the glyphs it will see.

Three candidates are trained: a perceptron on pixels, one on pixels plus gradient
orientation histograms (scikit-learn), and a small convolutional network (PyTorch,
when installed: ``pip install 'formscan[train]'``). The one most accurate on the
validation writers is kept; all run at inference as plain numpy.
The value confidence is then calibrated (isotonic) on numbers composed from the
validation writers, and the handwriting score's logistic weights are fitted on
training-writer and training-font cells against typed cells.

Needs the ``bench`` extra (scikit-learn; ``train`` adds PyTorch) and the fonts of
``digitsynth.FONT_PACKAGES`` (``apt-get install`` them); missing fonts are
reported and skipped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

from bench import digitsynth as ds
from bench.digitsynth import say
from ocr import handwriting as hw

# Augmented copies per training-writer digit: 1,150 digits x 16 = 18,400 glyphs, which
# the validation accuracy stopped improving at (8 copies: ~1 point less).
WRITER_COPIES = 16
# Copies per (training font, digit): fonts are fewer shapes, so more variation each.
FONT_COPIES = 30
NON_DIGIT_COUNT = 3000
# Hidden units: 128 is where validation accuracy levels off; the file stays < 250 KB.
HIDDEN_UNITS = 128
EPOCHS = 60
# The convolutional candidate: 16 and 32 channels, 64 hidden units (~40k weights,
# ~160 KB); wider nets gained nothing on the validation writers.
CNN_CHANNELS = (16, 32)
CNN_HIDDEN = 64
CNN_EPOCHS = 12
# Numbers composed from validation writers for calibration and the score's fit.
CALIBRATION_CELLS = 800
SCORE_CELLS = 500


def glyph_of_cell(gray: np.ndarray) -> np.ndarray:
    """The recogniser's normalised glyph of a one-character cell (all its ink groups)."""
    mask = hw.ink_mask(gray)
    groups = hw.find_groups(mask)
    ink = hw.ink_map(gray)
    if not groups:
        return np.zeros((hw.GLYPH_PX, hw.GLYPH_PX), np.float32)
    x0, y0 = min(g.x0 for g in groups), min(g.y0 for g in groups)
    x1, y1 = max(g.x1 for g in groups), max(g.y1 for g in groups)
    return hw.normalize_glyph(ink[y0:y1, x0:x1] * (mask[y0:y1, x0:x1] > 0))


def writer_glyphs(
    indices: range, rng: np.random.Generator, *, copies: int
) -> tuple[np.ndarray, np.ndarray]:
    """Augmented glyphs of the load_digits writers in ``indices``."""
    images, labels = ds.sklearn_digits()
    xs, ys = [], []
    for i in indices:
        for _ in range(copies):
            ink = ds.augment_ink(ds.writer_ink(images[i]), rng)
            gray, _ = ds.compose_cell([ink], ds.random_style(rng), rng)
            xs.append(glyph_of_cell(gray))
            ys.append(int(labels[i]))
    return np.array(xs), np.array(ys)


def font_glyphs(
    fonts: list[Path], rng: np.random.Generator, *, copies: int
) -> tuple[np.ndarray, np.ndarray]:
    """Augmented glyphs of every digit in each font."""
    xs, ys = [], []
    for path in fonts:
        for digit in range(10):
            base = ds.font_ink(path, str(digit))
            for _ in range(copies):
                ink = ds.augment_ink(base, rng, strength=0.7)
                gray, _ = ds.compose_cell([ink], ds.random_style(rng), rng)
                xs.append(glyph_of_cell(gray))
                ys.append(digit)
    return np.array(xs), np.array(ys)


def non_digit_glyphs(rng: np.random.Generator, *, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Marks of class "not a digit"."""
    xs = []
    for _ in range(count):
        gray, _ = ds.compose_cell([ds.non_digit_ink(rng)], ds.random_style(rng), rng)
        xs.append(glyph_of_cell(gray))
    return np.array(xs), np.full(count, hw.CLASSES.index(hw.NOT_DIGIT))


def train_candidate(
    features: str, x: np.ndarray, y: np.ndarray, *, seed: int
) -> dict[str, np.ndarray]:
    """Fit one perceptron; return its weights in the model file's layout."""
    from sklearn.neural_network import MLPClassifier

    f = hw.glyph_features(x, kind=features)
    mean, scale = f.mean(axis=0), f.std(axis=0) + 1e-3
    clf = MLPClassifier(
        hidden_layer_sizes=(HIDDEN_UNITS,),
        alpha=1e-4,
        batch_size=256,
        learning_rate_init=1e-3,
        max_iter=EPOCHS,
        random_state=seed,
    )
    clf.fit((f - mean) / scale, y)
    return {
        "w1": clf.coefs_[0].astype(np.float32),
        "b1": clf.intercepts_[0].astype(np.float32),
        "w2": clf.coefs_[1].astype(np.float32),
        "b2": clf.intercepts_[1].astype(np.float32),
        "mean": mean.astype(np.float32),
        "scale": scale.astype(np.float32),
    }


def train_cnn(x: np.ndarray, y: np.ndarray, *, seed: int) -> dict[str, np.ndarray]:
    """Fit the small convolutional network with PyTorch; return numpy weights.

    PyTorch is needed only here: the shipped model runs as numpy (``ocr/handwriting``).
    """
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # two shared cores: one for this, one for the rest
    net = nn.Sequential(
        nn.Conv2d(1, CNN_CHANNELS[0], 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(CNN_CHANNELS[0], CNN_CHANNELS[1], 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(CNN_CHANNELS[1] * (hw.GLYPH_PX // 4) ** 2, CNN_HIDDEN),
        nn.ReLU(),
        nn.Linear(CNN_HIDDEN, len(hw.CLASSES)),
    )
    data_x = torch.from_numpy(x[:, None].astype(np.float32))
    data_y = torch.from_numpy(y.astype(np.int64))
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=1e-5)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, CNN_EPOCHS)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(CNN_EPOCHS):
        order = torch.randperm(len(data_x), generator=generator)
        for start in range(0, len(order), 128):
            batch = order[start : start + 128]
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(net(data_x[batch]), data_y[batch])
            loss.backward()
            optimiser.step()
        scheduler.step()
    conv1, conv2, fc1, fc2 = net[0], net[3], net[7], net[9]
    layers = {"conv1": conv1, "conv2": conv2, "fc1": fc1, "fc2": fc2}
    out = {}
    for name, layer in layers.items():
        out[f"{name}_w"] = layer.weight.detach().numpy().astype(np.float32)
        out[f"{name}_b"] = layer.bias.detach().numpy().astype(np.float32)
    return out


def as_model(arrays: dict[str, np.ndarray], kind: str) -> hw.DigitModel:
    """A DigitModel from training arrays, before calibration (raw scores pass through)."""
    empty = np.zeros(0, np.float32)
    return hw.DigitModel(kind=kind, weights=arrays, calib_x=empty, calib_y=empty, score_w=empty)


def accuracy(model: hw.DigitModel, x: np.ndarray, y: np.ndarray) -> float:
    """Share of glyphs whose most likely class is right."""
    return float(np.mean(model.predict_proba(x).argmax(axis=1) == y))


def compose_number(
    indices: range, rng: np.random.Generator, *, max_digits: int = 4
) -> tuple[list[np.ndarray], int]:
    """1-``max_digits`` digit inks from the given writers, and the number they make."""
    images, labels = ds.sklearn_digits()
    n = int(rng.integers(1, max_digits + 1))
    picks = rng.choice(np.array(indices), size=n)
    if n > 1:  # no leading zero: a clerk writes 7, not 07
        while labels[picks[0]] == 0:
            picks[0] = rng.choice(np.array(indices))
    inks = [ds.augment_ink(ds.writer_ink(images[i]), rng) for i in picks]
    return inks, int("".join(str(labels[i]) for i in picks))


def fit_calibration(
    model: hw.DigitModel, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Isotonic map from raw value score to the share of right values (validation writers)."""
    from sklearn.isotonic import IsotonicRegression

    raws, rights = [], []
    for _ in range(CALIBRATION_CELLS):
        inks, value = compose_number(ds.VALIDATION_BLOCK, rng)
        gray, _ = ds.compose_cell(inks, ds.random_style(rng), rng)
        read = hw.read_handwriting(gray, model=model)
        raw = float(np.prod([d.prob for d in read.digits if d.char.isdigit()] or [0.0]))
        raws.append(raw if read.value is not None else 0.0)
        rights.append(read.value == value)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(raws, np.array(rights, np.float64))
    return iso.X_thresholds_.astype(np.float32), iso.y_thresholds_.astype(np.float32)


def fit_score(rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Logistic weights for handwriting_score: training hands against typed training fonts.

    Two rows: with the ink colour, and for grayscale crops without it (the other cues
    must then carry the decision, so their weights differ). Returns the training
    accuracy of the grayscale row.
    """
    from sklearn.linear_model import LogisticRegression

    hand_fonts = ds.available_fonts(ds.TRAIN_FONTS)
    typed_fonts = ds.available_fonts(ds.TYPED_TRAIN_FONTS)
    feats, labels = [], []
    for k in range(SCORE_CELLS):
        if k % 2 == 0 or not hand_fonts:
            inks, _ = compose_number(ds.TRAIN_BLOCK, rng)
        else:
            inks = [
                ds.augment_ink(
                    ds.font_ink(hand_fonts[k % len(hand_fonts)], str(d)), rng, strength=0.7
                )
                for d in rng.integers(0, 10, rng.integers(1, 5))
            ]
        gray, colour = ds.compose_cell(inks, ds.random_style(rng), rng)
        feats.append(hw.handwriting_features(gray, colour))
        labels.append(1)
        gray, colour = typed_cell(typed_fonts[k % len(typed_fonts)], rng)
        feats.append(hw.handwriting_features(gray, colour))
        labels.append(0)
    x = np.array(feats)
    gray_only = x.copy()
    gray_only[:, hw.SCORE_FEATURES.index("blueness")] = 0.0  # a grayscale page has no colour
    rows, accs = [], []
    for data in (x, gray_only):
        clf = LogisticRegression(C=1.0, max_iter=1000).fit(data, labels)
        rows.append(np.concatenate([clf.intercept_, clf.coef_[0]]))
        accs.append(float(clf.score(data, labels)))
    return np.array(rows, np.float32), accs[1]


def typed_cell(font: Path, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A typed number (print, no pen variation) as a scanned cell crop."""
    number = int(rng.integers(0, 10 ** int(rng.integers(1, 5))))
    text = f"{number:,}".replace(",", ".")
    ink = ds.font_ink(font, text)
    style = ds.random_style(rng, is_typed=True)
    return ds.compose_cell([ink], style, rng)


def recalibrate(path: Path, *, seed: int) -> int:
    """Refit calibration and handwriting score of an existing model file, weights kept.

    Segmentation decides which glyphs a value is made of, so a change to it changes
    what a raw score means; the classifier's weights stay valid.
    """
    started = time.perf_counter()
    model = hw.load_digit_model(path)
    rng = np.random.default_rng(seed + 1)  # not the stream the training run used
    calib_x, calib_y = fit_calibration(as_model(model.weights, model.kind), rng)
    score_w, score_acc = fit_score(rng)
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["recalibrated"] = {"date": dt.date.today().isoformat(), "seed": seed + 1}
    save_model(path, model.weights, calib_x=calib_x, calib_y=calib_y, score_w=score_w, meta=meta)
    say(
        f"recalibrated {path.name}: {len(calib_x)} calibration points; handwriting score "
        f"(grayscale) training accuracy {score_acc:.4f}; "
        f"{time.perf_counter() - started:.0f} s"
    )
    return 0


def save_model(
    path: Path,
    weights: dict[str, np.ndarray],
    *,
    calib_x: np.ndarray,
    calib_y: np.ndarray,
    score_w: np.ndarray,
    meta: dict[str, object],
) -> None:
    """The model file (numpy arrays and the metadata as JSON text) and its JSON beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        **weights,
        calib_x=calib_x,
        calib_y=calib_y,
        score_w=score_w,
        meta=np.array(json.dumps(meta)),
    )
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


def main(argv: list[str]) -> int:
    """Train, compare and write the digit model; prints the figures it is chosen by."""
    parser = argparse.ArgumentParser(prog="python -m bench train-digits", description=__doc__)
    parser.add_argument("--out", type=Path, default=hw.MODEL_PATH)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--writer-copies", type=int, default=WRITER_COPIES)
    parser.add_argument(
        "--recalibrate",
        action="store_true",
        help="keep the weights in --out; refit only the confidence calibration and the "
        "handwriting score (after a segmentation change)",
    )
    args = parser.parse_args(argv)
    if args.recalibrate:
        return recalibrate(args.out, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    # Print fonts add the plain shapes some people write (and Comic-like hands)
    fonts = ds.available_fonts(ds.TRAIN_FONTS + ds.TYPED_TRAIN_FONTS)
    missing = sorted(set(ds.TRAIN_FONTS + ds.TYPED_TRAIN_FONTS) - {p.name for p in fonts})
    say(f"training fonts: {len(fonts)} found; missing: {', '.join(missing) or 'none'}")
    parts = [
        writer_glyphs(ds.TRAIN_BLOCK, rng, copies=args.writer_copies),
        font_glyphs(fonts, rng, copies=FONT_COPIES),
        non_digit_glyphs(rng, count=NON_DIGIT_COUNT),
    ]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    x_val, y_val = writer_glyphs(ds.VALIDATION_BLOCK, rng, copies=4)
    x_test, y_test = writer_glyphs(ds.HELD_OUT_BLOCK, rng, copies=4)
    say(f"glyphs: {len(x)} training, {len(x_val)} validation, {len(x_test)} held-out")
    figures: dict[str, dict[str, float]] = {}
    candidates = {}
    kinds = ["pixels", "pixels+orientation"]
    if importlib.util.find_spec("torch") is not None:
        kinds.append("cnn")
    else:
        say("PyTorch not installed: the convolutional candidate is skipped")
    for features in kinds:
        if features == "cnn":
            arrays = train_cnn(x, y, seed=args.seed)
        else:
            arrays = train_candidate(features, x, y, seed=args.seed)
        model = as_model(arrays, features)
        figures[features] = {
            "validation_accuracy": accuracy(model, x_val, y_val),
            "held_out_accuracy": accuracy(model, x_test, y_test),
        }
        candidates[features] = arrays
        say(
            f"  {features:<20} validation {figures[features]['validation_accuracy']:.4f}"
            f"  held-out writers {figures[features]['held_out_accuracy']:.4f}"
        )
    chosen = max(figures, key=lambda k: figures[k]["validation_accuracy"])
    arrays = candidates[chosen]
    calib_x, calib_y = fit_calibration(as_model(arrays, chosen), rng)
    score_w, score_acc = fit_score(rng)
    say(
        f"chosen: {chosen}; calibration points {len(calib_x)}; "
        f"handwriting score (grayscale) training accuracy {score_acc:.4f}"
    )
    meta = {
        "classes": list(hw.CLASSES),
        "input_px": hw.GLYPH_PX,
        "features": chosen,
        "architecture": (
            f"conv3x3x{CNN_CHANNELS[0]}-pool-conv3x3x{CNN_CHANNELS[1]}-pool-dense{CNN_HIDDEN}"
            if chosen == "cnn"
            else f"dense{HIDDEN_UNITS} over {chosen}"
        ),
        "seed": args.seed,
        "training_data": {
            "load_digits_train": [ds.TRAIN_BLOCK.start, ds.TRAIN_BLOCK.stop - 1],
            "load_digits_validation": [ds.VALIDATION_BLOCK.start, ds.VALIDATION_BLOCK.stop - 1],
            "load_digits_held_out": [ds.HELD_OUT_BLOCK.start, ds.HELD_OUT_BLOCK.stop - 1],
            "writer_copies": args.writer_copies,
            "fonts": [p.name for p in fonts],
            "font_copies": FONT_COPIES,
            "non_digit": NON_DIGIT_COUNT,
        },
        "figures": figures,
        "handwriting_score_features": list(hw.SCORE_FEATURES),
        "date": dt.date.today().isoformat(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    save_model(args.out, arrays, calib_x=calib_x, calib_y=calib_y, score_w=score_w, meta=meta)
    say(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB) in {meta['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
