"""`hearth cluster up`: a local NATS server with JetStream and N `hearth serve --cluster`
nodes on this machine, for trying cluster mode. Ctrl-C stops them all."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from hearth.cli.output import console, err_console
from hearth.config import DEFAULT_HOST, DEFAULT_PORT, default_data_dir

if TYPE_CHECKING:
    from hearth.cluster.local import LocalNats

READY = re.compile(r"ready at (http://\S+)")
# A node imports the embedded services and starts zygotes: on a busy machine that takes a while.
NODE_START_SECONDS = 120.0
DEFAULT_NATS_PORT = 4222


@click.group()
def cluster() -> None:
    """Cluster mode on this machine (see the README's cluster section for several hosts)."""


@cluster.command()
@click.option("--nodes", default=3, show_default=True, type=click.IntRange(1, 32))
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="The first node's port; the others get the next free ones.",
)
@click.option(
    "--nats-port",
    default=DEFAULT_NATS_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="NATS's client port (0 or taken: a free one).",
)
@click.option(
    "--data-dir",
    envvar="HEARTH_DATA_DIR",
    type=click.Path(path_type=Path),
    default=None,
    help="Under DATA_DIR/cluster: NATS's JetStream store and each node's data dir "
    f"[default: {default_data_dir()}].",
)
@click.argument("serve_args", nargs=-1, type=click.UNPROCESSED)
def up(
    nodes: int, port: int, nats_port: int, data_dir: Path | None, serve_args: tuple[str, ...]
) -> None:
    """Start NATS and NODES Hearth nodes; anything after `--` is passed to each `hearth serve`."""
    root = (data_dir or default_data_dir()).expanduser().resolve() / "cluster"
    nats = _start_nats(root, nats_port)
    console.print(f"NATS (JetStream) at {nats.url}, data in {nats.store_dir}", markup=False)
    ports = _consecutive_free_ports(port, nodes)
    started: list[subprocess.Popen[str]] = []
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    failed = False
    try:
        # All at once: each spends its start-up importing and warming, not waiting on others.
        starting = [
            _Node(root, index, node_port, nats.url, serve_args)
            for index, node_port in enumerate(ports)
        ]
        started.extend(node.process for node in starting)
        for node in starting:
            endpoint = node.wait_ready()
            if endpoint is None:
                err_console.print(
                    f"error: node-{node.index} did not start (see {node.log})", markup=False
                )
                failed = True
                return
            console.print(f"  node-{node.index}: {endpoint}", markup=False)
        console.print(
            f"{nodes} nodes are up; point boto3 or the aws CLI at any of them "
            "(AWS_ACCESS_KEY_ID=hearth AWS_SECRET_ACCESS_KEY=hearth). Press Ctrl-C to stop.",
            markup=False,
        )
        sys.stdout.flush()
        failed = not _wait(started, stopping)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stop_all(started, nats)
        console.print("Cluster stopped.", markup=False)
    if failed:
        sys.exit(1)


def _wait(started: list[subprocess.Popen[str]], stopping: threading.Event) -> bool:
    """Until Ctrl-C (True) or a node exits by itself (False)."""
    while not stopping.is_set():
        for index, process in enumerate(started):
            if process.poll() is not None:
                err_console.print(f"node-{index} exited ({process.returncode})", markup=False)
                return False
        stopping.wait(0.5)
    return True


def _start_nats(root: Path, port: int) -> LocalNats:
    from hearth.cluster.local import LocalNats, NatsServerMissing, free_port

    nats = LocalNats(root / "nats", port=port if _port_free(DEFAULT_HOST, port) else free_port())
    try:
        return nats.start()
    except (NatsServerMissing, RuntimeError) as exc:
        err_console.print(f"error: {exc}", markup=False)
        sys.exit(1)


def _stop_all(started: list[subprocess.Popen[str]], nats: LocalNats) -> None:
    """The nodes first (each finishes what it runs), then NATS."""
    for process in started:
        if process.poll() is None:
            process.terminate()
    for process in started:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
    nats.stop()


class _Node:
    """One `hearth serve --cluster` child, its output copied to DATA_DIR/cluster/node-N.log."""

    def __init__(
        self, root: Path, index: int, port: int, nats_url: str, serve_args: tuple[str, ...]
    ) -> None:
        self.index = index
        self.log = root / f"node-{index}.log"
        command = [
            sys.executable,
            "-m",
            "hearth",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(root / f"node-{index}"),
            "--cluster",
            nats_url,
            "--node-name",
            f"node-{index}",
            *serve_args,
        ]
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,  # Ctrl-C reaches `cluster up`, which stops them in order
        )
        self._endpoint: str | None = None
        self._ready = threading.Event()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        with open(self.log, "a") as out:
            for line in self.process.stdout:
                out.write(line)
                out.flush()
                found = READY.search(line)
                if found:
                    self._endpoint = found.group(1)
                if "Press Ctrl-C to stop." in line:
                    self._ready.set()
        self._ready.set()

    def wait_ready(self) -> str | None:
        self._ready.wait(NODE_START_SECONDS)
        return self._endpoint if self.process.poll() is None else None


def _port_free(host: str, port: int) -> bool:
    if port == 0:
        return False
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _consecutive_free_ports(first: int, count: int) -> list[int]:
    """`count` free ports in a row from `first` on (past any that are taken)."""
    start = first
    while start + count <= 65536:
        run = list(range(start, start + count))
        taken = next((p for p in run if not _port_free(DEFAULT_HOST, p)), None)
        if taken is None:
            return run
        start = taken + 1
    raise click.UsageError(f"no {count} consecutive free ports from {first} on")


COMMANDS = (cluster,)
