#!/usr/bin/env bash
# Run formscan's whole test suite (lint + tests) after making sure it is set up.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k grid`.
set -euo pipefail
cd "$(dirname "$0")/.."
FORMSCAN_EXTRAS=dev bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -q "$@"
