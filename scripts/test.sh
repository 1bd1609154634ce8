#!/usr/bin/env bash
# Set everything up and run the whole test suite: lint, types, unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/setup-aws-ric.sh

echo "==> ruff"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
echo "==> mypy"
.venv/bin/mypy
echo "==> pytest (with a coverage report of src/hearth at the end)"
.venv/bin/pytest --cov --cov-report=term "$@"
