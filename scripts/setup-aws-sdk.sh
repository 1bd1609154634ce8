#!/usr/bin/env bash
# Install the AWS SDKs that Hearth's runtimes carry, as AWS's do, into the runtimes' directory
# (src/hearth/runtimes/aws-sdk/, which a sandbox sees at /var/runtime/aws-sdk; shared,
# read-only, by every function; a copy in the function's zip or a layer shadows it):
#   python/  boto3 + botocore (pure Python: one copy serves every python3.x runtime)
#   node/    the AWS SDK for JavaScript v3 clients a Lambda application uses
# Idempotent; a missing npm only costs the Node.js SDK (said at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

python=.venv/bin/python
sdk=src/hearth/runtimes/aws-sdk
marker=$sdk/python/boto3/__init__.py
if [ ! -f "$marker" ] || [ scripts/setup-aws-sdk.sh -nt "$marker" ]; then
  echo "==> Installing boto3 into $sdk/python (the Python runtimes' SDK)"
  rm -rf "$sdk/python"
  "$python" -m pip install --quiet --no-compile --target "$sdk/python" boto3
fi

node_marker=$sdk/node/node_modules/@aws-sdk/client-s3/package.json
if [ ! -f "$node_marker" ] || [ scripts/setup-aws-sdk.sh -nt "$node_marker" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "==> Installing the AWS SDK for JavaScript v3 into $sdk/node (about a minute)"
    mkdir -p "$sdk/node"
    (
      cd "$sdk/node" &&
        [ -f package.json ] || echo '{"name": "hearth-aws-sdk", "private": true}' >package.json
      npm install --silent --no-audit --no-fund \
        @aws-sdk/client-s3 @aws-sdk/client-dynamodb @aws-sdk/lib-dynamodb \
        @aws-sdk/client-dynamodb-streams @aws-sdk/client-sns @aws-sdk/client-sqs \
        @aws-sdk/client-kinesis @aws-sdk/client-eventbridge @aws-sdk/client-scheduler \
        @aws-sdk/client-sts @aws-sdk/client-iam @aws-sdk/client-secrets-manager \
        @aws-sdk/client-ssm @aws-sdk/client-lambda @aws-sdk/client-cloudwatch-logs \
        >build.log 2>&1
    ) || echo "==> npm install failed (see $sdk/node/build.log): Node.js functions get no SDK"
  else
    echo "==> npm not found: Node.js functions get no AWS SDK"
  fi
fi
