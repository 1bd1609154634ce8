"""The Tool and Running protocols, and helpers shared by the tools."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from ..client import Caller
from ..workloads import Workload

# How a tool's memory per additional warm environment is found:
# "delta": tree PSS after the cold starts minus before, over their number (the cold
#   environments stay warm inside the tool); "instance": each environment is a whole tool
#   instance (RIE), so its whole tree; None: the tool keeps no warm environment.
PerEnv = Literal["delta", "instance"] | None


@dataclass
class ColdStart:
    ms: float
    ok: bool
    instance_pss_mb: float | None = None


class Running(Protocol):
    @property
    def caller(self) -> Caller: ...

    @property
    def boto3(self) -> Caller | None:
        """None when the tool does not speak the Lambda Invoke API."""
        ...

    @property
    def warm(self) -> bool:
        """False when every invoke is a new process."""
        ...

    @property
    def per_env(self) -> PerEnv: ...

    @property
    def warm_environments(self) -> int:
        """How many warm environments it holds before the cold starts (the memory baseline)."""
        ...

    def roots(self) -> list[int]: ...

    def cold_start(self, index: int) -> ColdStart: ...

    def alive(self) -> bool: ...


class Tool(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def fresh(self) -> str:
        """How a fresh environment is forced, for the report."""
        ...

    def unavailable(self, workload: Workload) -> str | None:
        """Why this tool cannot run this workload here, or None."""
        ...

    def start(
        self, workload: Workload, workdir: Path, cold: int
    ) -> contextlib.AbstractContextManager[Running]: ...

    def version(self) -> str: ...


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until something accepts on the port; polled tightly, since cold starts time this."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode} before listening")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.001)
    raise RuntimeError(f"nothing listened on {port} within {timeout} s")


def spawn(command: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    """A tool process in its own process group, so stopping it stops its children too."""
    return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        **kwargs,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the group this benchmark started, then SIGKILL after 10 s."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # Whatever of the group outlived its leader.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def stopping(process: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    try:
        yield process
    finally:
        stop(process)
