"""Cluster mode: the embedded services shared by every node, and event source mappings
polled by one node each, taken over from their committed position when that node dies.

One nats-server and two `hearth serve --cluster` nodes for the module, driven by boto3."""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from hearth.cluster.local import LocalNats
from tests.integration.conftest import REGION, Server, create_function, make_zip
from tests.integration.test_cluster import _Reports

pytestmark = pytest.mark.integration

NODES = 2


class _Cluster:
    def __init__(self, root: Path) -> None:
        self.nats = LocalNats(root / "nats").start()
        self.nodes = [
            Server(
                root / f"node-{index}",
                extra_args=["--cluster", self.nats.url, "--node-name", f"node-{index}"],
            )
            for index in range(NODES)
        ]
        threads = [threading.Thread(target=node.start) for node in self.nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(node.endpoint for node in self.nodes)

    def alive(self) -> list[Server]:
        return [node for node in self.nodes if node.process is not None]

    def stop(self) -> None:
        for node in self.alive():  # all at once: each takes a moment to shut down cleanly
            assert node.process is not None
            node.process.send_signal(signal.SIGTERM)
        for node in self.alive():
            node.stop()
        self.nats.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Cluster]:
    running = _Cluster(tmp_path_factory.mktemp("cluster-mappings"))
    try:
        yield running
    finally:
        running.stop()


def _service(node: Server, name: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        name,
        endpoint_url=node.endpoint,
        region_name=REGION,
        aws_access_key_id="hearth-test",
        aws_secret_access_key="hearth-test",
        config=Config(retries={"max_attempts": 2}),
    )


