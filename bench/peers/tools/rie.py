"""AWS's Runtime Interface Emulator (the `aws-lambda-rie` binary from the aws-sam-cli wheel)
with AWS's runtime interface clients: `awslambdaric` for Python, `aws-lambda-ric` for Node.js.

One RIE process is one execution environment and takes one invoke at a time, as a Lambda
sandbox does; a fresh environment is a fresh RIE process."""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ..client import Boto3Caller, Call, HttpCaller, succeeded
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

    def __init__(self, binary: Path, node_ric: Path | None, instances: int = 1) -> None:
        self.binary, self.node_ric, self.instances = binary, node_ric, instances
        # One process per environment is how RIE scales (SAM CLI and LocalStack run one per
        # container): the fleet variant puts each of the 8 clients on its own RIE process.
        if instances > 1:
            self.name = f"aws-lambda-rie ×{instances}"
            self.fresh = f"as aws-lambda-rie; {instances} warm RIE processes, one per client"

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
            for port in running.ports:
                running.mains.append(running.launch(port))
            for port, process in zip(running.ports, running.mains, strict=True):
                wait_for_port(port, process)
            if self.instances > 1:  # every process warm before the load starts
                for _ in running.ports:
                    call, close = running.caller.open()
                    call()
                    close()
            yield running
        finally:
            for process in running.mains:
                stop(process)


class FleetCaller(HttpCaller):
    """Each client opened gets the next RIE process, round robin."""

    def __init__(self, ports: list[int]) -> None:
        super().__init__("127.0.0.1", ports[0], INVOKE_PATH)
        self.ports = ports
        self.opened = itertools.count()

    def targets(self) -> list[tuple[str, int, str]]:
        return [("127.0.0.1", port, INVOKE_PATH) for port in self.ports]

    def open(self) -> tuple[Call, Callable[[], None]]:
        if len(self.ports) == 1:
            return super().open()
        port = self.ports[next(self.opened) % len(self.ports)]
        return HttpCaller("127.0.0.1", port, INVOKE_PATH).open()


class RunningRie:
    warm = True
    per_env: PerEnv = "instance"

    def __init__(self, tool: RieTool, workload: Workload, task_root: Path) -> None:
        self.tool, self.workload, self.task_root = tool, workload, task_root
        self.mains: list[subprocess.Popen[bytes]] = []
        self.ports = [free_port() for _ in range(tool.instances)]
        self.warm_environments = tool.instances
        self.cold: subprocess.Popen[bytes] | None = None
        self.caller = FleetCaller(self.ports)
        self.boto3 = Boto3Caller(f"http://127.0.0.1:{self.ports[0]}", "function")

    def launch(self, port: int) -> subprocess.Popen[bytes]:
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
                f"127.0.0.1:{port}",
                "--runtime-api-address",
                f"127.0.0.1:{free_port()}",
                *self.tool.command(self.workload),
            ],
            cwd=self.task_root,
            env=env,
        )

    def roots(self) -> list[int]:
        processes = [*self.mains, self.cold]
        return [p.pid for p in processes if p is not None and p.poll() is None]

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.mains)

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
