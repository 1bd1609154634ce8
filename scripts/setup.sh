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
./scripts/setup-aws-sdk.sh
