#!/usr/bin/env bash
# Set everything up and run the whole test suite: lint, types, unit and integration tests.
#   HEARTH_TEST_SELECTION  the marker expression to run (default: "not slow"; CI: everything)
#   HEARTH_TEST_WORKERS    parallel pytest workers for the first phase (default: 3)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/setup-aws-ric.sh

echo "==> ruff"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
echo "==> mypy"
.venv/bin/mypy
selection="${HEARTH_TEST_SELECTION:-not slow}"
# pytest answers 5 when a phase selects no test (`./scripts/test.sh tests/unit`): not a failure.
run_phase() { .venv/bin/pytest "$@" || { code=$?; [ "$code" -eq 5 ] || exit "$code"; }; }
# Most tests wait on a server or a function rather than use a CPU, so several workers (one
# test file each at a time, so a module's shared server stays in one worker) finish sooner.
echo "==> pytest, in parallel (${HEARTH_TEST_WORKERS:-3} workers)"
run_phase -n "${HEARTH_TEST_WORKERS:-3}" --dist loadfile -m "($selection) and not serial" \
  --cov --cov-report= "$@"
echo "==> pytest, the tests that measure the machine, alone (with the coverage report of src/hearth)"
run_phase -m "($selection) and serial" --cov --cov-append --cov-report=term "$@"
