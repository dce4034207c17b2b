#!/usr/bin/env bash
# Create .venv and install semwidget with the extras named in $1 (default: test).
# Safe to run again: it installs only when pyproject.toml changed since the last run (or never ran).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-test}"
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
# Node resolves a .js file's module type from the nearest package.json up the tree: without
# one here, JupyterLab's own node-version-check.js inside .venv would be read as an ES module
# by our package.json ("type": "module") and print a stack trace at every `jupyter lab` start.
[ -f .venv/package.json ] || echo '{"type": "commonjs"}' > .venv/package.json
# shellcheck disable=SC1091
. .venv/bin/activate
# torch first and pinned: an unpinned torch pulls the newest CUDA build (several GB),
# and on our machines 2.13.0 is a local CPU wheel.
python -c "import torch" 2>/dev/null || python -m pip install --quiet "torch==${SEMWIDGET_TORCH_VERSION:-2.13.0}"
# pip takes ~15 s even with nothing to do: skip it while pyproject.toml is unchanged since
# the last install of these extras (the stamp holds its hash).
stamp=".venv/.installed-${extras//[^a-z0-9]/_}"
want="$(python -c 'import hashlib, sys; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    python -m pip install --quiet -e ".[${extras}]"
    echo "$want" > "$stamp"
fi
# The front end: bundle js/ and the protocol's schema into semwidget/static/widget.js
# (git-ignored) when it is missing or older than one of its sources.
if [ -f js/widget.js ] && { [ ! -f semwidget/static/widget.js ] || [ -n "$(find js semwidget/widget/_schema.json \
    \( -name '*.js' -o -name '*.css' -o -name '_schema.json' \) -newer semwidget/static/widget.js -print -quit)" ]; }; then
    command -v npm >/dev/null || { echo "setup: npm (Node >= 20) is needed to build the widget's front end" >&2; exit 1; }
    if [ ! -x node_modules/.bin/esbuild ]; then
        if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
    fi
    npm run build
fi
