"""``python -m bench <command> [options]``: one entry point for every measurement tool.

Each command lives in its own module and is imported only when it is asked for, so a
missing optional dependency of one tool never breaks another.
"""

from __future__ import annotations

import importlib
import sys

# command -> (module, function taking argv and returning an exit status, summary)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "accuracy": ("bench.accuracy", "main", "accuracy, review load and speed on samples with truth"),
    "calibrate": ("bench.calibrate", "main", "fit confidence to measured accuracy on samples"),
    "samples": ("bench.samples", "main", "generate sample scans with their ground truth"),
    "throughput": (
        "bench.scale",
        "throughput_main",
        "pages per minute of Celery workers by process count (PostgreSQL, Redis)",
    ),
    "load": (
        "bench.scale",
        "load_main",
        "many concurrent uploads against a live API; proves nothing is lost",
    ),
    "recogniser": (
        "bench.recogniser",
        "main",
        "PP-OCRv4 beside Tesseract, cell by cell, per slice",
    ),
    "office-forms": (
        "bench.office_forms",
        "main",
        "second source of test documents (DOCX via LibreOffice)",
    ),
    "train-digits": ("bench.train_digits", "main", "train the handwritten-digit model"),
    "handwriting": ("bench.handwriting", "main", "measure the handwritten-digit recogniser"),
}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the named command's ``main(argv)``."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        width = max((len(name) for name in COMMANDS), default=0)
        lines = [f"  {name:<{width}}  {summary}" for name, (_, _, summary) in COMMANDS.items()]
        sys.stderr.write("usage: python -m bench <command> [options]\n\ncommands:\n")
        sys.stderr.write("\n".join(lines) + "\n")
        return 0 if args and args[0] in ("-h", "--help") else 2
    module_name, function_name, _ = COMMANDS[args[0]]
    function = getattr(importlib.import_module(module_name), function_name)
    return int(function(args[1:]) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
