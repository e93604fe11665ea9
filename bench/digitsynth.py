"""Digit images for training and measuring the handwritten-digit recogniser.

Real handwriting comes from scikit-learn's ``load_digits`` (the UCI optical
recognition of handwritten digits test set: 1,797 digits by 43 writers, 8x8 with 17
grey levels). The file carries no writer ids but is stored writer after writer, so
**contiguous index blocks approximate writer separation**: a random split would put
the same person's digits on both sides and measure memory of that person's hand,
not reading of a stranger's. The blocks:

* 0-1149    training writers
* 1150-1437 validation writers (model choice, confidence calibration)
* 1438-1796 held-out writers: never trained on, also painted into test forms

Handwriting fonts (Debian packages) are split likewise: the seven fonts that
``bench/samples.py`` writes its handwritten forms with are held out, the
other families train. Fonts are a weak stand-in for people; they add pen shapes
(open 4s, crossed 7s) the 43 writers lack.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

TRAIN_BLOCK = range(0, 1150)
VALIDATION_BLOCK = range(1150, 1438)
HELD_OUT_BLOCK = range(1438, 1797)

# Fonts that bench/samples.py writes with: held out from training.
HELD_OUT_FONTS = (
    "dkg.ttf",
    "Humor-Sans.ttf",
    "ComicNeue-Regular.otf",
    "KleeOne-Regular.ttf",
    "Breip.ttf",
    "BecauseWeLearn-Regular.otf",
    "Kristi.ttf",
)
# Other handwriting families in Debian (fonts-bwht, fonts-sjfonts, fonts-rufscript,
# fonts-leckerli-one, fonts-yusei-magic, fonts-seto, fonts-yozvox-yozfont).
TRAIN_FONTS = (
    "BecauseWeBuild-Regular.otf",
    "BecauseWeConnect-Regular.otf",
    "BecauseWeCreate-Regular.otf",
    "BecauseWeMentor-Regular.otf",
    "BecauseWeOrganize-Regular.otf",
    "Delphine.ttf",
    "SteveHand.ttf",
    "Rufscript010.ttf",
    "LeckerliOne-Regular.ttf",
    "YuseiMagic-Regular.ttf",
    "setofont.ttf",
    "YOzRN_.ttf",
)
# Typed (print) fonts: the first ones fit the handwriting score, the others measure it.
TYPED_TRAIN_FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "LiberationSans-Regular.ttf")
TYPED_HELD_OUT_FONTS = (
    "LiberationSerif-Regular.ttf",
    "NotoSans-Regular.ttf",
    "NotoSerif-Regular.ttf",
    "FreeSans.ttf",
    "Carlito-Regular.ttf",
)
# Debian packages holding the fonts above.
FONT_PACKAGES = (
    "fonts-dkg-handwriting fonts-humor-sans fonts-comic-neue fonts-klee fonts-breip "
    "fonts-bwht fonts-kristi fonts-sjfonts fonts-rufscript fonts-leckerli-one "
    "fonts-yusei-magic fonts-seto fonts-yozvox-yozfont fonts-dejavu-core fonts-liberation2 "
    "fonts-noto-core fonts-freefont-ttf fonts-crosextra-carlito"
)
# Pen colours as BGR: blue ballpoint, black gel, and print black for typed cells.
BLUE_INKS = ((160, 50, 30), (140, 60, 40), (120, 40, 20))
BLACK_INKS = ((35, 30, 30), (50, 45, 45))
PRINT_INK = (20, 20, 20)


def say(line: str) -> None:
    """Print one line of figures (benchmarks are commands that print)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@cache
def font_paths() -> dict[str, Path]:
    """Installed font files by file name (fontconfig's list)."""
    out = subprocess.run(["fc-list", ":", "file"], capture_output=True, text=True, check=True)
    paths = [Path(line.split(":")[0]) for line in out.stdout.splitlines() if line.strip()]
    return {p.name: p for p in paths}


def available_fonts(names: tuple[str, ...]) -> list[Path]:
    """The named fonts that are installed (training prints which ones it used)."""
    index = font_paths()
    return [index[n] for n in names if n in index]


