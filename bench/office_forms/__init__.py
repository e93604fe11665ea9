r"""``python -m bench office-forms``: a second, independently built source of test documents.

formscan's first source, ``bench/samples.py``, draws the table with PIL and
degrades it with its own code; figures measured on it flatter the reader, whose
thresholds were tuned there. This generator shares no rendering or degradation code
with it: each form is a real Word document (python-docx) printed to PDF by
LibreOffice, rasterised by poppler, worn by augraphy's print and photocopy effects and
captured by scan, fax and photo models written here; handwritten values are either a
handwriting font in the document or digits written by real people (scikit-learn's
held-out digits) inked into the cells the PDF says the table has.

Choose thresholds and calibrate on one source; report on the other.

Usage::

    python -m bench office-forms --out DIR --count N --seed S \\
        [--kinds typed,handwritten,handwritten-real,scan,fax,photo,born-digital] \\
        [--soft-copies] [--workers 2]

Every document ``C`` gets ``C.truth.json`` beside its files in the format
``formscan bench`` reads; with ``--soft-copies`` also ``soft-copies/C.docx``,
``soft-copies/C.xlsx`` and ``soft-copies/C.soft-truth.json`` (same fields; a
different suffix, so ``formscan bench DIR`` does not try to read them yet).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.office_forms.generate import Job, installed_fonts, make_document
from bench.office_forms.render import ToolMissingError, soffice_path
from bench.office_forms.spec import CAPTURES, KINDS

# Two workers: the machines this runs on have two cores, and LibreOffice, poppler
# and augraphy are each single-threaded per document.
DEFAULT_WORKERS = 2


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line; ``--kinds`` mixes kinds and captures, comma-separated."""
    parser = argparse.ArgumentParser(
        prog="python -m bench office-forms", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--count", type=int, default=10, help="number of documents")
    parser.add_argument("--seed", type=int, default=0, help="master seed")
    parser.add_argument(
        "--kinds", default="", help=f"comma-separated subset of {', '.join(KINDS + CAPTURES)}"
    )
    parser.add_argument(
        "--soft-copies",
        action="store_true",
        help="also keep the DOCX and write an XLSX of every form",
    )
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--first", type=int, default=0, help="index of the first document")
    return parser.parse_args(list(argv))


def _jobs(args: argparse.Namespace) -> list[Job]:
    asked = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    unknown = [k for k in asked if k not in KINDS + CAPTURES]
    if unknown:
        raise SystemExit(f"office-forms: unknown kind {', '.join(unknown)}")
    kinds = tuple(k for k in asked if k in KINDS) or KINDS
    captures = tuple(k for k in asked if k in CAPTURES) or CAPTURES
    body, hand = installed_fonts()
    if not body:
        raise SystemExit(
            "office-forms: no font with Vietnamese coverage: install fonts-dejavu-core"
        )
    return [
        Job(i, args.seed, args.out, body, hand, kinds, captures, args.soft_copies)
        for i in range(args.first, args.first + args.count)
    ]


def _progress(index: int, total: int, truth: dict[str, object], seconds: float) -> None:
    files = ", ".join(str(f) for f in truth["files"])  # type: ignore[attr-defined]
    slices = " ".join(str(s) for s in truth["slices"])  # type: ignore[attr-defined]
    sys.stderr.write(f"[{index}/{total}] {files} ({slices}) {seconds:.1f}s\n")


def main(argv: Sequence[str]) -> int:
    """Generate the set; one progress line per document; exit 3 if a tool is missing."""
    args = parse_args(argv)
    try:
        soffice_path()
    except ToolMissingError as exc:
        sys.stderr.write(f"office-forms: {exc}\n")
        return 3
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = _jobs(args)
    started = time.perf_counter()
    # One thread per library inside each worker: the pool is the parallelism.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        for done, truth in enumerate(pool.map(make_document, jobs), start=1):
            _progress(done, len(jobs), truth, time.perf_counter() - started)
    sys.stderr.write(f"office-forms: {len(jobs)} documents in {args.out}\n")
    return 0
