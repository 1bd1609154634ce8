"""`hearth dev` reload benchmark: from a save to an invoke returning the new result.

A real `hearth serve`, a real `hearth dev` on a one-function SAM template (Python, no
dependencies); each round rewrites app.py to return a new number, then invokes in a loop
until the new number comes back. The figure is the time from the write to that answer.

    .venv/bin/python bench/dev_reload_bench.py              # 20 saves, writes bench/results/
    .venv/bin/python bench/dev_reload_bench.py --rounds 3   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).parent))
from invoke_bench import machine, percentile, start_hearth

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Reloaded:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
  Bystander:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: other/
      Handler: app.handler
      Runtime: python3.12
"""


def handler(value: int) -> str:
    return f"def handler(event, context):\n    return {value}\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        app = root / "app"
        (app / "src").mkdir(parents=True)
        (app / "other").mkdir()
        (app / "template.yaml").write_text(TEMPLATE)
        (app / "src" / "app.py").write_text(handler(0))
        (app / "other" / "app.py").write_text(handler(-1))
        data = str(root / "data")
        server, target, isolation = start_hearth(data, [])
        endpoint = f"http://{target.host}:{target.port}"
        dev = subprocess.Popen(
            [sys.executable, "-m", "hearth", "dev", "--endpoint-url", endpoint, "--data-dir", data],
            cwd=app,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: list[str] = []
        watching = threading.Event()

        def pump() -> None:
            assert dev.stdout is not None
            for line in dev.stdout:
                lines.append(line)
                if line.startswith("Watching"):
                    watching.set()

        threading.Thread(target=pump, daemon=True).start()
        client = boto3.client(
            "lambda",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=Config(retries={"max_attempts": 0}),
        )
        try:
            if not watching.wait(120):
                raise RuntimeError("hearth dev did not start:\n" + "".join(lines))
            client.invoke(FunctionName="Bystander")
            times = [reload_once(app, client, value) for value in range(1, args.rounds + 1)]
            bystander = json.loads(client.invoke(FunctionName="Bystander")["Payload"].read())
        finally:
            dev.terminate()
            dev.wait(10)
            server.terminate()
            server.wait(10)
    result: dict[str, Any] = {
        "machine": machine(),
        "isolation": isolation,
        "rounds": args.rounds,
        "save_to_new_result_ms": {
            "p50": round(statistics.median(times), 1),
            "p90": round(percentile(times, 0.9), 1),
            "max": round(max(times), 1),
        },
        "bystander_still_answers": bystander == -1,
        "reload_lines": [line.strip() for line in lines if line.startswith("reloaded")][-3:],
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "dev_reload.json").write_text(json.dumps(result, indent=2) + "\n")


def reload_once(app: Path, client: Any, value: int) -> float:
    time.sleep(0.3)  # a person's pause between saves, so watchfiles sees each one on its own
    started = time.monotonic()
    path = app / "src" / "app.py"
    path.write_text(handler(value))
    os.utime(path)
    deadline = started + 30
    while time.monotonic() < deadline:
        answer = client.invoke(FunctionName="Reloaded")["Payload"].read()
        if json.loads(answer) == value:
            return (time.monotonic() - started) * 1000
        time.sleep(0.005)
    raise RuntimeError(f"the new result {value} never came back")


if __name__ == "__main__":
    main()
