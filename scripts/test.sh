#!/usr/bin/env bash
# Run formscan's whole test suite (lint, types, tests) after making sure it is set up.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k grid`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's Chromium drives the browser tests (tests/web) through Playwright.
FORMSCAN_EXTRAS=dev,bench FORMSCAN_APT_EXTRA="chromium libreoffice-writer-nogui libreoffice-calc-nogui fonts-dejavu-core fonts-liberation2 fonts-noto-core fonts-freefont-ttf fonts-dkg-handwriting fonts-comic-neue fonts-humor-sans ${FORMSCAN_APT_EXTRA:-}" bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
