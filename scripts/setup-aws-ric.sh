#!/usr/bin/env bash
# Install AWS's Node.js runtime interface client (npm `aws-lambda-ric`) into .aws-ric/ for the
# compatibility tests. It builds libcurl from source, so it needs autotools and a C++ compiler;
# as root with apt-get this script installs those that are missing. Without them the Node RIC
# tests skip.
set -uo pipefail
cd "$(dirname "$0")/.."
marker=.aws-ric/node_modules/aws-lambda-ric/dist/rapid-client.node
[ -f "$marker" ] && exit 0
command -v npm >/dev/null 2>&1 || { echo "==> npm not found: the aws-lambda-ric tests will skip"; exit 0; }

# The build tools, installed only when missing (issue 12 item 13); an install that fails stops
# here with apt-get's output. Without root or apt-get nothing is installed and the build below
# is tried anyway (its tests skip if it cannot build).
# shellcheck source=scripts/apt-missing.sh
. scripts/apt-missing.sh
if command -v dpkg-query >/dev/null 2>&1; then
  status=0
  apt_install_missing "for aws-lambda-ric's native build" \
    autoconf automake libtool make g++ cmake || status=$?
  [ "$status" = 1 ] && exit 1
fi
echo "==> Building aws-lambda-ric (AWS's Node.js runtime client) into .aws-ric/ (about a minute)"
mkdir -p .aws-ric
(
  cd .aws-ric &&
  npm install --no-audit --no-fund --silent aws-lambda-ric >/dev/null 2>&1 &&
  npm rebuild aws-lambda-ric --foreground-scripts >build.log 2>&1
) || true
[ -f "$marker" ] || echo "==> aws-lambda-ric did not build (see .aws-ric/build.log): its tests will skip"
exit 0
