#!/usr/bin/env bash
# Install what the tests need into .venv, then run the whole test suite: ruff and mypy,
# the front end's unit tests (vitest), then pytest (Python, notebooks, real browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,faces  # faces: tests/scorers/test_faces.py on real weights
bash scripts/setup-browser.sh
# shellcheck disable=SC1091
. .venv/bin/activate
# House style first (seconds): lint and format (pyproject.toml's rules), then types.
ruff check .
ruff format --check .
mypy semwidget
npx --no-install vitest run
python -m pytest --durations=15 "$@"  # the slowest tests, to keep the whole run short
