"""Cluster mode: one nats-server with JetStream and `hearth serve --cluster` nodes on it,
driven by boto3 and the aws CLI as one Hearth."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hearth.cluster.local import LocalNats
from tests.integration.conftest import Server, create_function, make_zip

pytestmark = pytest.mark.integration


class Cluster:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.nats = LocalNats(root / "nats").start()
        self.nodes: list[Server] = []

    def add_nodes(self, count: int) -> list[Server]:
        """Start `count` more nodes at once (the first to reach NATS makes the buckets)."""
        new = [
            Server(
                self.root / f"node-{index}",
                extra_args=[
                    "--cluster",
                    self.nats.url,
                    "--node-name",
                    f"node-{index}",
                    # A node killed mid-event has its events run elsewhere this soon.
                    "--cluster-ack-wait",
                    "2",
                ],
            )
            for index in range(len(self.nodes), len(self.nodes) + count)
        ]
        self.nodes.extend(new)
        threads = [threading.Thread(target=node.start) for node in new]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(node.endpoint for node in new)
        return new

    def stop(self) -> None:
        running = [node for node in self.nodes if node.process is not None]
        for node in running:  # all at once: each takes a few seconds to shut down cleanly
            assert node.process is not None
            node.process.send_signal(signal.SIGTERM)
        for node in running:
            node.stop()
        self.nats.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        running.add_nodes(2)
        yield running
    finally:
        running.stop()


def _eventually(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_a_function_made_on_one_node_runs_on_another(cluster: Cluster) -> None:
    a, b = (node.client() for node in cluster.nodes[:2])
    create_function(a, "everywhere", make_zip({"app.py": "def handler(e, c):\n    return 1\n"}))
    assert b.get_function(FunctionName="everywhere")["Configuration"]["State"] == "Active"
    assert b.invoke(FunctionName="everywhere")["Payload"].read() == b"1"
    # A change made on B reaches A's caches (its resolved version, its warm environments).
    b.update_function_code(
        FunctionName="everywhere",
        ZipFile=make_zip({"app.py": "def handler(e, c):\n    return 2\n"}),
    )
    b.get_waiter("function_updated_v2").wait(FunctionName="everywhere", WaiterConfig={"Delay": 0.1})

    def a_runs_the_new_code() -> None:
        assert a.invoke(FunctionName="everywhere")["Payload"].read() == b"2"

    _eventually(a_runs_the_new_code)
    # Listing on the other node shows it too (the aws CLI's list-functions is this call).
    listed = b.list_functions()["Functions"]
    assert "everywhere" in [f["FunctionName"] for f in listed]
    b.delete_function(FunctionName="everywhere")
    _eventually(lambda: _gone(a, "everywhere"))


def _members(node: Server) -> list[str]:
    with urllib.request.urlopen(f"{node.endpoint}/_hearth/cluster", timeout=5) as answer:
        return [m["endpoint"] for m in json.load(answer)["members"]]


def test_every_node_lists_every_node(cluster: Cluster) -> None:
    everyone = sorted(node.endpoint for node in cluster.nodes)
    for node in cluster.nodes:
        assert sorted(_members(node)) == everyone


def _gone(client: Any, name: str) -> None:
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function(FunctionName=name)


def test_publish_version_on_two_nodes_at_once_never_reuses_a_number(cluster: Cluster) -> None:
    clients = [node.client() for node in cluster.nodes[:2]]
    create_function(clients[0], "versions")
    published: list[tuple[str, str]] = []
    errors: list[Exception] = []

    def retried(call: Any, **params: Any) -> Any:
        # While another update is in progress AWS answers ResourceConflictException too, and
        # clients retry; what must never happen is a number given out twice.
        for _ in range(100):
            try:
                return call(**params)
            except clients[0].exceptions.ResourceConflictException:
                time.sleep(0.02)
        raise AssertionError("still in conflict after 100 tries")

    def publish(client: Any, worker: int) -> None:
        for round_ in range(3):
            try:
                retried(
                    client.update_function_configuration,
                    FunctionName="versions",
                    Description=f"worker {worker} round {round_}",
                )
                result = retried(client.publish_version, FunctionName="versions")
                published.append((result["Version"], result["Description"]))
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=publish, args=(clients[i % 2], i)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    versions = clients[1].list_versions_by_function(FunctionName="versions")["Versions"]
    numbers = [int(v["Version"]) for v in versions if v["Version"] != "$LATEST"]
    assert numbers == list(range(1, len(numbers) + 1))  # contiguous: none skipped or doubled
    stored = {v["Version"]: v["Description"] for v in versions}
    # What each PublishVersion answered is what the registry holds under that number: a
    # number given out twice would hold only one of the two.
    for number, description in published:
        assert stored[number] == description


def test_a_revision_id_taken_on_one_node_is_checked_on_another(cluster: Cluster) -> None:
    a, b = (node.client() for node in cluster.nodes[:2])
    create_function(a, "revisions")
    revision = a.get_function(FunctionName="revisions")["Configuration"]["RevisionId"]
    b.update_function_configuration(FunctionName="revisions", Description="moved on")
    b.get_waiter("function_updated_v2").wait(FunctionName="revisions", WaiterConfig={"Delay": 0.1})
    with pytest.raises(a.exceptions.PreconditionFailedException) as raised:
        a.update_function_configuration(
            FunctionName="revisions", Description="stale", RevisionId=revision
        )
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert a.get_function(FunctionName="revisions")["Configuration"]["Description"] == "moved on"


def test_a_bad_cluster_url_is_refused(tmp_path: Path) -> None:
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "hearth",
            "serve",
            "--data-dir",
            str(tmp_path),
            "--cluster",
            "http://127.0.0.1:4222",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert bad.returncode == 2
    assert "--cluster takes nats://HOST:PORT URLs" in bad.stderr


# Last: it kills a node.


class _Reports:
    """An HTTP endpoint functions post what they were given to (which node ran which step,
    which records arrived)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        reports = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                reports.seen.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


