#!/usr/bin/env bash
# Install what the tests need into .venv, then run the whole test suite:
# the front end's unit tests (vitest), then pytest (Python, notebooks, real browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,faces  # faces: tests/scorers/test_faces.py on real weights
bash scripts/setup-browser.sh
npx --no-install vitest run
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pytest "$@"
