"""The one wrapper around poppler's command-line tools (``pdfinfo``, ``pdfimages``, ``pdftotext``).

They are called with list arguments and the per-call timeout, never through a shell;
a missing tool or a timeout leaves as an ``EngineError`` raised ``from`` the original.
"""

from __future__ import annotations

import subprocess

from ocr.errors import EngineMissingError, EngineTimeoutError
from ocr.load.limits import LoadLimits

# PDF user space: poppler reports page and word boxes in points, 72 to the inch.
POINTS_PER_INCH = 72.0


def run_poppler(
    args: list[str], name: str, *, limits: LoadLimits
) -> subprocess.CompletedProcess[str]:
    """Run one poppler tool with list arguments and the per-call timeout."""
    try:
        return subprocess.run(
            args,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=limits.timeout_s,
            check=False,
        )
    except FileNotFoundError as exc:
        raise EngineMissingError(f"The PDF tool {args[0]!r} is not installed.") from exc
    except subprocess.TimeoutExpired as exc:
        raise EngineTimeoutError(
            f"{name}: {args[0]} took longer than {limits.timeout_s:g} s."
        ) from exc


def first_line(text: str) -> str:
    """First non-empty line of a tool's stderr, for a short message."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "no details")
