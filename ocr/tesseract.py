"""The only module that talks to Tesseract: in process through tesserocr, or pytesseract.

Two engines, one result (words with per-character confidences, parsed from hOCR):

- **tesserocr** (default where installed) keeps one Tesseract instance per language
  and setting in each process: no program start, no image files, models loaded once.
  Measured on a 2-core machine: a page's digit mosaic in 0.04 s against 0.135 s
  through pytesseract, and about 0.5 s saved per page overall.
- **pytesseract** runs the ``tesseract`` program (Debian's ``tesseract-ocr``) and is
  used where tesserocr is not installed, or when ``FORMSCAN_OCR_ENGINE=pytesseract``.
  It is also what enforces ``CALL_TIMEOUT_S``; tesserocr calls are bounded by the
  job's lease instead.

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
import subprocess
import threading
from functools import cache
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytesseract
from PIL import Image

try:  # optional in-process engine, see the module docstring
    import tesserocr
except ImportError:  # pragma: no cover - depends on the platform's wheels
    tesserocr = None

from ocr.errors import EngineError, EngineMissingError, EngineTimeoutError
from ocr.types import Box, Word

log = logging.getLogger(__name__)

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

# Seconds one Tesseract call may take before the page is given up as an engine fault;
# a busy page takes about 1 s on a 2-core machine, so this is generous.
CALL_TIMEOUT_S = 60.0

ENGINE_ENV = "FORMSCAN_OCR_ENGINE"
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
    if _use_tesserocr():
        return parse_hocr(
            f"<div>{_tesserocr_hocr(image, lang=lang, psm=psm, whitelist=whitelist)}</div>"
        )
    return parse_hocr(
        _pytesseract_hocr(image, lang=lang, psm=psm, whitelist=whitelist, timeout_s=timeout_s)
    )


def engine_name() -> str:
    """Which engine ``ocr_words`` uses in this process."""
    return "tesserocr" if _use_tesserocr() else "pytesseract"


def _use_tesserocr() -> bool:
    return tesserocr is not None and os.environ.get(ENGINE_ENV, "tesserocr") != "pytesseract"


_local = threading.local()  # a Tesseract instance is not thread-safe: one set per thread


def _tesserocr_hocr(image: np.ndarray, *, lang: str, psm: int, whitelist: str | None) -> str:
    apis: dict[tuple[str, int, str | None], Any] = _local.__dict__.setdefault("apis", {})
    key = (lang, psm, whitelist)
    api = apis.get(key)
    if api is None:
        try:
            api = tesserocr.PyTessBaseAPI(
                path=_tessdata_dir(), lang=lang, psm=psm, oem=tesserocr.OEM.LSTM_ONLY
            )
        except RuntimeError as exc:
            raise EngineMissingError(f"Tesseract cannot load language '{lang}': {exc}") from exc
        api.SetVariable("hocr_char_boxes", "1")
        if whitelist:
            api.SetVariable("tessedit_char_whitelist", whitelist)
        apis[key] = api
    api.SetImage(Image.fromarray(image))
    return str(api.GetHOCRText(0))


@cache
def _tessdata_dir() -> str:
    """The system's tessdata folder (Debian's models), as the tesseract program reports it."""
    env = os.environ.get("TESSDATA_PREFIX")
    if env:
        return env
    try:
        out = subprocess.run(
            ["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineMissingError("The tesseract program is not installed.") from exc
    match = re.search(r'"([^"]+)"', out.stdout + out.stderr)
    if match is None:
        raise EngineMissingError("tesseract does not report where its language data is.")
    return match.group(1)


def _pytesseract_hocr(
    image: np.ndarray, *, lang: str, psm: int, whitelist: str | None, timeout_s: float
) -> str:
    config = f"--psm {psm} --oem 1 -c hocr_char_boxes=1"
    if whitelist:
        config += f" -c tessedit_char_whitelist={whitelist}"
    try:
        hocr: bytes = pytesseract.image_to_pdf_or_hocr(
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
    return hocr.decode("utf-8", errors="replace")


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
