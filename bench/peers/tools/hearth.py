"""Hearth itself: a real `hearth serve` on a free loopback port, driven over its Lambda API."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..client import Boto3Caller, HttpCaller, succeeded
from ..workloads import Workload, for_snapstart
from .base import ColdStart, PerEnv, stop


def isolation_modes() -> list[str] | None:
    """The --isolation values this build's `hearth serve` takes to switch the sandbox on and
    off, or None when it has no such option (the sandbox issue has not landed in it)."""
    help_text = subprocess.run(
        [sys.executable, "-m", "hearth", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return ["sandbox", "process"] if "--isolation" in help_text else None


class HearthTool:
    fresh = "a new function per cold start (created untimed, then its first invoke is timed)"

    def __init__(self, isolation: str | None, snapstart: bool = False) -> None:
        self.isolation = isolation
        self.snapstart = snapstart
        self.name = f"hearth ({isolation})" if isolation else "hearth"
        if snapstart:
            self.name = self.name.removesuffix(")") + ", SnapStart)"
            # With SnapStart, a version's init runs when it is published (untimed too).
            self.fresh = (
                "a new function per cold start, published with SnapStart (untimed, until the "
                "version is Active), then the version's first invoke is timed"
            )

    def unavailable(self, workload: Workload) -> str | None:
        if self.snapstart and workload.language != "python":
            return "SnapStart is for Python functions in Hearth"
        return None

    def version(self) -> str:
        from importlib.metadata import version

        return version("hearth")

    @contextlib.contextmanager
    def start(self, workload: Workload, workdir: Path, cold: int) -> Iterator[RunningHearth]:
        extra = ["--isolation", self.isolation] if self.isolation else []
        # Every cold start's environment stays warm, as the memory figures assume: a budget
        # far above 20+ environments of 1769 MB, so none is evicted to make room.
        extra += ["--memory-budget-mb", str(1769 * 64)]
        with tempfile.TemporaryDirectory(dir=workdir) as data_dir:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "hearth",
                    "serve",
                    "--port",
                    "0",
                    "--data-dir",
                    data_dir,
                    "--keep-alive",
                    "3600",
                    *extra,
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                port = _ready_port(process)
                if self.snapstart:
                    workload = for_snapstart(workload)
                running = RunningHearth(process, port, workload, self.snapstart)
                running.deploy("bench")
                yield running
            finally:
                stop(process)


def _ready_port(process: subprocess.Popen[bytes]) -> int:
    assert process.stdout is not None
    for raw in process.stdout:
        found = re.search(rb"ready at http://[\d.]+:(\d+)", raw)
        if found:
            # Keep draining, so a chatty server never blocks on a full pipe.
            threading.Thread(target=_drain, args=(process.stdout,), daemon=True).start()
            return int(found.group(1))
    raise RuntimeError("hearth serve exited before it was ready")


def _drain(stream: IO[bytes]) -> None:
    for _ in stream:
        pass


class RunningHearth:
    warm = True
    per_env: PerEnv = "delta"
    warm_environments = 1

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        port: int,
        workload: Workload,
        snapstart: bool = False,
    ) -> None:
        self.process, self.port, self.workload = process, port, workload
        self.snapstart = snapstart
        self.code = base64.b64encode(workload.zip_bytes()).decode()
        # With SnapStart, every invoke goes to version 1, the one published with it.
        suffix = "?Qualifier=1" if snapstart else ""
        self.caller = HttpCaller("127.0.0.1", port, self.invoke_path("bench") + suffix)
        self.boto3 = Boto3Caller(f"http://127.0.0.1:{port}", "bench")
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    @staticmethod
    def invoke_path(name: str) -> str:
        return f"/2015-03-31/functions/{name}/invocations"

    def roots(self) -> list[int]:
        return [self.process.pid]

    def alive(self) -> bool:
        return self.process.poll() is None

    def _request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        try:
            self.conn.request(method, path, body=body)
            response = self.conn.getresponse()
        except (ConnectionError, http.client.RemoteDisconnected):
            # Idle past Hearth's keep-alive timeout (5 s) while other phases ran: reconnect.
            self.conn.close()
            self.conn.request(method, path, body=body)
            response = self.conn.getresponse()
        return response.status, response.read()

    def deploy(self, name: str) -> None:
        body = {
            "FunctionName": name,
            "Runtime": self.workload.runtime,
            "Handler": self.workload.handler,
            "Role": "arn:aws:iam::123456789012:role/bench",
            "Code": {"ZipFile": self.code},
            # One full vCPU: sandboxed, Hearth caps CPU at MemorySize / 1769 MB as AWS does,
            # and the peers cap nothing; a smaller function would measure that cap.
            "MemorySize": 1769,
            "Timeout": 60,
        }
        if self.snapstart:
            body["SnapStart"] = {"ApplyOn": "PublishedVersions"}
            body["Publish"] = True
        status, answer = self._request("POST", "/2015-03-31/functions", json.dumps(body).encode())
        if status != 201:
            raise RuntimeError(f"CreateFunction {status}: {answer[:300]!r}")
        path = f"/2015-03-31/functions/{name}/configuration"
        if self.snapstart:
            path += "?Qualifier=1"
        for _ in range(3000):
            _, answer = self._request("GET", path)
            if json.loads(answer).get("State") == "Active":
                return
            time.sleep(0.01)
        raise RuntimeError(f"{name} never became Active")

    def cold_start(self, index: int) -> ColdStart:
        name = f"cold-{index}"
        self.deploy(name)
        path = self.invoke_path(name) + ("?Qualifier=1" if self.snapstart else "")
        started = time.perf_counter()
        status, body = self._request("POST", path, b"{}")
        return ColdStart((time.perf_counter() - started) * 1000, succeeded(status, body))
