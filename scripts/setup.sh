#!/usr/bin/env bash
# Create .venv and install semwidget with the extras named in $1 (default: test).
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-test}"
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
# torch first and pinned: an unpinned torch pulls the newest CUDA build (several GB),
# and on our machines 2.13.0 is a local CPU wheel.
python -c "import torch" 2>/dev/null || python -m pip install --quiet "torch==${SEMWIDGET_TORCH_VERSION:-2.13.0}"
python -m pip install --quiet -e ".[${extras}]"
