#!/usr/bin/env bash
# Set formscan up (idempotent) and run it on a bundled sample scan, printing the
# extraction JSON. Pass your own files to read those instead:
#   bash scripts/run.sh my-scan.pdf
set -euo pipefail
cd "$(dirname "$0")/.."
FORMSCAN_EXTRAS="${FORMSCAN_EXTRAS-}" bash scripts/setup.sh
if [ "$#" -eq 0 ]; then
  set -- samples/llw-summary-2022/typed-clean-200dpi.png
fi
exec .venv/bin/formscan extract "$@" --layout llw-summary-2022
