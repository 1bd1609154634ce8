#!/usr/bin/env bash
# Set everything up, start Hearth, deploy the sample function, and keep serving until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

export HEARTH_DATA_DIR="${HEARTH_DATA_DIR:-$PWD/.hearth}"
port="${HEARTH_PORT:-9070}"
export HEARTH_ENDPOINT_URL="http://127.0.0.1:$port"

.venv/bin/hearth serve --port "$port" &
server=$!
# Ctrl-C (or a TERM) is how a person stops this: stop the server, then exit 0. The server got
# the terminal's SIGINT too; a second signal just asks it again to shut down cleanly.
stop() {
  trap - INT TERM EXIT
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

for _ in $(seq 1 100); do
  if curl -fsS "$HEARTH_ENDPOINT_URL/_hearth/health" >/dev/null 2>&1 ||
     .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1])" \
       "$HEARTH_ENDPOINT_URL/_hearth/health" >/dev/null 2>&1; then
    break
  fi
  kill -0 $server 2>/dev/null || { echo "hearth serve exited; see its output above." >&2; exit 1; }
  sleep 0.1
done

echo "==> Deploying examples/hello as the function 'hello'"
.venv/bin/hearth deploy examples/hello --name hello --runtime python3.12 --handler app.handler
.venv/bin/hearth functions
echo "==> Invoking it"
.venv/bin/hearth invoke hello --payload '{"name": "Hearth"}' --tail
echo
echo "Hearth is running at $HEARTH_ENDPOINT_URL. Try:"
echo "  .venv/bin/hearth invoke hello --payload '{\"name\": \"you\"}'"
echo "  .venv/bin/hearth logs hello --follow"
echo "  export AWS_ACCESS_KEY_ID=hearth AWS_SECRET_ACCESS_KEY=hearth   # the aws CLI needs some; any will do"
echo "  .venv/bin/aws lambda invoke --function-name hello --endpoint-url $HEARTH_ENDPOINT_URL --region us-east-1 out.json"
# (hearth serve's own banner above already says "Press Ctrl-C to stop.")
wait "$server"
