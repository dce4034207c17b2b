#!/usr/bin/env bash
# Install semwidget with JupyterLab into .venv and open the quickstart notebook.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh lab
# shellcheck disable=SC1091
. .venv/bin/activate
exec jupyter lab --config=scripts/lab_config.py examples/01_quickstart.ipynb "$@"
