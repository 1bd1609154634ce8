"""Cluster mode under faults, on this machine: a real nats-server restarted with its store while
two nodes serve, and one node partitioned away from NATS (a proxy that stops carrying bytes)
and back."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
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

from hearth.cluster.local import LocalNats
from tests.integration.cluster_faults_helpers import REPORTING, Partition, Reports
from tests.integration.conftest import Server, create_function, make_zip

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# An event held by a node that stopped answering runs elsewhere this soon.
ACK_WAIT = "2"


class FaultyCluster:
    """A nats-server and two nodes: node-0 straight to NATS, node-1 through a Partition."""

    def __init__(self, root: Path) -> None:
        self.nats = LocalNats(root / "nats").start()
        self.partition = Partition(self.nats.host, self.nats.port)
        self.nodes = [
            Server(root / f"node-{index}", extra_args=self._args(index, url))
            for index, url in enumerate((self.nats.url, self.partition.url))
        ]
        threads = [threading.Thread(target=node.start) for node in self.nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(node.endpoint for node in self.nodes)

    @staticmethod
    def _args(index: int, url: str) -> list[str]:
        return ["--cluster", url, "--node-name", f"node-{index}", "--cluster-ack-wait", ACK_WAIT]

    def stop(self) -> None:
        running = [node for node in self.nodes if node.process is not None]
        for node in running:
            assert node.process is not None
            node.process.send_signal(signal.SIGTERM)
        for node in running:
            node.stop()
        self.partition.close()
        self.nats.stop()


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


def _bucket_names(cluster: FaultyCluster) -> set[str]:
    """The objects the cluster's code bucket holds, asked of NATS directly."""

    async def names() -> set[str]:
        nc = await nats.connect(cluster.nats.url)
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
    a, b = (node.client() for node in cluster.nodes)
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
    a, b = (node.client() for node in cluster.nodes)
    create_function(a, "steady", make_zip({"app.py": REPORTING}), Timeout=30)
    create_function(a, "warm", make_zip({"app.py": "def handler(e, c):\n    return 7\n"}))
    assert b.invoke(FunctionName="warm")["Payload"].read() == b"7"  # warm on both nodes
    assert a.invoke(FunctionName="warm")["Payload"].read() == b"7"
    # Events accepted (202) just before NATS goes down, some still queued or running then.
    accepted = _send_events(a, "steady", reports, 6, sleep=0.3)
    accepted |= _send_events(b, "steady", reports, 6, sleep=0.3)

    cluster.nats.stop()
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

    cluster.nats.start()  # the same port, the same store dir

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
    assert all(_status(node)["connected"] for node in cluster.nodes)


def _check_equal(answer: dict[str, Any], description: str) -> None:
    assert answer["Configuration"]["Description"] == description


def _check_subset(wanted: set[str], have: set[str]) -> None:
    assert not wanted - have, f"{len(wanted - have)} of {len(wanted)} events never finished"


def test_a_partitioned_node_is_declared_gone_its_events_run_elsewhere_and_it_rejoins(
    cluster: FaultyCluster, reports: Reports
) -> None:
    near, far = cluster.nodes  # `far` reaches NATS through the partition
    a, b = near.client(), far.client()
    create_function(a, "held", make_zip({"app.py": REPORTING}), Timeout=30)
    _eventually(lambda: _check_members(near, ["node-0", "node-1"]))

    # Events until one starts on the far node, which is cut off while it runs it.
    held = None
    for _ in range(20):
        (event_id,) = _send_events(b, "held", reports, 1, sleep=2)
        started = _eventually(lambda e=event_id: _started(reports, e), timeout=10)
        if started == far.endpoint:
            held = event_id
            break
    assert held is not None, "no event ran on the far node"
    cluster.partition.cut()

    # The others declare it gone within seconds, and run its event (acknowledged by no one).
    _eventually(lambda: _check_members(near, ["node-0"]), timeout=8)
    _eventually(lambda: _check_ran_on(reports, held, near.endpoint), timeout=15)
    # It notices (missed pings) and its writes fail clearly, not after a hang.
    _eventually(lambda: _check_disconnected(far), timeout=12)
    _, took = _unavailable(b.update_function_configuration, FunctionName="held", Description="x")
    assert took < 5
    # A change made on the near side meanwhile.
    a.update_function_configuration(FunctionName="held", Description="while cut")

    cluster.partition.heal()
    _eventually(lambda: _check_members(near, ["node-0", "node-1"]), timeout=20)
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


def _check_ran_on(reports: Reports, event_id: str, endpoint: str) -> None:
    assert any(
        r["id"] == event_id and r["step"] == "done" and r["node"] == endpoint
        for r in reports.snapshot()
    )


def _check_disconnected(node: Server) -> None:
    assert _status(node)["connected"] is False
