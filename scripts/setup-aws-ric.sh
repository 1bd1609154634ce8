#!/usr/bin/env bash
# Install AWS's Node.js runtime interface client (npm `aws-lambda-ric`) into .aws-ric/ for the
# compatibility tests. It builds libcurl from source, so it needs autotools and a C++ compiler;
# as root with apt-get this script installs them. Without them the Node RIC tests skip.
set -uo pipefail
cd "$(dirname "$0")/.."
marker=.aws-ric/node_modules/aws-lambda-ric/dist/rapid-client.node
[ -f "$marker" ] && exit 0
command -v npm >/dev/null 2>&1 || { echo "==> npm not found: the aws-lambda-ric tests will skip"; exit 0; }

if ! command -v autoreconf >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "==> Installing autotools for aws-lambda-ric's native build"
  apt-get update -qq >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq autoconf automake libtool make g++ cmake >/dev/null 2>&1
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
