#!/usr/bin/env bash
# Set formscan up (idempotent) and start the service on the embedded default: SQLite
# and the originals under ./data, OCR in worker processes, no other server needed.
# API and its documentation: http://127.0.0.1:8000/docs
#
# With arguments, runs that formscan command instead, for example:
#   bash scripts/run.sh extract samples/llw-summary-2022/typed-clean-200dpi.png
set -euo pipefail
cd "$(dirname "$0")/.."
FORMSCAN_EXTRAS="${FORMSCAN_EXTRAS-}" bash scripts/setup.sh
if [ "$#" -eq 0 ]; then
  set -- serve
fi
exec .venv/bin/formscan "$@"
