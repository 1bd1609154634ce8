"""Cluster mode as one tries it and as it fails, on this machine: `hearth cluster up --nodes 3`
(a real nats-server and three nodes) driven by boto3 and the aws CLI, plus a fourth node that
reaches NATS through a proxy that can be cut (a partition); the nats-server restarted on its
store while they serve; and Ctrl-C stopping everything `cluster up` started.

One cluster for the whole module (starting nodes is what takes time); the tests run in order
and the last one stops it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.errors import NotFoundError

from hearth.cluster.local import LocalNats, free_port
from tests.integration.cluster_faults_helpers import REPORTING, Partition, Reports
from tests.integration.conftest import Server, aws_json, create_function, make_zip

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# An event held by a node that stopped answering runs elsewhere this soon.
ACK_WAIT = "2"
NODE_LINE = re.compile(r"^\s*node-(\d+): (http://\S+)$")
NATS_LINE = re.compile(r"NATS \(JetStream\) at nats://127\.0\.0\.1:(\d+)")


class FaultyCluster:
    """`hearth cluster up --nodes 3` and a fourth node, `far`, through a Partition."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lines: list[str] = []
        self.up = subprocess.Popen(
            [
                sys.executable, "-m", "hearth", "cluster", "up", "--nodes", "3",
                "--port", str(free_port()), "--nats-port", "0", "--data-dir", str(root),
                "--", "--cluster-ack-wait", ACK_WAIT,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        self.restarted: LocalNats | None = None  # the nats-server this test started, if any
        self.partition: Partition | None = None
        self.far = Server(root / "far")
        ready = threading.Event()

        def pump() -> None:
            assert self.up.stdout is not None
            for line in self.up.stdout:
                self.lines.append(line)
                if "nodes are up" in line:
                    ready.set()
                if found := NATS_LINE.search(line):  # the far node starts meanwhile
                    self.nats_port = int(found.group(1))
                    self.partition = Partition("127.0.0.1", self.nats_port)
                    self.far.extra_args = [
                        "--cluster", self.partition.url, "--node-name", "node-far",
                        "--cluster-ack-wait", ACK_WAIT,
                    ]  # fmt: skip
                    threading.Thread(target=lambda: self.far.start(90), daemon=True).start()
            ready.set()

        self._reader = threading.Thread(target=pump, daemon=True)
        self._reader.start()
        assert ready.wait(120) and self.up.poll() is None, "".join(self.lines)
        urls = [m.group(2) for line in self.lines if (m := NODE_LINE.match(line.rstrip()))]
        assert len(urls) == 3, "".join(self.lines)
        self.nodes = [Server(root / f"node-{i}", endpoint=url) for i, url in enumerate(urls)]
        deadline = time.monotonic() + 60
        while not self.far.endpoint:
            assert time.monotonic() < deadline, "the far node did not start"
            time.sleep(0.05)

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.nats_port}"

    def stop_nats(self) -> None:
        """Stop the nats-server `cluster up` started (or the one this test started since)."""
        if self.restarted is not None:
            self.restarted.stop()
            return
        (pid,) = [p for p in descendants(self.up.pid) if b"nats-server" in _cmdline(p)]
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while alive(pid):
            assert time.monotonic() < deadline, "nats-server did not stop"
            time.sleep(0.02)

    def start_nats(self) -> None:
        """A nats-server on the same port and the same store dir."""
        self.restarted = LocalNats(self.root / "cluster" / "nats", port=self.nats_port).start()

    def stop(self) -> None:
        if self.up.poll() is None:  # the last test did not run: stop what is left
            self.up.send_signal(signal.SIGINT)
            try:
                self.up.wait(60)
            except subprocess.TimeoutExpired:
                self.up.kill()
        if self.far.process is not None:
            self.far.stop()
        if self.partition is not None:
            self.partition.close()
        if self.restarted is not None:
            self.restarted.stop()
        self._reader.join(5)
        if self.up.stdout is not None:
            self.up.stdout.close()


def descendants(pid: int) -> set[int]:
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


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultyCluster]:
    running = FaultyCluster(tmp_path_factory.mktemp("faults"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def reports() -> Iterator[Reports]:
    endpoint = Reports()
    try:
        yield endpoint
    finally:
        endpoint.close()


def _eventually(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _status(node: Server) -> dict[str, Any]:
    with urllib.request.urlopen(f"{node.endpoint}/_hearth/cluster", timeout=5) as answer:
        status: dict[str, Any] = json.load(answer)
        return status


def _members(node: Server) -> list[str]:
    return sorted(m["node"] for m in _status(node)["members"])


def _unavailable(call: Any, **params: Any) -> tuple[dict[str, Any], float]:
    """Call, expecting AWS's ServiceException with 503; its error and how long it took."""
    started = time.monotonic()
    with pytest.raises(Exception) as raised:
        call(**params)
    took = time.monotonic() - started
    response = getattr(raised.value, "response", None)
    assert response is not None, f"not an AWS error: {raised.value!r}"
    assert response["Error"]["Code"] == "ServiceException", response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert "cannot reach NATS" in response["Error"]["Message"]
    return response["Error"], took


def _send_events(
    client: Any, function: str, reports: Reports, count: int, **extra: Any
) -> set[str]:
    ids = set()
    for _ in range(count):
        event_id = uuid.uuid4().hex
        payload = json.dumps({"url": reports.url, "id": event_id, **extra}).encode()
        answer = client.invoke(FunctionName=function, InvocationType="Event", Payload=payload)
        assert answer["StatusCode"] == 202
        ids.add(event_id)
    return ids


def _done(reports: Reports) -> set[str]:
    return {r["id"] for r in reports.snapshot() if r["step"] == "done"}


def test_cluster_up_nodes_serve_as_one_hearth(cluster: FaultyCluster, reports: Reports) -> None:
    endpoints = [node.endpoint for node in cluster.nodes]
    first, second, third = (node.client() for node in cluster.nodes)
    create_function(first, "shared", make_zip({"app.py": REPORTING}), Timeout=30)
    # Listed on another node, invoked on the third.
    listed = second.list_functions()["Functions"]
    assert [f["FunctionName"] for f in listed] == ["shared"]
    event = {"url": reports.url, "id": "sync"}
    answer = third.invoke(FunctionName="shared", Payload=json.dumps(event).encode())
    assert answer["Payload"].read() == b'"ok"'
    # Updated with the aws CLI on the third node; the first and the second see it.
    aws_json(
        endpoints[2], "update-function-configuration", "--function-name", "shared",
        "--description", "from node 2",
    )  # fmt: skip

    def updated(client: Any) -> None:
        got = client.get_function_configuration(FunctionName="shared")
        assert got["Description"] == "from node 2" and got["LastUpdateStatus"] == "Successful"

    _eventually(lambda: updated(first))
    _eventually(lambda: updated(second))
    # Event invokes accepted by each node all run (on whichever node takes them).
    accepted = set()
    for client in (first, second, third):
        accepted |= _send_events(client, "shared", reports, 1)
    _eventually(lambda: _check_subset(accepted, _done(reports)), timeout=30)


def _bucket_names(cluster: FaultyCluster) -> set[str]:
    """The objects the cluster's code bucket holds, asked of NATS directly."""

    async def names() -> set[str]:
        nc = await nats.connect(cluster.nats_url)
        try:
            store = await nc.jetstream().object_store("hearth_code")
            try:
                listed = await store.list(ignore_deletes=True)
            except NotFoundError:
                return set()
            return {info.name for info in listed}
        finally:
            await nc.close()

    return asyncio.run(names())


def test_code_leaves_the_bucket_once_nothing_names_it(cluster: FaultyCluster) -> None:
    a, b = cluster.nodes[0].client(), cluster.nodes[1].client()
    first = make_zip({"app.py": f"def handler(e, c):\n    return '{uuid.uuid4()}'\n"})
    second = make_zip({"app.py": f"def handler(e, c):\n    return '{uuid.uuid4()}'\n"})
    create_function(a, "collected", first, Publish=True)  # version 1 keeps the first zip
    b.update_function_code(FunctionName="collected", ZipFile=second)
    b.get_waiter("function_updated_v2").wait(FunctionName="collected", WaiterConfig={"Delay": 0.1})
    digests = {hashlib.sha256(z).hexdigest() for z in (first, second)}
    assert digests <= _bucket_names(cluster)
    b.delete_function(FunctionName="collected", Qualifier="1")
    assert digests - _bucket_names(cluster) == {hashlib.sha256(first).hexdigest()}
    a.delete_function(FunctionName="collected")  # on the other node
    assert not digests & _bucket_names(cluster)


def test_a_nats_restart_loses_nothing_acknowledged_and_writes_fail_clearly_meanwhile(
    cluster: FaultyCluster, reports: Reports
) -> None:
    a, b = cluster.nodes[0].client(), cluster.far.client()
    create_function(a, "steady", make_zip({"app.py": REPORTING}), Timeout=30)
    create_function(a, "warm", make_zip({"app.py": "def handler(e, c):\n    return 7\n"}))
    assert b.invoke(FunctionName="warm")["Payload"].read() == b"7"  # warm on both nodes
    assert a.invoke(FunctionName="warm")["Payload"].read() == b"7"
    # Events accepted (202) just before NATS goes down, some still queued or running then.
    accepted = _send_events(a, "steady", reports, 6, sleep=0.3)
    accepted |= _send_events(b, "steady", reports, 6, sleep=0.3)

    cluster.stop_nats()
    for client in (a, b):
        # A control-plane write and an Event invoke answer 503 at once, instead of hanging.
        _, took = _unavailable(
            client.update_function_configuration, FunctionName="warm", Description="during"
        )
        assert took < 5
        _, took = _unavailable(
            client.invoke, FunctionName="steady", InvocationType="Event", Payload=b"{}"
        )
        assert took < 5
        # Warm functions keep answering from the node's replica.
        assert client.invoke(FunctionName="warm")["Payload"].read() == b"7"
    assert _status(cluster.nodes[0])["connected"] is False

    cluster.start_nats()  # the same port, the same store dir

    def writes_again(client: Any, description: str) -> None:
        try:
            client.update_function_configuration(FunctionName="warm", Description=description)
        except client.exceptions.ServiceException as exc:
            raise AssertionError(str(exc)) from exc

    _eventually(lambda: writes_again(a, "after, from a"), timeout=20)
    _eventually(lambda: writes_again(b, "after, from b"), timeout=20)
    # Each node follows the other's commits again (its replica's watch came back).
    _eventually(
        lambda: _check_equal(a.get_function(FunctionName="warm"), "after, from b"), timeout=10
    )
    # Every event acknowledged before the restart ran to its end; new ones run too.
    accepted |= _send_events(b, "steady", reports, 2)
    _eventually(lambda: _check_subset(accepted, _done(reports)), timeout=30)
    assert all(_status(node)["connected"] for node in [*cluster.nodes, cluster.far])


def _check_equal(answer: dict[str, Any], description: str) -> None:
    assert answer["Configuration"]["Description"] == description


def _check_subset(wanted: set[str], have: set[str]) -> None:
    assert not wanted - have, f"{len(wanted - have)} of {len(wanted)} events never finished"


def test_a_partitioned_node_is_declared_gone_its_events_run_elsewhere_and_it_rejoins(
    cluster: FaultyCluster, reports: Reports
) -> None:
    near, far = cluster.nodes[0], cluster.far  # `far` reaches NATS through the partition
    partition = cluster.partition
    assert partition is not None
    everyone = ["node-0", "node-1", "node-2", "node-far"]
    a, b = near.client(), far.client()
    create_function(a, "held", make_zip({"app.py": REPORTING}), Timeout=30)
    _eventually(lambda: _check_members(near, everyone))

    # Events, eight at a time, until some start on the far node, cut off while it runs them.
    held: list[str] = []
    for _ in range(10):
        sent = sorted(_send_events(b, "held", reports, 8, sleep=2))
        starts = _eventually(lambda s=sent: [_started(reports, e) for e in s], timeout=10)
        held = [e for e, node in zip(sent, starts, strict=True) if node == far.endpoint]
        if held:
            break
    assert held, "no event ran on the far node"
    partition.cut()

    # The others declare it gone within seconds, and run its events (acknowledged by no one).
    _eventually(lambda: _check_members(near, everyone[:3]), timeout=8)
    for event_id in held:
        _eventually(lambda e=event_id: _check_ran_elsewhere(reports, e, far.endpoint), timeout=15)
    # It notices (missed pings) and its writes fail clearly, not after a hang.
    _eventually(lambda: _check_disconnected(far), timeout=12)
    _, took = _unavailable(b.update_function_configuration, FunctionName="held", Description="x")
    assert took < 5
    # A change made on the near side meanwhile.
    a.update_function_configuration(FunctionName="held", Description="while cut")

    partition.heal()
    _eventually(lambda: _check_members(near, everyone), timeout=20)
    # It catches up with what it missed, and writes again.
    _eventually(lambda: _check_equal(b.get_function(FunctionName="held"), "while cut"), timeout=20)
    b.update_function_configuration(FunctionName="held", Description="back")
    _eventually(lambda: _check_equal(a.get_function(FunctionName="held"), "back"))


def _started(reports: Reports, event_id: str) -> str:
    for report in reports.snapshot():
        if report["id"] == event_id and report["step"] == "start":
            return str(report["node"])
    raise AssertionError(f"event {event_id} has not started")


def _check_members(node: Server, names: list[str]) -> None:
    assert _members(node) == names


def _check_ran_elsewhere(reports: Reports, event_id: str, endpoint: str) -> None:
    assert any(
        r["id"] == event_id and r["step"] == "done" and r["node"] != endpoint
        for r in reports.snapshot()
    )


def _check_disconnected(node: Server) -> None:
    assert _status(node)["connected"] is False


# Last: it stops the cluster.


def test_ctrl_c_stops_everything_cluster_up_started_and_exits_0(cluster: FaultyCluster) -> None:
    started = descendants(cluster.up.pid)
    assert len(started) >= 3  # three nodes (and what they run; its nats-server was restarted)
    assert cluster.far.process is not None
    cluster.far.process.send_signal(signal.SIGTERM)  # not `cluster up`'s: stopped alongside
    cluster.up.send_signal(signal.SIGINT)  # Ctrl-C
    code = cluster.up.wait(60)
    assert code == 0, "".join(cluster.lines)
    cluster._reader.join(5)
    assert "Cluster stopped." in "".join(cluster.lines)
    left = [pid for pid in started if alive(pid)]
    assert not left, f"still running after Ctrl-C: {left}"
