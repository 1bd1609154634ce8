#!/usr/bin/env bash
# Create .venv (Python >= 3.11) and install Hearth with its development tools. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/pick-python.sh
. scripts/pick-python.sh

if [ ! -x .venv/bin/python ]; then
  python=$(pick_python)
  echo "==> Creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
stamp=.venv/.hearth-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> Installing Hearth and its tools into .venv (first time takes a minute)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  touch "$stamp"
fi

# The web console's editor (CodeMirror) and charts (uPlot) come from npm, bundled into
# src/hearth/console/web/dist; nothing of theirs is committed. Without npm the console page
# says how to build it and the rest of Hearth works.
web=src/hearth/console/web
bundle=$web/dist/console.js
if command -v npm >/dev/null 2>&1; then
  if [ ! -f "$bundle" ] || [ "$web/package.json" -nt "$bundle" ] || [ "$web/app.js" -nt "$bundle" ] \
    || [ "$web/package-lock.json" -nt "$bundle" ]; then
    echo "==> Building the web console with npm (CodeMirror, uPlot, fflate, esbuild)"
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
  fi
else
  echo "!! npm was not found: the web console is NOT built (install node and npm, rerun setup)" >&2
fi
./scripts/setup-aws-sdk.sh
