"""The only module that talks to Tesseract (through pytesseract).

Why one call per page: starting the tesseract binary costs 120-200 ms, so every
stage pastes the crops it needs into one "mosaic" image and makes a single call,
then maps the word boxes back by position (``ocr.mosaic``).

Why ``OMP_THREAD_LIMIT=1``: Debian's Tesseract spreads one page over every core with
OpenMP, which made a page about 5x slower on 2-core machines; parallelism comes from
processing pages and forms in separate processes instead. The variable must be in
the environment before the binary starts, so it is set here at import.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from xml.etree import ElementTree

import numpy as np
import pytesseract

from ocr.errors import EngineError, EngineMissingError, EngineTimeoutError
from ocr.types import Box, Word

log = logging.getLogger(__name__)

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

# Seconds one Tesseract call may take before the page is given up as an engine fault;
# a busy page takes about 1 s on a 2-core machine, so this is generous.
CALL_TIMEOUT_S = 60.0

DIGITS_LANG = "eng"  # the vie model returns nothing for standalone numbers
LABELS_LANG = "vie"


def check_engine(*langs: str) -> None:
    """Fail early with a fix-it message when tesseract or a language model is missing."""
    if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
        raise EngineMissingError("The tesseract program is not installed.")
    try:
        available = set(pytesseract.get_languages(config=""))
    except pytesseract.TesseractError as exc:  # pragma: no cover - broken install
        raise EngineMissingError(f"tesseract cannot list its languages: {exc}") from exc
    missing = [lang for lang in langs if lang not in available]
    if missing:
        raise EngineMissingError(f"Tesseract language data missing: {', '.join(missing)}.")


def ocr_words(
    image: np.ndarray,
    *,
    lang: str,
    psm: int,
    whitelist: str | None = None,
    timeout_s: float = CALL_TIMEOUT_S,
) -> list[Word]:
    """Run Tesseract once on a grayscale image; return its words with boxes.

    hOCR output is used because it carries a confidence per character: a word's
    confidence hides which character is doubtful, and a doubtful thousands separator
    does not change a number while a doubtful digit does. Confidences are converted
    from Tesseract's 0-100 to 0-1 here and nowhere else.
    """
    config = f"--psm {psm} --oem 1 -c hocr_char_boxes=1"
    if whitelist:
        config += f" -c tessedit_char_whitelist={whitelist}"
    try:
        hocr = pytesseract.image_to_pdf_or_hocr(
            image, lang=lang, config=config, extension="hocr", timeout=timeout_s
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise EngineMissingError("The tesseract program is not installed.") from exc
    except RuntimeError as exc:  # pytesseract signals its timeout as RuntimeError
        if "timeout" in str(exc).lower():
            raise EngineTimeoutError(f"Tesseract took longer than {timeout_s:.0f} s.") from exc
        raise EngineError(f"Tesseract failed: {exc}") from exc
    except pytesseract.TesseractError as exc:
        raise EngineError(f"Tesseract failed: {exc.message}") from exc
    return parse_hocr(hocr.decode("utf-8", errors="replace"))


_BBOX_RE = re.compile(r"bbox (\d+) (\d+) (\d+) (\d+)")
_WCONF_RE = re.compile(r"x_wconf (\d+)")
_CONF_RE = re.compile(r"x_conf ([\d.]+)")
_LINE_CLASSES = {"ocr_line", "ocr_caption", "ocr_header", "ocr_textfloat"}


def parse_hocr(hocr: str) -> list[Word]:
    """Words of Tesseract's hOCR (with ``hocr_char_boxes``), numbered by text line."""
    try:
        root = ElementTree.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", hocr, count=1))
    except ElementTree.ParseError as exc:
        raise EngineError(f"Tesseract returned unreadable hOCR: {exc}") from exc
    words: list[Word] = []
    line_no = 0
    for element in root.iter():
        cls = element.get("class", "")
        if cls in _LINE_CLASSES:
            line_no += 1
        elif cls == "ocrx_word":
            word = _word(element, line_no)
            if word is not None:
                words.append(word)
    return words


def _word(element: ElementTree.Element, line_no: int) -> Word | None:
    title = element.get("title", "")
    bbox = _BBOX_RE.search(title)
    wconf = _WCONF_RE.search(title)
    if bbox is None:
        return None
    chars = [c for c in element.iter() if c.get("class") == "ocrx_cinfo"]
    if chars:
        text = "".join(c.text or "" for c in chars)
        confs = tuple(_char_conf(c) for c in chars)
    else:
        text = "".join(element.itertext())
        confs = ()
    text = text.strip()
    if not text:
        return None
    x0, y0, x1, y1 = (int(v) for v in bbox.groups())
    return Word(
        text=text,
        box=Box(x0, y0, x1 - x0, y1 - y0),
        confidence=int(wconf.group(1)) / 100.0 if wconf else 0.0,
        line=line_no,
        char_confidences=confs,
    )


def _char_conf(element: ElementTree.Element) -> float:
    match = _CONF_RE.search(element.get("title", ""))
    return min(1.0, float(match.group(1)) / 100.0) if match else 0.0
