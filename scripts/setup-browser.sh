#!/usr/bin/env bash
# Install what the real-browser tests (tests/e2e) and benchmarks/drag_latency.py need:
# Debian's chromium (+ a font) and, into the active venv, Playwright for Python,
# JupyterLab 4 and Jupyter Notebook 7, plus ipykernel 6 in a folder of its own (the
# compatibility matrix runs a kernel on it). Safe to run again: it only installs what is missing.
#
# Never run `playwright install`: browser downloads fail on our machines. The tests
# drive the system chromium at /usr/bin/chromium (override with $SEMWIDGET_CHROMIUM).
set -euo pipefail
cd "$(dirname "$0")/.."

chromium="${SEMWIDGET_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup-browser: installing chromium and fonts-dejavu-core with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
    else
        echo "setup-browser: $chromium is missing; install Debian's 'chromium' and" \
            "'fonts-dejavu-core' (e.g. sudo apt-get install --no-install-recommends" \
            "chromium fonts-dejavu-core) to run the browser tests; they skip without it." >&2
    fi
fi

# The Python side goes into the active virtual environment, else .venv (scripts/test.sh
# makes it); never into a system Python.
if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
    python="$VIRTUAL_ENV/bin/python"
elif [ -x .venv/bin/python ] && .venv/bin/python -c "" 2>/dev/null; then
    python=.venv/bin/python
else
    python=""
fi
missing=()
if [ -n "$python" ]; then
    "$python" -c "import playwright.sync_api" 2>/dev/null || missing+=("playwright>=1.45")
    "$python" -c "import jupyterlab, sys; sys.exit(int(jupyterlab.__version__.split('.')[0]) < 4)" 2>/dev/null \
        || missing+=("jupyterlab>=4")
    "$python" -c "import notebook, sys; sys.exit(int(notebook.__version__.split('.')[0]) < 7)" 2>/dev/null \
        || missing+=("notebook>=7")
fi
if [ -z "$python" ]; then
    echo "setup-browser: no virtual environment; in yours: pip install 'playwright>=1.45' 'jupyterlab>=4'" \
        "'notebook>=7' (never 'playwright install': the tests use the system chromium)" >&2
elif [ ${#missing[@]} -gt 0 ]; then
    echo "setup-browser: pip install ${missing[*]}" >&2
    "$python" -m pip install --quiet "${missing[@]}"
fi

# ipykernel 6 (no kernel subshells) for tests/e2e/test_compat_matrix.py, in <venv>/ipykernel6
# (or $SEMWIDGET_IPYKERNEL6), not over the venv's ipykernel: the test's kernelspec puts that
# folder first on the kernel's PYTHONPATH. Its dependencies are the venv's own, hence --no-deps.
if [ -n "$python" ]; then
    ipk6="${SEMWIDGET_IPYKERNEL6:-$("$python" -c 'import sys; print(sys.prefix)')/ipykernel6}"
    if ! PYTHONPATH="$ipk6" "$python" -c \
        "import ipykernel, sys; sys.exit(not ipykernel.__version__.startswith('6.'))" 2>/dev/null; then
        echo "setup-browser: pip install --no-deps --target $ipk6 'ipykernel>=6.29,<7'" >&2
        "$python" -m pip install --quiet --no-deps --upgrade --target "$ipk6" "ipykernel>=6.29,<7"
    fi
fi
