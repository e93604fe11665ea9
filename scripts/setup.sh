#!/usr/bin/env bash
# Set up formscan on a Debian/Ubuntu machine: system packages, a virtual environment
# in .venv and the project with its dependencies. Safe to run again: every step
# checks first and does only what is missing.
#
#   FORMSCAN_EXTRAS   pip extras to install (default "dev"; "" for a runtime-only install)
#   FORMSCAN_APT_EXTRA extra Debian packages to install as well
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRAS="${FORMSCAN_EXTRAS-dev}"
# libgl1 and libglib2.0-0: the shared libraries opencv-python links against.
APT_PACKAGES="tesseract-ocr tesseract-ocr-eng tesseract-ocr-vie poppler-utils python3-venv libgl1 libglib2.0-0 ${FORMSCAN_APT_EXTRA:-}"

need_apt() {
  command -v tesseract >/dev/null 2>&1 || return 0
  command -v pdftoppm >/dev/null 2>&1 || return 0
  tesseract --list-langs 2>/dev/null | grep -qx vie || return 0
  tesseract --list-langs 2>/dev/null | grep -qx eng || return 0
  for pkg in libgl1 libglib2.0-0 ${FORMSCAN_APT_EXTRA:-}; do
    dpkg -s "$pkg" >/dev/null 2>&1 || return 0
  done
  python3 -c "import ensurepip, venv" >/dev/null 2>&1 || return 0
  return 1
}

if need_apt; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "formscan setup: run as root or install sudo (needs: $APT_PACKAGES)" >&2; exit 1; }
    SUDO="sudo"
  fi
  echo "formscan setup: installing system packages: $APT_PACKAGES"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $APT_PACKAGES >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "formscan setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi

STAMP=".venv/.formscan-installed-${EXTRAS:-runtime}"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "formscan setup: installing Python dependencies"
  .venv/bin/python -m pip install -q --upgrade pip
  if [ -n "$EXTRAS" ]; then
    .venv/bin/python -m pip install -q -e ".[${EXTRAS}]"
  else
    .venv/bin/python -m pip install -q -e .
  fi
  # An environment made before the switch to opencv-python still holds the headless
  # build; both own cv2/, so removing one breaks the other: drop it, then reinstall.
  if .venv/bin/python -m pip show -q opencv-python-headless >/dev/null 2>&1; then
    .venv/bin/python -m pip uninstall -q -y opencv-python-headless
    .venv/bin/python -m pip install -q --force-reinstall --no-deps opencv-python
  fi
  touch "$STAMP"
fi
echo "formscan setup: ready ($(.venv/bin/formscan --version 2>/dev/null || echo formscan))"
