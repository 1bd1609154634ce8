"""serverless-offline 13 under the Serverless Framework 3 (npm), in the bench-local node dir.

Its Lambda invoke endpoint (the AWS SDK's Invoke route) listens on `lambdaPort` (3002 by
default; a free port here). Functions are `<service>-<stage>-<name>`."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ..client import Boto3Caller, HttpCaller, succeeded
from ..workloads import Workload
from .base import ColdStart, PerEnv, free_port, spawn, stop, wait_for_port


def invoke_path(name: str) -> str:
    return f"/2015-03-31/functions/bench-dev-{name}/invocations"


class SlsTool:
    name = "serverless-offline"
    fresh = (
        "one serverless-offline process serves the warm function and N more identical ones; "
        "each cold start is the first invoke of one of those (its runner is created then)"
    )

    def __init__(self, node_dir: Path) -> None:
        self.node_dir = node_dir
        self.cli = node_dir / "node_modules" / "serverless" / "bin" / "serverless.js"

    def unavailable(self, workload: Workload) -> str | None:
        if not self.cli.exists():
            return f"{self.cli} not installed (scripts/bench-peers.sh installs it)"
        return None

    def version(self) -> str:
        versions = []
        for package in ("serverless", "serverless-offline"):
            manifest = self.node_dir / "node_modules" / package / "package.json"
            versions.append(f"{package} {json.loads(manifest.read_text())['version']}")
        return ", ".join(versions)

    def config(self, workload: Workload, cold: int, ports: list[int]) -> str:
        http_port, lambda_port, websocket_port = ports
        functions = "".join(
            f"  {name}:\n    handler: {workload.handler}\n"
            for name in ["bench", *(f"cold{i}" for i in range(cold))]
        )
        return (
            "service: bench\n"
            'frameworkVersion: "3"\n'
            "provider:\n"
            "  name: aws\n"
            f"  runtime: {workload.runtime}\n"
            "  region: us-east-1\n"
            "  timeout: 60\n"
            "plugins:\n"
            "  - serverless-offline\n"
            "custom:\n"
            "  serverless-offline:\n"
            "    host: 127.0.0.1\n"
            f"    httpPort: {http_port}\n"
            f"    lambdaPort: {lambda_port}\n"
            f"    websocketPort: {websocket_port}\n"
            # Environments stay warm for the whole run, as Hearth's do (--keep-alive 3600).
            "    terminateIdleLambdaTime: 3600\n"
            f"functions:\n{functions}"
        )

    @contextlib.contextmanager
    def start(self, workload: Workload, workdir: Path, cold: int) -> Iterator[RunningSls]:
        service = workload.write(workdir / "service")
        ports = [free_port() for _ in range(3)]
        (service / "serverless.yml").write_text(self.config(workload, cold, ports))
        (service / "node_modules").symlink_to(self.node_dir / "node_modules")
        env = {
            **os.environ,
            "SLS_TELEMETRY_DISABLED": "1",
            "SLS_NOTIFICATIONS_MODE": "off",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            # Its Python runner runs `python3` from this venv's bin: the interpreter of the run.
            "VIRTUAL_ENV": sys.prefix,
        }
        process = spawn(["node", str(self.cli), "offline", "start"], cwd=service, env=env)
        try:
            wait_for_port(ports[1], process, timeout=120)
            yield RunningSls(process, ports[1])
        finally:
            stop(process)


class RunningSls:
    warm = True
    per_env: PerEnv = "delta"
    warm_environments = 1

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process, self.port = process, port
        self.caller = HttpCaller("127.0.0.1", port, invoke_path("bench"))
        self.boto3 = Boto3Caller(f"http://127.0.0.1:{port}", "bench-dev-bench")
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def roots(self) -> list[int]:
        return [self.process.pid]

    def alive(self) -> bool:
        return self.process.poll() is None

    def cold_start(self, index: int) -> ColdStart:
        started = time.perf_counter()
        try:
            self.conn.request("POST", invoke_path(f"cold{index}"), body=b"{}")
            response = self.conn.getresponse()
            ok = succeeded(response.status, response.read())
        except (OSError, http.client.HTTPException):
            self.conn.close()
            ok = False
        return ColdStart((time.perf_counter() - started) * 1000, ok)
