#!/usr/bin/env bash
# Hearth against the tools people use today (issue 6): installs every peer into bench/.peers/
# (gitignored; the project's .venv stays lean), then runs bench/compare.py, which writes
# bench/results/peers.json, peers.md and the plots. Extra arguments go to compare.py
# (--rounds N, --only 'hearth,floor', --quick). A full run takes about 15 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
peers=bench/.peers
mkdir -p "$peers/bin" "$peers/node"

# shellcheck source=scripts/pick-python.sh
. scripts/pick-python.sh

if [ ! -x "$peers/venv/bin/python" ]; then
  echo "==> Creating $peers/venv"
  "$(pick_python)" -m venv "$peers/venv"
fi
stamp="$peers/venv/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> Installing Hearth, awslambdaric, python-lambda-local and matplotlib into $peers/venv"
  "$peers/venv/bin/python" -m pip install --quiet --upgrade pip
  "$peers/venv/bin/python" -m pip install --quiet -e . awslambdaric python-lambda-local matplotlib
  touch "$stamp"
fi

rie="$peers/bin/aws-lambda-rie-x86_64"
if [ ! -x "$rie" ]; then
  echo "==> Fetching aws-lambda-rie from the aws-sam-cli wheel (PyPI)"
  rm -rf "$peers/wheel"
  "$peers/venv/bin/python" -m pip download --quiet --no-deps aws-sam-cli -d "$peers/wheel"
  "$peers/venv/bin/python" - "$peers/wheel" "$rie" <<'PY'
import pathlib, sys, zipfile
wheel = next(pathlib.Path(sys.argv[1]).glob("aws_sam_cli-*.whl"))
target = pathlib.Path(sys.argv[2])
with zipfile.ZipFile(wheel) as archive:
    target.write_bytes(archive.read("samcli/local/rapid/aws-lambda-rie-x86_64"))
target.chmod(0o755)
(target.parent / "aws-sam-cli.version").write_text(wheel.name.split("-")[1] + "\n")
PY
  rm -rf "$peers/wheel"
fi

if [ ! -f "$peers/node/node_modules/serverless-offline/package.json" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "==> Installing serverless@3 and serverless-offline@13 into $peers/node"
    (cd "$peers/node" && npm install --no-audit --no-fund --silent serverless@3 serverless-offline@13)
  else
    echo "==> npm not found: serverless-offline will be reported as not installed"
  fi
fi

# AWS's Node.js runtime client, for RIE's Node.js column (skipped if it cannot be built here).
./scripts/setup-aws-ric.sh

echo "==> Running the comparison"
exec "$peers/venv/bin/python" bench/compare.py "$@"