@cache
def sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 digits (grey 0-16) and their labels, in the file's writer order."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.images.astype(np.float32), data.target.astype(np.int64)


def writer_ink(image8: np.ndarray, *, size_px: int = 32) -> np.ndarray:
    """An 8x8 digit as a pen stroke image: ink in [0, 1] at ``size_px``.

    The 8x8 values count set pixels of 4x4 blocks of the writer's 32x32 bitmap;
    cubic upsampling and a soft threshold give back a stroke of plausible width.
    """
    up = cv2.resize(image8 / 16.0, (size_px, size_px), interpolation=cv2.INTER_CUBIC)
    return np.clip((up - 0.3) / 0.35, 0.0, 1.0).astype(np.float32)


@cache
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def font_ink(path: Path, text: str, *, size: int = 48) -> np.ndarray:
    """Text in a font as ink in [0, 1], cropped to its ink."""
    font = _font(path, size)
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new("L", (right - left + 8, bottom - top + 8), 0)
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), text, fill=255, font=font)
    ink = np.asarray(canvas, np.float32) / 255.0
    return _crop(ink)


def _crop(ink: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(ink > 0.1)
    if ys.size == 0:
        return ink
    return ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def augment_ink(ink: np.ndarray, rng: np.random.Generator, *, strength: float = 1.0) -> np.ndarray:
    """Slant, rotation, scale, elastic distortion and pen width, as different hands vary."""
    h, w = ink.shape
    pad = max(h, w) // 2
    img = cv2.copyMakeBorder(ink, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    center = (img.shape[1] / 2, img.shape[0] / 2)
    matrix = cv2.getRotationMatrix2D(center, rng.uniform(-8, 8) * strength, rng.uniform(0.9, 1.1))
    shear = rng.uniform(-0.35, 0.35) * strength  # slant, about the glyph's centre
    matrix[0, 1] += shear
    matrix[0, 2] -= shear * center[1]
    img = cv2.warpAffine(img, matrix, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR)
    img = _elastic(img, rng, alpha=rng.uniform(0, 3.0) * strength * max(h, w) / 32)
    img = _pen_width(img, rng, scale=max(h, w) / 32)
    return _crop(img)


def _elastic(img: np.ndarray, rng: np.random.Generator, *, alpha: float) -> np.ndarray:
    """Smooth random displacement: the wobble of a hand, not of a printer."""
    if alpha <= 0:
        return img
    h, w = img.shape
    sigma = max(h, w) / 8
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    norm = max(float(np.abs(dx).max()), float(np.abs(dy).max()), 1e-6)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x, map_y = xs + dx / norm * alpha, ys + dy / norm * alpha
    return cv2.remap(img, map_x, map_y, interpolation=cv2.INTER_LINEAR)


def _pen_width(img: np.ndarray, rng: np.random.Generator, *, scale: float) -> np.ndarray:
    steps = int(rng.integers(-1, 3))
    k = max(1, round(2 * scale))
    kernel = np.ones((k, k), np.uint8)
    if steps > 0:
        return cv2.dilate(img, kernel, iterations=steps)
    if steps < 0:
        eroded = cv2.erode(img, kernel)
        return eroded if eroded.max() > 0.5 else img
    return img


def non_digit_ink(rng: np.random.Generator) -> np.ndarray:
    """A mark that is not a digit: dash, dot, blob, cross or scribble."""
    kind = rng.integers(0, 5)
    canvas = np.zeros((40, 40), np.float32)
    thick = int(rng.integers(2, 6))
    if kind == 0:  # dash, slightly tilted
        y = int(rng.integers(15, 25))
        cv2.line(
            canvas,
            (int(rng.integers(2, 10)), y),
            (int(rng.integers(28, 38)), y + int(rng.integers(-3, 4))),
            1.0,
            thick,
        )
    elif kind == 1:  # dot or blob
        cv2.circle(canvas, (20, 20), int(rng.integers(2, 9)), 1.0, -1)
    elif kind == 2:  # cross ("x")
        cv2.line(canvas, (8, 8), (32, 32), 1.0, thick)
        cv2.line(canvas, (32, 8), (8, 32), 1.0, thick)
    elif kind == 3:  # horizontal rule fragment
        cv2.line(canvas, (0, 20), (39, 20), 1.0, max(1, thick - 2))
    else:  # scribble
        pts = rng.integers(5, 35, (5, 2)).astype(np.int32)
        cv2.polylines(canvas, [pts], False, 1.0, thick)
    return _crop(augment_ink(canvas, rng, strength=0.5))


@dataclass(frozen=True)
class CellStyle:
    """How one cell is rendered: size, ink, rules and scan degradation."""

    height_px: int
    ink_bgr: tuple[int, int, int]
    spacing: float  # gap between digits as a share of digit height; < 0 touches
    has_rules: bool
    jpeg_quality: int
    noise: float


def random_style(rng: np.random.Generator, *, is_typed: bool = False) -> CellStyle:
    """A cell as scans of this form show it: 40-70 px tall at 200-300 dpi."""
    if is_typed:
        ink = PRINT_INK
    else:
        inks = BLUE_INKS + BLACK_INKS
        ink = inks[int(rng.integers(0, len(inks)))]
    return CellStyle(
        height_px=int(rng.integers(40, 72)),
        ink_bgr=ink,
        spacing=float(rng.uniform(0.02, 0.12)) if is_typed else float(rng.uniform(-0.12, 0.35)),
        has_rules=bool(rng.random() < 0.7),
        jpeg_quality=int(rng.integers(35, 95)),
        noise=float(rng.uniform(0, 10)),
    )


def compose_cell(
    inks: list[np.ndarray], style: CellStyle, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Paint digit inks side by side into a cell crop; returns (gray, BGR).

    Digits are 45-70 % of the cell height with a little baseline wobble, over grey
    rule remnants at the borders, then JPEG-compressed with scan noise.
    """
    digit_h = int(style.height_px * rng.uniform(0.45, 0.7))
    scaled = []
    for ink in inks:
        factor = digit_h * rng.uniform(0.92, 1.08) / max(ink.shape[0], 1)
        size = (max(2, round(ink.shape[1] * factor)), max(2, round(ink.shape[0] * factor)))
        scaled.append(cv2.resize(ink, size, interpolation=cv2.INTER_AREA))
    gap = round(style.spacing * digit_h)
    width = sum(s.shape[1] for s in scaled) + gap * (len(scaled) - 1) + int(digit_h * 1.2) + 10
    ink_layer = np.zeros((style.height_px, max(width, style.height_px)), np.float32)
    x = int(rng.integers(4, int(digit_h * 0.6) + 5))
    base = (style.height_px + digit_h) // 2
    for s in scaled:
        y1 = min(style.height_px - 1, base + int(rng.integers(-2, 3)))
        y0 = max(0, y1 - s.shape[0])
        region = ink_layer[y0:y1, x : x + s.shape[1]]
        np.maximum(region, s[-(y1 - y0) :, : region.shape[1]], out=region)
        x += s.shape[1] + gap
    return _render(ink_layer, style, rng)


def _render(
    ink_layer: np.ndarray, style: CellStyle, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    h, w = ink_layer.shape
    paper = np.full((h, w, 3), rng.uniform(225, 250), np.float32)
    if style.has_rules:
        grey = rng.uniform(60, 160)
        t = int(rng.integers(1, 4))
        if rng.random() < 0.6:
            paper[:t] = grey
        if rng.random() < 0.6:
            paper[-t:] = grey
        if rng.random() < 0.5:
            paper[:, :t] = grey
    alpha = np.clip(ink_layer, 0, 1)[..., None]
    colour = paper * (1 - alpha) + np.array(style.ink_bgr, np.float32) * alpha
    colour += rng.normal(0, style.noise, colour.shape).astype(np.float32)
    colour = cv2.GaussianBlur(np.clip(colour, 0, 255).astype(np.uint8), (3, 3), 0.6)
    ok, buf = cv2.imencode(".jpg", colour, [cv2.IMWRITE_JPEG_QUALITY, style.jpeg_quality])
    colour = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else colour
    return cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY), colour
