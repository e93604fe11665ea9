"""How a printed page reaches formscan: flatbed scan, fax, phone photo, or turned over.

These capture models are written for this generator alone and share nothing with
``bench/samples.py``: the point of a second source is that its errors are not
the first source's. Print, photocopy and ink wear come from the augraphy library
(``augraphy_print``); the optics and the files are modelled here:

- **scan**: 150-300 dpi, small skew, sensor noise, a slight blur, grey or colour, JPEG;
- **fax**: 200x100 dpi ("normal") or 200x200 ("fine"), thresholded to 1 bit, so
  rules under a pixel wide break into dotted lines; stored with square pixels as fax
  software shows it (rows doubled);
- **photo**: the page on a desk, seen in perspective, lit unevenly, a little out of
  focus, saved as a phone's JPEG;
- **turned**: the whole page rotated by 90, 180 or 270 degrees (fed upside down or
  scanned landscape).

All functions take an RGB uint8 page rendered at ``RENDER_DPI`` and a seeded RNG.
"""

from __future__ import annotations

import io
import random

import cv2
import numpy as np
from PIL import Image

# Every page is rendered once at this resolution and brought down to the capture's.
RENDER_DPI = 300
SCAN_DPIS = (150, 200, 200, 240, 300)
# Flatbed skew: feeders and hand-placed pages rarely exceed 2 degrees.
SCAN_SKEW_DEG = 1.8
# JPEG quality range of office scanners' and phones' defaults.
SCAN_JPEG_QUALITY = (45, 90)
PHOTO_JPEG_QUALITY = (55, 85)
# The page spans about this many pixels per inch in a phone photo of the whole page.
PHOTO_DPI_RANGE = (150, 210)
# Corners of the page move by up to this share of its size in a hand-held photo.
PHOTO_TILT_SHARE = 0.06
# Fax thresholds on the 0-255 grey scale: lower keeps less of a thin rule.
FAX_THRESHOLD_RANGE = (120, 175)


def _resize_to_dpi(page: np.ndarray, dpi_x: int, dpi_y: int) -> np.ndarray:
    h, w = page.shape[:2]
    size = (round(w * dpi_x / RENDER_DPI), round(h * dpi_y / RENDER_DPI))
    return cv2.resize(page, size, interpolation=cv2.INTER_AREA)


