#!/usr/bin/env bash
# Install AWS's Node.js runtime interface client (npm `aws-lambda-ric`) into .aws-ric/ for the
# compatibility tests. It builds libcurl from source, so it needs autotools and a C++ compiler;
# as root with apt-get this script installs those that are missing.
#
# Without npm (or autotools, where they cannot be installed) the RIC tests skip, and this
# says so. Any install step that is attempted and
# fails stops the script with a non-zero status and the step's output: a failed install is
# never hidden behind a skipped test.
set -euo pipefail
cd "$(dirname "$0")/.."
marker=.aws-ric/node_modules/aws-lambda-ric/dist/rapid-client.node
[ -f "$marker" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
  echo "==> WARNING: npm not found: the aws-lambda-ric (AWS Node.js runtime client) tests will SKIP" >&2
  exit 0
fi

fail() {
  echo "==> FAILED: $1 (output in $2)" >&2
  tail -n 40 "$2" >&2 || true
  exit 1
}

mkdir -p .aws-ric
# The build tools, installed only when missing (issue 12 item 13): apt_install_missing names
# what it installs, and when apt-get fails it prints apt-get's output and returns 1. As not
# root (or without apt-get) it installs nothing and returns 2: the check below decides.
# shellcheck source=scripts/apt-missing.sh
. scripts/apt-missing.sh
if command -v dpkg-query >/dev/null 2>&1; then
  status=0
  apt_install_missing "for aws-lambda-ric's native build" \
    autoconf automake libtool make g++ cmake || status=$?
  if [ "$status" = 1 ]; then
    echo "==> FAILED: apt-get install of the build tools" >&2
    exit 1
  fi
fi
if ! command -v autoreconf >/dev/null 2>&1; then
  # Not root, or no apt-get: nothing was installed, so nothing failed; the tests cannot run.
  echo "==> WARNING: autotools not found (and not installable here): the aws-lambda-ric tests will SKIP" >&2
  exit 0
fi
echo "==> Building aws-lambda-ric (AWS's Node.js runtime client) into .aws-ric/ (about a minute)"
(cd .aws-ric && npm install --no-audit --no-fund --silent aws-lambda-ric) >.aws-ric/install.log 2>&1 \
  || fail "npm install aws-lambda-ric" .aws-ric/install.log
(cd .aws-ric && npm rebuild aws-lambda-ric --foreground-scripts) >.aws-ric/build.log 2>&1 \
  || fail "npm rebuild aws-lambda-ric (the native build)" .aws-ric/build.log
[ -f "$marker" ] || fail "aws-lambda-ric built without $marker" .aws-ric/build.log
