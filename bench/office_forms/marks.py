"""A unit's red seal and the head's signature, pressed onto the rendered page.

Both are multiplied into the page like ink on paper (dark stays dark), in a seal's red
or a pen's blue, so the reader meets what it meets on real forms: a stamp over the
signature line and, now and then, over the table's last rows.
"""

from __future__ import annotations

import random

import cv2
import numpy as np

SEAL_RGB = (205, 35, 45)
SIGNATURE_RGB = {"blue": (35, 55, 175), "black": (25, 25, 30)}
# A Vietnamese unit's round seal is 36-42 mm across.
SEAL_DIAMETER_MM = (36, 42)


def _seal_mask(diameter_px: int, rng: random.Random) -> np.ndarray:
    size = diameter_px + 8
    mask = np.zeros((size, size), np.float32)
    c = size // 2
    r = diameter_px // 2
    width = max(2, diameter_px // 45)
    cv2.circle(mask, (c, c), r, 1.0, width, lineType=cv2.LINE_AA)
    cv2.circle(mask, (c, c), int(r * 0.72), 1.0, max(1, width // 2), lineType=cv2.LINE_AA)
    # the ring of lettering, drawn as short strokes round the circle
    for k in range(36):
        angle = 2 * np.pi * k / 36 + rng.uniform(-0.02, 0.02)
        r0, r1 = r * 0.78, r * 0.93
        p0 = (int(c + r0 * np.cos(angle)), int(c + r0 * np.sin(angle)))
        p1 = (int(c + r1 * np.cos(angle + 0.04)), int(c + r1 * np.sin(angle + 0.04)))
        cv2.line(mask, p0, p1, 1.0, width, lineType=cv2.LINE_AA)
    star = [
        (c + int(r * 0.3 * np.cos(a)), c + int(r * 0.3 * np.sin(a)))
        for a in np.linspace(-np.pi / 2, 3.5 * np.pi, 6)[:5]
    ]
    order = [star[i] for i in (0, 2, 4, 1, 3)]
    cv2.fillPoly(mask, [np.array(order, np.int32)], 1.0, lineType=cv2.LINE_AA)
    patchy = np.random.default_rng(rng.randrange(2**32)).random(mask.shape) > 0.25
    return mask * patchy * rng.uniform(0.6, 0.9)


def _signature_mask(width_px: int, rng: random.Random) -> np.ndarray:
    height = width_px // 3
    mask = np.zeros((height, width_px), np.float32)
    points = []
    for i in range(rng.randint(6, 10)):
        x = int(width_px * (0.05 + 0.9 * i / 9))
        points.append((x, int(height * rng.uniform(0.2, 0.8))))
    curve = np.array(points, np.int32)
    cv2.polylines(mask, [curve], False, 1.0, max(2, width_px // 120), lineType=cv2.LINE_AA)
    cv2.line(
        mask,
        (int(width_px * 0.1), int(height * 0.85)),
        (int(width_px * 0.8), int(height * 0.7)),
        1.0,
        max(2, width_px // 150),
        lineType=cv2.LINE_AA,
    )
    return mask


def _press(
    page: np.ndarray, mask: np.ndarray, centre: tuple[int, int], rgb: tuple[int, int, int]
) -> None:
    """Multiply coloured ink into ``page`` around ``centre``, clipped to the page."""
    h, w = mask.shape
    x0, y0 = centre[0] - w // 2, centre[1] - h // 2
    px0, py0 = max(0, x0), max(0, y0)
    px1, py1 = min(page.shape[1], x0 + w), min(page.shape[0], y0 + h)
    if px1 <= px0 or py1 <= py0:
        return
    m = mask[py0 - y0 : py1 - y0, px0 - x0 : px1 - x0, None]
    ink = np.array(rgb, np.float32) / 255.0
    region = page[py0:py1, px0:px1].astype(np.float32)
    page[py0:py1, px0:px1] = (region * (1 - m + m * ink)).astype(np.uint8)


def sign_and_seal(
    page: np.ndarray, centre_px: tuple[int, int], dpi: int, rng: random.Random, *, pen: str
) -> None:
    """Signature and seal around ``centre_px`` (where the head signs), in place."""
    signature = _signature_mask(int(dpi * 1.6), rng)
    _press(page, signature, (centre_px[0], centre_px[1] + dpi // 3), SIGNATURE_RGB[pen])
    diameter = int(rng.uniform(*SEAL_DIAMETER_MM) / 25.4 * dpi)
    offset = (int(-diameter * rng.uniform(0.2, 0.5)), int(diameter * rng.uniform(0.1, 0.35)))
    seal = _seal_mask(diameter, rng)
    _press(page, seal, (centre_px[0] + offset[0], centre_px[1] + offset[1]), SEAL_RGB)