def _jpeg(page: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode as JPEG, so the file's artefacts are in the pixels too."""
    ok, data = cv2.imencode(
        ".jpg", page[..., ::-1] if page.ndim == 3 else page, [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    assert ok
    decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    return decoded[..., ::-1].copy() if decoded.ndim == 3 else decoded


def _noise(page: np.ndarray, sigma: float, rng: random.Random) -> np.ndarray:
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, sigma, page.shape)
    return np.clip(page.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def augraphy_print(page: np.ndarray, rng: random.Random, *, strength: str) -> np.ndarray:
    """Ink, paper and photocopier wear from augraphy (a pipeline built here, seeded).

    ``strength`` is ``light`` for a laser print that is scanned, ``copy`` for a page
    that went through a photocopier first.
    """
    try:
        import augraphy as ag
    except ImportError as exc:  # an optional extra: only scans and photos need it
        raise ModuleNotFoundError(
            "augraphy is missing: pip install -e '.[bench]' (docs/test-documents.md)"
        ) from exc

    seed = rng.randrange(2**31)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    ink = [
        ag.InkBleed(intensity_range=(0.1, 0.3), kernel_size=(3, 3), severity=(0.2, 0.4), p=0.5),
        ag.LowInkPeriodicLines(count_range=(2, 5), period_range=(16, 64), p=0.4),
    ]
    paper = [ag.NoiseTexturize(sigma_range=(2, 5), turbulence_range=(2, 4), p=0.6)]
    post = [ag.SubtleNoise(subtle_range=8, p=0.7)]
    if strength == "copy":
        post += [ag.DirtyDrum(line_width_range=(1, 2), noise_intensity=0.15, p=0.6)]
    # Applied one by one rather than through AugraphyPipeline, which (8.2.6) writes
    # every input page into ./augraphy_cache.
    out = page[..., ::-1].copy()  # augraphy works in OpenCV's BGR order
    for effect in (*ink, *paper, *post):
        result = effect(out)
        out = out if result is None else result  # None: the effect drew "not this time"
    out = out[..., ::-1] if out.ndim == 3 else cv2.cvtColor(out, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(out)


def _skew(page: np.ndarray, angle_deg: float) -> np.ndarray:
    h, w = page.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    white = (255, 255, 255) if page.ndim == 3 else 255
    return cv2.warpAffine(page, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=white)


def scan(page: np.ndarray, rng: random.Random, *, dpi: int) -> tuple[np.ndarray, dict[str, object]]:
    """A flatbed scan at ``dpi``; returns the image and the choices made."""
    strength = rng.choice(("light", "light", "copy"))
    out = augraphy_print(_resize_to_dpi(page, dpi, dpi), rng, strength=strength)
    angle = rng.uniform(-SCAN_SKEW_DEG, SCAN_SKEW_DEG)
    out = _skew(out, angle)
    sigma = rng.uniform(1.5, 6.0)
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 0.8))
    out = _noise(out, sigma, rng)
    is_grey = rng.random() < 0.5
    if is_grey:
        out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
    quality = rng.randint(*SCAN_JPEG_QUALITY)
    out = _jpeg(out, quality)
    return out, {
        "dpi": dpi,
        "print": strength,
        "skew_deg": round(angle, 2),
        "noise_sigma": round(sigma, 2),
        "grey": is_grey,
        "jpeg_quality": quality,
    }


def fax(page: np.ndarray, rng: random.Random) -> tuple[np.ndarray, dict[str, object]]:
    """A received fax: 1-bit, 200 dpi across and 100 or 200 down, rows doubled if 100."""
    fine = rng.random() < 0.5
    grey = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)
    grey = _resize_to_dpi(grey, 200, 200 if fine else 100)
    grey = _skew(grey, rng.uniform(-0.8, 0.8))
    grey = _noise(grey, rng.uniform(4, 14), rng)
    threshold = rng.randint(*FAX_THRESHOLD_RANGE)
    bits = np.where(grey > threshold, 255, 0).astype(np.uint8)
    speckle = np.random.default_rng(rng.randrange(2**32)).random(bits.shape) < rng.uniform(0, 4e-4)
    bits[speckle] = 0
    if not fine:
        bits = np.repeat(bits, 2, axis=0)
    return bits, {"dpi": 200, "fax_mode": "fine" if fine else "normal", "threshold": threshold}


def _background(h: int, w: int, rng: random.Random) -> np.ndarray:
    base = np.array([rng.randint(60, 140), rng.randint(50, 120), rng.randint(40, 100)], np.float32)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 12, (h, w, 1))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _lighting(h: int, w: int, rng: random.Random) -> np.ndarray:
    """A multiplicative light field: a lamp to one side and a darker far corner."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    dist = np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2) / np.hypot(w, h)
    low = rng.uniform(0.55, 0.85)
    return (1.0 - (1.0 - low) * np.clip(dist * 1.4, 0, 1))[..., None]


def photo(page: np.ndarray, rng: random.Random) -> tuple[np.ndarray, dict[str, object]]:
    """A phone photo of the page lying on a desk."""
    dpi = rng.randint(*PHOTO_DPI_RANGE)
    small = augraphy_print(_resize_to_dpi(page, dpi, dpi), rng, strength="light")
    h, w = small.shape[:2]
    pad_x, pad_y = int(w * rng.uniform(0.04, 0.1)), int(h * rng.uniform(0.03, 0.08))
    canvas = _background(h + 2 * pad_y, w + 2 * pad_x, rng)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = [
        (rng.uniform(-1, 1) * PHOTO_TILT_SHARE * w, rng.uniform(-1, 1) * PHOTO_TILT_SHARE * h)
        for _ in range(4)
    ]
    dst = np.float32(
        [[x + pad_x + dx, y + pad_y + dy] for (x, y), (dx, dy) in zip(src, jitter, strict=True)]
    )
    matrix = cv2.getPerspectiveTransform(src, dst)
    size = (canvas.shape[1], canvas.shape[0])
    warped = cv2.warpPerspective(small, matrix, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, size)
    canvas[mask > 127] = warped[mask > 127]
    light = _lighting(canvas.shape[0], canvas.shape[1], rng)
    tint = np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.85, 0.98)], np.float32)
    lit = np.clip(canvas.astype(np.float32) * light * tint, 0, 255).astype(np.uint8)
    blur = rng.uniform(0.5, 1.5)
    lit = cv2.GaussianBlur(lit, (0, 0), blur)
    lit = _noise(lit, rng.uniform(2, 6), rng)
    quality = rng.randint(*PHOTO_JPEG_QUALITY)
    return _jpeg(lit, quality), {"dpi": dpi, "blur_sigma": round(blur, 2), "jpeg_quality": quality}


def turn(page: np.ndarray, degrees: int) -> np.ndarray:
    """The page turned clockwise by ``degrees`` (0, 90, 180 or 270)."""
    return np.ascontiguousarray(np.rot90(page, k=-(degrees // 90) % 4))


def encode_png(page: np.ndarray, *, dpi: int, is_bilevel: bool = False) -> bytes:
    """PNG bytes; a bilevel page is stored as 1-bit, as fax software writes it."""
    image = Image.fromarray(page)
    if is_bilevel:
        image = image.convert("1", dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi), optimize=True)
    return buffer.getvalue()


def encode_jpeg_pdf(pages: list[np.ndarray], *, dpi: int, quality: int) -> bytes:
    """A scanner's PDF: one JPEG per page at ``dpi``."""
    images = [Image.fromarray(p) for p in pages]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="PDF",
        save_all=True,
        append_images=images[1:],
        resolution=float(dpi),
        quality=quality,
    )
    return buffer.getvalue()


def encode_jpeg(page: np.ndarray, *, dpi: int, quality: int) -> bytes:
    """A JPEG file as a phone or a scan-to-email writes it."""
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, format="JPEG", quality=quality, dpi=(dpi, dpi))
    return buffer.getvalue()
