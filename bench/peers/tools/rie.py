"""AWS's Runtime Interface Emulator (the `aws-lambda-rie` binary from the aws-sam-cli wheel)
with AWS's runtime interface clients: `awslambdaric` for Python, `aws-lambda-ric` for Node.js.

One RIE process is one execution environment and takes one invoke at a time, as a Lambda
sandbox does; a fresh environment is a fresh RIE process."""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ..client import Boto3Caller, HttpCaller, succeeded
from ..memory import tree_usage
from ..workloads import Workload
from .base import ColdStart, PerEnv, free_port, spawn, stop, wait_for_port

INVOKE_PATH = "/2015-03-31/functions/function/invocations"


class RieTool:
    name = "aws-lambda-rie"
    fresh = (
        "a new RIE process per cold start: timed from spawning it to the first response "
        "(RIE starts the runtime on the first invoke)"
    )

    def __init__(self, binary: Path, node_ric: Path | None) -> None:
        self.binary, self.node_ric = binary, node_ric

    def unavailable(self, workload: Workload) -> str | None:
        if not self.binary.exists():
            return f"{self.binary} not installed (scripts/bench-peers.sh installs it)"
        if workload.language == "node" and self.node_ric is None:
            return "aws-lambda-ric (npm) is not built here (scripts/setup-aws-ric.sh)"
        if workload.language == "python" and importlib.util.find_spec("awslambdaric") is None:
            return "awslambdaric is not installed in this venv"
        return None

    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        stamp = self.binary.parent / "aws-sam-cli.version"
        sam = stamp.read_text().strip() if stamp.exists() else "?"
        try:
            return f"aws-lambda-rie from aws-sam-cli {sam}, awslambdaric {version('awslambdaric')}"
        except PackageNotFoundError:
            return f"aws-lambda-rie from aws-sam-cli {sam}"

    def command(self, workload: Workload) -> list[str]:
        if workload.language == "node":
            assert self.node_ric is not None
            return ["node", str(self.node_ric), workload.handler]
        return [sys.executable, "-m", "awslambdaric", workload.handler]

    @contextlib.contextmanager
    def start(self, workload: Workload, workdir: Path, cold: int) -> Iterator[RunningRie]:
        task_root = workload.write(workdir / "task")
        running = RunningRie(self, workload, task_root)
        try:
            running.main = running.launch()
            wait_for_port(running.main_port, running.main)
            yield running
        finally:
            if running.main is not None:
                stop(running.main)


class RunningRie:
    warm = True
    per_env: PerEnv = "instance"

    def __init__(self, tool: RieTool, workload: Workload, task_root: Path) -> None:
        self.tool, self.workload, self.task_root = tool, workload, task_root
        self.main: subprocess.Popen[bytes] | None = None
        self.main_port = free_port()
        self.cold: subprocess.Popen[bytes] | None = None
        self.caller = HttpCaller("127.0.0.1", self.main_port, INVOKE_PATH)
        self.boto3 = Boto3Caller(f"http://127.0.0.1:{self.main_port}", "function")

    def launch(self, port: int | None = None) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "LAMBDA_TASK_ROOT": str(self.task_root),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": "60",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        }
        return spawn(
            [
                str(self.tool.binary),
                "--runtime-interface-emulator-address",
                f"127.0.0.1:{port or self.main_port}",
                "--runtime-api-address",
                f"127.0.0.1:{free_port()}",
                *self.tool.command(self.workload),
            ],
            cwd=self.task_root,
            env=env,
        )

    def roots(self) -> list[int]:
        return [p.pid for p in (self.main, self.cold) if p is not None and p.poll() is None]

    def alive(self) -> bool:
        return self.main is not None and self.main.poll() is None

    def cold_start(self, index: int) -> ColdStart:
        port = free_port()
        started = time.perf_counter()
        self.cold = self.launch(port)
        try:
            wait_for_port(port, self.cold)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request("POST", INVOKE_PATH, body=b"{}")
            response = conn.getresponse()
            ok = succeeded(response.status, response.read())
            elapsed = (time.perf_counter() - started) * 1000
            conn.close()
            pss = tree_usage([self.cold.pid])["pss_mb"]
            return ColdStart(elapsed, ok, pss)
        finally:
            stop(self.cold)
            self.cold = None
