"""python-lambda-local (PyPI): a command that runs one invoke in a new process and exits.

It has no server and no Lambda API, so the raw-HTTP client cannot reach it: each "call" is the
command run to completion, and there is no warm environment to measure."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ..client import Call
from ..workloads import Workload
from .base import ColdStart, PerEnv


class ProcessCaller:
    """Runs the command once per call; remembers live pids so memory sampling sees them."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        self.command, self.cwd = command, cwd
        self.live: set[int] = set()
        self.lock = threading.Lock()

    def open(self) -> tuple[Call, Callable[[], None]]:
        return self.call, lambda: None

    def call(self) -> bool:
        process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        with self.lock:
            self.live.add(process.pid)
        try:
            output, _ = process.communicate(timeout=120)
        finally:
            with self.lock:
                self.live.discard(process.pid)
        # It prints the handler's result with repr() after "RESULT:".
        return process.returncode == 0 and b"{'ok': True}" in output


class PllTool:
    name = "python-lambda-local"
    fresh = "every invoke is a new process (the tool keeps nothing warm)"

    def unavailable(self, workload: Workload) -> str | None:
        if workload.language != "python":
            return "runs Python handlers only"
        if self.binary() is None:
            return "python-lambda-local is not installed in this venv"
        return None

    def binary(self) -> str | None:
        return shutil.which("python-lambda-local", path=str(Path(sys.executable).parent))

    def version(self) -> str:
        from importlib.metadata import version

        return f"python-lambda-local {version('python-lambda-local')}"

    @contextlib.contextmanager
    def start(self, workload: Workload, workdir: Path, cold: int) -> Iterator[RunningPll]:
        task = workload.write(workdir / "task")
        (task / "event.json").write_text("{}")
        module, function = workload.handler.rsplit(".", 1)
        binary = self.binary()
        assert binary is not None
        command = [binary, "-f", function, "-t", "60", f"{module}.py", "event.json"]
        yield RunningPll(ProcessCaller(command, task))


class RunningPll:
    warm = False
    per_env: PerEnv = None
    warm_environments = 0
    boto3 = None

    def __init__(self, caller: ProcessCaller) -> None:
        self.caller = caller

    def roots(self) -> list[int]:
        with self.caller.lock:
            return list(self.caller.live)

    def alive(self) -> bool:
        return True  # nothing runs between invokes

    def cold_start(self, index: int) -> ColdStart:
        started = time.perf_counter()
        ok = self.caller.call()
        return ColdStart((time.perf_counter() - started) * 1000, ok)