def _eventually(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture
def reports() -> Iterator[_Reports]:
    running = _Reports()
    try:
        yield running
    finally:
        running.close()


REPORTER = """
import base64, json, os, time, urllib.request

URL = {url!r}

def handler(event, context):
    records = event.get("Records", [])
    body = {{
        "node": os.environ["AWS_ENDPOINT_URL"],
        "s3": [r["s3"]["object"]["key"] for r in records if "s3" in r],
        "kinesis": [base64.b64decode(r["kinesis"]["data"]).decode() for r in records if "kinesis" in r],
        "sqs": [r["body"] for r in records if r.get("eventSource") == "aws:sqs"],
        "sns": [r["Sns"]["Message"] for r in records if r.get("EventSource") == "aws:sns"],
        "dynamodb": [
            r["dynamodb"]["Keys"]["id"]["S"] for r in records if r.get("eventSource") == "aws:dynamodb"
        ],
    }}
    urllib.request.urlopen(urllib.request.Request(URL, json.dumps(body).encode(), method="POST"), timeout=5)
    time.sleep({pause})
    return "ok"
"""


def test_what_one_node_puts_in_the_embedded_services_every_node_sees(cluster: _Cluster) -> None:
    a, b = cluster.nodes
    _service(a, "s3").create_bucket(Bucket="shared")
    _service(b, "s3").put_object(Bucket="shared", Key="k", Body=b"from b")
    assert _service(a, "s3").get_object(Bucket="shared", Key="k")["Body"].read() == b"from b"
    # Larger than NATS's 1 MB max_payload both ways: it goes through the transfer bucket.
    big = bytes(range(256)) * 8192  # 2 MiB
    _service(b, "s3").put_object(Bucket="shared", Key="big", Body=big)
    assert _service(a, "s3").get_object(Bucket="shared", Key="big")["Body"].read() == big

    queue = _service(a, "sqs").create_queue(QueueName="shared-queue")["QueueUrl"]
    _service(b, "sqs").send_message(QueueUrl=queue, MessageBody="hello")
    got = _service(a, "sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=5)
    assert [m["Body"] for m in got["Messages"]] == ["hello"]

    table = {"TableName": "shared-table", "BillingMode": "PAY_PER_REQUEST"}
    _service(b, "dynamodb").create_table(
        **table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    _service(a, "dynamodb").put_item(TableName="shared-table", Item={"id": {"S": "1"}})
    item = _service(b, "dynamodb").get_item(TableName="shared-table", Key={"id": {"S": "1"}})
    assert item["Item"] == {"id": {"S": "1"}}

    # An error of the services comes back as the service's own, whichever node is asked.
    s3 = _service(b, "s3")
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="shared", Key="missing")


def test_triggers_fire_whichever_node_the_client_talks_to(
    cluster: _Cluster, reports: _Reports
) -> None:
    a, b = cluster.nodes
    fn = create_function(
        a.client(), "on-upload", make_zip({"app.py": REPORTER.format(url=reports.url, pause=0)})
    )
    a.client().add_permission(
        FunctionName="on-upload",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
    )
    _service(b, "s3").create_bucket(Bucket="uploads")
    _service(b, "s3").put_bucket_notification_configuration(
        Bucket="uploads",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": fn["FunctionArn"], "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    for index, node in enumerate((a, b, a)):
        _service(node, "s3").put_object(Bucket="uploads", Key=f"via-{index}", Body=b"x")

    # An SQS mapping made through one node, polled by whichever node holds its lease,
    # through its own port, of a queue sent to through the other.
    queue = _service(b, "sqs").create_queue(QueueName="jobs")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{REGION}:123456789012:jobs"
    a.client().create_event_source_mapping(
        FunctionName="on-upload", EventSourceArn=queue_arn, BatchSize=1
    )
    for node in (a, b):
        _service(node, "sqs").send_message(QueueUrl=queue, MessageBody=f"via {node.endpoint}")
    # An SNS subscription made through one node, published to through both.
    a.client().add_permission(
        FunctionName="on-upload",
        StatementId="sns",
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
    )
    topic = _service(a, "sns").create_topic(Name="news")["TopicArn"]
    _service(b, "sns").subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn["FunctionArn"])
    for index, node in enumerate((a, b)):
        _service(node, "sns").publish(TopicArn=topic, Message=f"news-{index}")
    # And a DynamoDB stream's: the table made through one node, written through both.
    stream_arn = _service(a, "dynamodb").create_table(
        TableName="orders-table",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    b.client().create_event_source_mapping(
        FunctionName="on-upload", EventSourceArn=stream_arn, StartingPosition="TRIM_HORIZON"
    )
    for index, node in enumerate((a, b)):
        _service(node, "dynamodb").put_item(
            TableName="orders-table", Item={"id": {"S": f"item-{index}"}}
        )

    def all_of_them() -> None:
        keys = sorted(k for r in reports.seen for k in r["s3"])
        assert keys == ["via-0", "via-1", "via-2"]
        bodies = sorted(k for r in reports.seen for k in r["sqs"])
        assert bodies == sorted(f"via {node.endpoint}" for node in (a, b))
        items = sorted(k for r in reports.seen for k in r["dynamodb"])
        assert items == ["item-0", "item-1"]
        assert sorted(k for r in reports.seen for k in r["sns"]) == ["news-0", "news-1"]

    _eventually(all_of_them, timeout=20)


def _mapping_runner(nodes: list[Server], uuid: str) -> list[Server]:
    running = []
    for node in nodes:
        with urllib.request.urlopen(f"{node.endpoint}/_hearth/event-source-mappings") as answer:
            shown = json.load(answer)["EventSourceMappings"]
        if any(m["UUID"] == uuid and m["Running"] for m in shown):
            running.append(node)
    return running


# Last: it kills a node.


def test_a_stream_mapping_whose_node_is_killed_resumes_elsewhere_from_its_position(
    cluster: _Cluster, reports: _Reports
) -> None:
    nodes = cluster.alive()
    kinesis = _service(nodes[0], "kinesis")
    kinesis.create_stream(StreamName="orders", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="orders")["StreamDescription"]["StreamARN"]
    count, batch = 60, 10
    for start in range(0, count, 20):
        kinesis.put_records(
            StreamName="orders",
            Records=[
                {"Data": str(i).encode(), "PartitionKey": "p"} for i in range(start, start + 20)
            ],
        )
    lam = nodes[1].client()
    create_function(
        lam, "orders", make_zip({"app.py": REPORTER.format(url=reports.url, pause=0.4)}), Timeout=30
    )
    uuid = lam.create_event_source_mapping(
        FunctionName="orders", EventSourceArn=arn, StartingPosition="TRIM_HORIZON", BatchSize=batch
    )["UUID"]

    def polled_by_one() -> Server:
        running = _mapping_runner(nodes, uuid)
        assert len(running) == 1 and len(reports.seen) >= 2, (running, len(reports.seen))
        return running[0]

    owner = _eventually(polled_by_one, timeout=30)
    owner.stop(signal.SIGKILL)  # mid-stream: some batches committed, one in flight
    survivors = cluster.alive()

    def all_read() -> None:
        seen = [int(k) for r in reports.seen for k in r["kinesis"]]
        assert set(seen) == set(range(count)), sorted(set(range(count)) - set(seen))

    _eventually(all_read, timeout=30)
    seen = [int(k) for r in reports.seen for k in r["kinesis"]]
    # Every record in order, each once but for the batch in flight when the owner died,
    # read again from the committed position: 0..k-1, then j..count-1 with k - j <= batch.
    back = next((i for i in range(1, len(seen)) if seen[i] <= seen[i - 1]), len(seen))
    assert seen[:back] == list(range(back))
    assert seen[back:] == list(range(seen[back], count)) if back < len(seen) else True
    assert len(seen) - count <= batch
    resumed = {r["node"] for r in reports.seen} - {owner.endpoint}
    assert resumed and resumed <= {n.endpoint for n in survivors}
    assert len(_mapping_runner(survivors, uuid)) == 1


def _services(node: Server) -> dict[str, Any]:
    with urllib.request.urlopen(f"{node.endpoint}/_hearth/cluster", timeout=5) as answer:
        services: dict[str, Any] = json.load(answer)["services"]
    return services


def _services_holder(node: Server) -> str | None:
    holder: str | None = _services(node)["holder"]
    return holder


def test_the_services_survive_their_holder_killed_from_the_last_snapshot(
    cluster: _Cluster,
) -> None:
    # After the test above one node is left, holding the services; the killed one comes back.
    dead = next(node for node in cluster.nodes if node.process is None)
    dead.start()
    holder_name = _services_holder(dead)
    holder = next(n for n in cluster.nodes if n.process is not None and n is not dead)
    assert holder_name == holder.data_dir.name  # node-N, as named at start
    _service(dead, "s3").put_object(Bucket="shared", Key="late", Body=b"snapshotted")
    written = time.time()  # (a snapshot begun after this holds the object)

    def snapshotted() -> None:  # what a kill -9 may lose is what came after the snapshot
        assert (_services(holder)["snapshot_at"] or 0) > written

    _eventually(snapshotted, timeout=5)
    holder.stop(signal.SIGKILL)
    # The other node takes the lease once it expired, restores the snapshot, then answers;
    # a request made meanwhile waits for it instead of failing.
    got = _service(dead, "s3").get_object(Bucket="shared", Key="late")["Body"].read()
    assert got == b"snapshotted"
    assert _service(dead, "s3").get_object(Bucket="shared", Key="k")["Body"].read() == b"from b"
    assert _services_holder(dead) == dead.data_dir.name
