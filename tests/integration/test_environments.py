"""The environment pool with real processes: concurrency, reaping, and nothing outliving Hearth."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Server, create_function, make_zip
from tests.integration.test_invoke_provided import BOOTSTRAP, bootstrap_zip

SLOW_PID = "import os, time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n    return {'pid': os.getpid()}\n"
NODE_PID = "exports.handler = async () => ({pid: process.pid});\n"


@pytest.fixture
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Plain processes: these tests follow environments by their host pids, which a sandboxed
    # function cannot know. The sandboxed equivalents are in test_sandbox_attacks.py.
    server = Server(
        tmp_path_factory.mktemp("pool"), extra_args=["--keep-alive", "1", "--isolation", "process"]
    ).start()
    yield server
    if server.process is not None:
        server.stop()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes: it runs nothing and holds no memory.
    state = (
        Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if Path(f"/proc/{pid}/stat").exists()
        else "X"
    )
    return state not in ("Z", "X")


def descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, IndexError, ValueError):
                continue
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def pid_of(client: Any, name: str, event: dict[str, Any] | None = None) -> int:
    response = client.invoke(FunctionName=name, Payload=json.dumps(event or {}))
    return int(json.loads(response["Payload"].read())["pid"])


def wait_until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def test_concurrent_invokes_get_their_own_environments_and_idle_ones_are_reaped(
    short_lived: Server,
) -> None:
    client = short_lived.client()
    create_function(
        client, "slow", make_zip({"app.py": SLOW_PID}), Runtime="python3.12", Handler="app.handler"
    )
    with ThreadPoolExecutor(4) as pool:
        pids = list(
            pool.map(lambda _: pid_of(short_lived.client(), "slow", {"sleep": 0.5}), range(4))
        )
    assert len(set(pids)) == 4  # one invocation per environment at a time
    assert all(alive(pid) for pid in pids)
    assert pid_of(client, "slow") in pids  # warm environments are reused
    assert wait_until(lambda: not any(alive(pid) for pid in pids), timeout=6)  # keep-alive 1 s


def test_no_process_outlives_a_kill_9_of_the_server(short_lived: Server) -> None:
    client = short_lived.client()
    create_function(
        client,
        "py-live",
        make_zip({"app.py": SLOW_PID}),
        Runtime="python3.12",
        Handler="app.handler",
    )
    create_function(
        client,
        "node-live",
        make_zip({"index.js": NODE_PID}),
        Runtime="nodejs20.x",
        Handler="index.handler",
    )
    create_function(
        client, "custom-live", bootstrap_zip(BOOTSTRAP), Runtime="provided.al2023", Handler="x"
    )
    env_pids = {pid_of(client, "py-live"), pid_of(client, "node-live")}
    response = client.invoke(FunctionName="custom-live", Payload=b"{}")
    env_pids.add(int(json.loads(response["Payload"].read())["pid"]))
    assert short_lived.process is not None
    everything = descendants(short_lived.process.pid)
    assert env_pids <= everything
    short_lived.stop(signal.SIGKILL)
    assert wait_until(lambda: not any(alive(pid) for pid in everything), timeout=5), [
        pid for pid in everything if alive(pid)
    ]


def test_sigterm_stops_every_environment(short_lived: Server) -> None:
    client = short_lived.client()
    create_function(
        client,
        "py-term",
        make_zip({"app.py": SLOW_PID}),
        Runtime="python3.12",
        Handler="app.handler",
    )
    pid = pid_of(client, "py-term")
    assert short_lived.process is not None
    everything = descendants(short_lived.process.pid)
    assert short_lived.stop(signal.SIGTERM) == 0
    assert wait_until(lambda: not any(alive(p) for p in everything | {pid}), timeout=5)
