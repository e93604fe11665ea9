"""DOCX -> PDF with LibreOffice, PDF -> pixels with poppler, and where the cells are.

Each process converts with its own LibreOffice profile (``-env:UserInstallation``), so
two workers, or two engineers, never share one and collide. Cell boxes come from the
PDF LibreOffice wrote (pdfplumber's table finder over the drawn rules), not from any
guess, so handwriting can be painted into exactly the cells the table has.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pdfplumber
from PIL import Image

# LibreOffice's first start in a fresh profile takes ~5-10 s; a conversion ~2 s.
SOFFICE_TIMEOUT_S = 180
PDFTOPPM_TIMEOUT_S = 120


class ToolMissingError(RuntimeError):
    """A program the generator needs is not installed; the message says what to install."""


@dataclass(frozen=True)
class CellBox:
    """A cell of the rendered table on one PDF page, in points from the top-left corner."""

    page: int  # 0-based page of the PDF
    x0: float
    top: float
    x1: float
    bottom: float


def soffice_path() -> str:
    """The LibreOffice program, or a ``ToolMissingError`` naming the package."""
    for name in ("soffice", "libreoffice"):
        path = shutil.which(name)
        if path:
            return path
    raise ToolMissingError(
        "LibreOffice is missing: install libreoffice-writer (Debian: apt-get install "
        "libreoffice-writer-nogui libreoffice-calc-nogui) to render office forms"
    )


def _profile_dir() -> Path:
    """One LibreOffice profile per process, kept for the process's later conversions."""
    path = Path(tempfile.gettempdir()) / f"office-forms-lo-{os.getuid()}-{os.getpid()}"
    path.mkdir(exist_ok=True)
    return path


def docx_to_pdf(docx_path: Path, out_dir: Path) -> Path:
    """Convert with LibreOffice headless; returns the PDF's path in ``out_dir``."""
    command = [
        soffice_path(),
        f"-env:UserInstallation={_profile_dir().as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        "pdf",
        "--outdir",
        str(out_dir),
        str(docx_path),
    ]
    done = subprocess.run(command, capture_output=True, timeout=SOFFICE_TIMEOUT_S, check=False)
    pdf = out_dir / (docx_path.stem + ".pdf")
    if done.returncode != 0 or not pdf.exists():
        raise RuntimeError(f"LibreOffice did not convert {docx_path.name}: {done.stderr!r}")
    return pdf


def rasterise(pdf: Path, dpi: int) -> list[np.ndarray]:
    """Every page as an RGB uint8 array at ``dpi`` (pdftoppm, anti-aliased)."""
    if shutil.which("pdftoppm") is None:
        raise ToolMissingError("pdftoppm is missing: install poppler-utils")
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "page"
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)],
            check=True,
            capture_output=True,
            timeout=PDFTOPPM_TIMEOUT_S,
        )
        pages = sorted(Path(tmp).glob("page*.png"))
        return [np.array(Image.open(p).convert("RGB")) for p in pages]


def table_rows(pdf: Path) -> list[list[CellBox | None]]:
    """Every table row found on every page, top to bottom, as lists of cell boxes.

    pdfplumber rebuilds the grid from the rules LibreOffice drew; a merged cell spans
    several grid columns and appears once (the others are None).
    """
    rows: list[list[CellBox | None]] = []
    with pdfplumber.open(pdf) as document:
        for index, page in enumerate(document.pages):
            for table in page.find_tables({"snap_tolerance": 2, "intersection_tolerance": 2}):
                for row in table.rows:
                    rows.append(
                        [
                            None if c is None else CellBox(index, c[0], c[1], c[2], c[3])
                            for c in row.cells
                        ]
                    )
    return rows


def page_texts(pdf: Path) -> list[str]:
    """The text layer of every page (for finding narrative and table pages)."""
    with pdfplumber.open(pdf) as document:
        return [page.extract_text() or "" for page in document.pages]