REPORTING = """
import json, os, time, urllib.request

def report(url, step):
    body = json.dumps({"step": step, "node": os.environ["AWS_ENDPOINT_URL"]}).encode()
    urllib.request.urlopen(urllib.request.Request(url, body, method="POST"), timeout=5)

def handler(event, context):
    report(event["url"], "start")
    time.sleep(1.5)
    report(event["url"], "done")
    return "ok"
"""


def test_an_async_event_of_a_node_killed_mid_event_runs_on_another(cluster: Cluster) -> None:
    reports = _Reports()
    try:
        client = cluster.nodes[1].client()
        create_function(client, "survivor", make_zip({"app.py": REPORTING}), Timeout=30)
        accepted = client.invoke(
            FunctionName="survivor",
            InvocationType="Event",
            Payload=json.dumps({"url": reports.url}).encode(),
        )
        assert accepted["StatusCode"] == 202

        def started() -> str:
            assert reports.seen, "no node has started the event"
            return str(reports.seen[0]["node"])

        runner = _eventually(started, timeout=20)
        victim = next(n for n in cluster.nodes if n.endpoint == runner)
        victim.stop(signal.SIGKILL)  # mid-event: started, not done, not acknowledged

        def done_elsewhere() -> None:
            assert any(r["step"] == "done" and r["node"] != runner for r in reports.seen)

        _eventually(done_elsewhere, timeout=30)

        # The killed node drops out of every other node's member list within seconds.
        survivor = next(n for n in cluster.nodes if n.process is not None)

        def victim_gone() -> None:
            members = _members(survivor)
            assert victim.endpoint not in members and len(members) == len(cluster.nodes) - 1

        _eventually(victim_gone, timeout=10)
    finally:
        reports.server.shutdown()
        reports.server.server_close()
