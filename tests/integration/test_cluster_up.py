"""`hearth cluster up --nodes 3`: a nats-server and three nodes that boto3 and the aws CLI
see as one Hearth; Ctrl-C stops every process it started and exits 0."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from hearth.cluster.local import free_port
from tests.integration.cluster_faults_helpers import REPORTING, Reports
from tests.integration.conftest import aws_json, create_function, lambda_client, make_zip

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NODE = re.compile(r"^\s*node-(\d+): (http://\S+)$")


def _descendants(pid: int) -> set[int]:
    """Every live process under `pid` (Linux /proc), however deep."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The parent pid is the second field after the command, which is in parentheses.
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def _eventually(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_cluster_up_runs_three_nodes_as_one_hearth_and_ctrl_c_stops_them_all(
    tmp_path: Path,
) -> None:
    up = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hearth",
            "cluster",
            "up",
            "--nodes",
            "3",
            "--port",
            str(free_port()),
            "--nats-port",
            "0",
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert up.stdout is not None
        for line in up.stdout:
            lines.append(line)
            if "nodes are up" in line:
                ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    reports = Reports()
    try:
        assert ready.wait(120) and up.poll() is None, "".join(lines)
        endpoints = [m.group(2) for line in lines if (m := NODE.match(line.rstrip()))]
        assert len(endpoints) == 3, "".join(lines)
        _drive(endpoints, reports)
        started = _descendants(up.pid)
        assert len(started) >= 4  # nats-server and three nodes (and what the nodes run)
    finally:
        up.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            code = up.wait(60)
        finally:
            reports.close()
            if up.poll() is None:
                up.kill()
    reader.join(5)
    assert up.stdout is not None
    up.stdout.close()
    assert code == 0, "".join(lines)
    assert "Cluster stopped." in "".join(lines)
    left = [pid for pid in started if _alive(pid)]
    assert not left, f"still running after Ctrl-C: {left}"


def _drive(endpoints: list[str], reports: Reports) -> None:
    first, second, third = (lambda_client(e) for e in endpoints)
    create_function(first, "shared", make_zip({"app.py": REPORTING}), Timeout=30)
    # Listed by the aws CLI on another node, invoked by boto3 on the third.
    listed = aws_json(endpoints[1], "list-functions")["Functions"]
    assert [f["FunctionName"] for f in listed] == ["shared"]
    event = {"url": reports.url, "id": "sync"}
    answer = third.invoke(FunctionName="shared", Payload=json.dumps(event).encode())
    assert answer["Payload"].read() == b'"ok"'
    # Updated with the aws CLI on the third node; the first sees it.
    aws_json(
        endpoints[2], "update-function-configuration", "--function-name", "shared",
        "--description", "from node 2",
    )  # fmt: skip

    def updated() -> None:
        got = first.get_function_configuration(FunctionName="shared")
        assert got["Description"] == "from node 2" and got["LastUpdateStatus"] == "Successful"

    _eventually(updated)
    # Event invokes accepted by each node all run (on whichever node takes them).
    ids = set()
    for client in (first, second, third):
        event_id = uuid.uuid4().hex
        payload = json.dumps({"url": reports.url, "id": event_id}).encode()
        assert (
            client.invoke(FunctionName="shared", InvocationType="Event", Payload=payload)[
                "StatusCode"
            ]
            == 202
        )
        ids.add(event_id)

    def all_ran() -> None:
        done = {r["id"] for r in reports.snapshot() if r["step"] == "done"}
        assert ids <= done

    _eventually(all_ran, timeout=30)
    # The second node has the update too.
    got = second.get_function(FunctionName="shared")
    assert got["Configuration"]["Description"] == "from node 2"
