"""Cluster mode: synchronous invokes a node has no room for run on another node, and a node
killed under a load of them fails only the calls it was running.

Three `hearth serve --cluster` nodes on one nats-server (its default max_payload, 1 MB). A
reservation of 2 is split 1 / 1 / 0 between node-0, node-1 and node-2 (the remainder goes to
the first by name), so every call node-2 receives for such a function is forwarded."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import create_function, logs_client, make_zip
from tests.integration.test_cluster import Cluster, _Reports

pytestmark = pytest.mark.integration

SIX_MB = 6 * 1024 * 1024

HANDLER = """
import json, os, time, urllib.request

def handler(event, context):
    node = os.environ["AWS_ENDPOINT_URL"]
    print("ran on", node)
    kind = event.get("kind")
    if kind == "fail":
        raise ValueError("boom")
    if kind == "big":
        return "x" * event["size"]
    if "url" in event:
        body = json.dumps({"node": node}).encode()
        urllib.request.urlopen(urllib.request.Request(event["url"], body), timeout=5)
    time.sleep(event.get("slow", 0) if node == event.get("slow_on") else event.get("sleep", 0))
    custom = context.client_context.custom if context.client_context else None
    return {"node": node, "size": len(event.get("pad", "")), "custom": custom}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = Cluster(tmp_path_factory.mktemp("cluster-invoke"))
    try:
        running.add_nodes(3)
        everyone = sorted(node.endpoint for node in running.nodes)
        for node in running.nodes:  # the shares are right once every node sees every node
            _eventually(lambda node=node: _assert_members(node.endpoint, everyone))
        create_function(
            running.nodes[0].client(), "overflow", make_zip({"app.py": HANDLER}), Timeout=10
        )
        reserve(running, "overflow", 2)
        yield running
    finally:
        running.stop()


def reserve(cluster: Cluster, name: str, count: int) -> None:
    """Set a reservation on node-0 and wait until every node holds it."""
    cluster.nodes[0].client().put_function_concurrency(
        FunctionName=name, ReservedConcurrentExecutions=count
    )
    for client in [node.client() for node in cluster.nodes]:

        def seen(client: Any = client) -> None:
            held = client.get_function_concurrency(FunctionName=name)
            assert held.get("ReservedConcurrentExecutions") == count

        _eventually(seen)


def _assert_members(endpoint: str, everyone: list[str]) -> None:
    with urllib.request.urlopen(f"{endpoint}/_hearth/cluster", timeout=5) as answer:
        members = sorted(m.get("endpoint", "") for m in json.load(answer)["members"])
    assert members == everyone


def _eventually(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _invoke(client: Any, **params: Any) -> dict[str, Any]:
    """An invoke's answer with its payload read and the headers that differ per call gone."""
    answer = client.invoke(FunctionName="overflow", **params)
    headers = dict(answer["ResponseMetadata"]["HTTPHeaders"])
    for varying in ("x-amzn-requestid", "date", "x-amz-log-result"):
        headers.pop(varying, None)
    return {
        "status": answer["StatusCode"],
        "error": answer.get("FunctionError"),
        "version": answer["ExecutedVersion"],
        # An error's payload names its request id, which differs per call.
        "payload": re.sub(rb'"requestId": "[^"]+"', b"", answer["Payload"].read()),
        "log": base64.b64decode(answer.get("LogResult", "")).decode(),
        "headers": headers,
    }


def _answer(client: Any, payload: bytes) -> dict[str, Any]:
    """`_invoke`'s answer, or the error's code, message and HTTP status."""
    try:
        return _invoke(client, Payload=payload)
    except ClientError as error:
        return {
            "code": error.response["Error"]["Code"],
            "message": error.response["Error"]["Message"],
            "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
        }


def test_a_node_without_room_hands_the_call_to_one_with_room(cluster: Cluster) -> None:
    receiving = cluster.nodes[2]
    context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    answer = _invoke(
        receiving.client(),
        Payload=json.dumps({"pad": "p"}).encode(),
        LogType="Tail",
        ClientContext=context,
    )
    ran_on = json.loads(answer["payload"])
    assert ran_on["node"] in (cluster.nodes[0].endpoint, cluster.nodes[1].endpoint)
    assert ran_on["custom"] == {"k": "v"}  # the client context made the trip
    assert answer["status"] == 200 and answer["version"] == "$LATEST"
    # The log tail is the running node's, as a local invoke's would be.
    assert "START RequestId" in answer["log"] and f"ran on {ran_on['node']}" in answer["log"]
    assert "REPORT RequestId" in answer["log"]


def test_a_function_url_call_is_forwarded_too(cluster: Cluster) -> None:
    client = cluster.nodes[0].client()
    url = client.create_function_url_config(FunctionName="overflow", AuthType="NONE")
    client.add_permission(
        FunctionName="overflow",
        StatementId="public-url",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    url_id = url["FunctionUrl"].split("//")[1].split(".")[0]

    def through_node_2() -> str:  # once node-2's caches have the URL and its permission
        try:
            with urllib.request.urlopen(
                f"{cluster.nodes[2].endpoint}/lambda-url/{url_id}/", timeout=30
            ) as answer:
                assert answer.status == 200
                return str(json.loads(answer.read())["node"])
        except urllib.error.HTTPError as error:
            raise AssertionError(error.code) from error

    ran_on = _eventually(through_node_2, timeout=5)
    assert ran_on in (cluster.nodes[0].endpoint, cluster.nodes[1].endpoint)


@pytest.mark.parametrize(
    "event",
    [
        {"kind": "fail"},  # FunctionError: Unhandled, the error's JSON
        {"kind": "big", "size": SIX_MB},  # the largest response AWS passes (6 MiB + quotes)
        {"kind": "big", "size": SIX_MB + 200},  # over it: AWS's error for a too large reply
        {"pad": "q" * (SIX_MB - 100)},  # a request just under 6 MB
    ],
    ids=["function-error", "six-mb-reply", "too-large-reply", "six-mb-request"],
)
def test_a_forwarded_call_answers_what_a_local_one_does(
    cluster: Cluster, event: dict[str, Any]
) -> None:
    payload = json.dumps(event).encode()
    local = _answer(cluster.nodes[0].client(), payload)
    forwarded = _answer(cluster.nodes[2].client(), payload)
    if event.get("pad"):
        assert json.loads(forwarded["payload"])["size"] == len(event["pad"])
        assert json.loads(forwarded["payload"])["node"] != cluster.nodes[2].endpoint
        local["payload"] = forwarded["payload"] = b""  # they name the node that ran them
    assert forwarded == local


def test_a_throttle_comes_only_once_every_node_is_full(cluster: Cluster) -> None:
    """Two slow calls received by node-2 (whose share is 0) run on node-0 and node-1; a third
    finds the whole cluster's reservation in use and gets AWS's 429."""
    client = cluster.nodes[2].client()
    results: list[dict[str, Any]] = []
    reports = _Reports()

    def slow() -> None:
        event = {"url": reports.url, "sleep": 1.5}
        results.append(_invoke(client, Payload=json.dumps(event).encode()))

    threads = [threading.Thread(target=slow) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()

        def both_running() -> None:
            assert len(reports.seen) == 2

        _eventually(both_running)
        with pytest.raises(ClientError) as raised:
            _invoke(client, Payload=b"{}")
        for thread in threads:
            thread.join()
    finally:
        reports.server.shutdown()
        reports.server.server_close()
    throttled: Any = raised.value.response
    assert throttled["Error"]["Code"] == "TooManyRequestsException"
    assert throttled["Error"]["Message"] == "Rate Exceeded."
    assert throttled["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert throttled["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    nodes = {json.loads(result["payload"])["node"] for result in results}
    assert nodes == {cluster.nodes[0].endpoint, cluster.nodes[1].endpoint}


def test_a_streamed_invoke_runs_on_the_node_that_received_it(cluster: Cluster) -> None:
    """InvokeWithResponseStream is not forwarded: node-2 has no share of the reservation."""
    with pytest.raises(ClientError) as raised:
        cluster.nodes[2].client().invoke_with_response_stream(FunctionName="overflow")
    assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
    stream = cluster.nodes[0].client().invoke_with_response_stream(FunctionName="overflow")
    body = b"".join(
        part["PayloadChunk"]["Payload"] for part in stream["EventStream"] if "PayloadChunk" in part
    )
    assert json.loads(body)["node"] == cluster.nodes[0].endpoint


def test_logs_and_metrics_from_any_node_are_the_whole_clusters(cluster: Cluster) -> None:
    """node-2 ran none of these calls (it forwarded them); asked, it answers every node's
    log lines and figures, through the Logs API, `hearth logs` and CloudWatch."""
    a, c = cluster.nodes[0], cluster.nodes[2]
    create_function(a.client(), "observed", make_zip({"app.py": HANDLER}))
    reserve(cluster, "observed", 2)
    ran = [json.loads(a.client().invoke(FunctionName="observed")["Payload"].read())["node"]]

    def forwarded() -> None:
        answer = c.client().invoke(FunctionName="observed", Payload=b'{"sleep": 0.6}')
        ran.append(json.loads(answer["Payload"].read())["node"])

    # Two at a time through node-2: node-0 (warm, so asked first) takes one, node-1 the other.
    pair = [threading.Thread(target=forwarded) for _ in range(2)]
    for thread in pair:
        thread.start()
    for thread in pair:
        thread.join()
    assert len(ran) == 3 and set(ran) == {a.endpoint, cluster.nodes[1].endpoint}
    logs = logs_client(c.endpoint)
    group = "/aws/lambda/observed"

    def every_line() -> list[dict[str, Any]]:
        # Three events a page, so pages cross from one node's events to another's.
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, filterPattern='"ran on"', PaginationConfig={"PageSize": 3}
        )
        events = [event for page in pages for event in page["events"]]
        assert sorted(e["message"].split()[-1] for e in events) == sorted(ran)
        return events

    events = _eventually(every_line)
    assert len({e["eventId"] for e in events}) == len(events)  # each once
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    by_stream = {e["logStreamName"] for e in events}
    assert by_stream <= {s["logStreamName"] for s in streams} and len(by_stream) >= 2
    for name in by_stream:  # each stream, kept by the node that ran it, read from node-2
        got = logs.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True)
        assert any(e["message"].startswith("START RequestId") for e in got["events"])
    assert group in [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    printed = subprocess.run(
        [
            str(Path(sys.executable).parent / "hearth"),
            "logs",
            "observed",
            "--endpoint-url",
            c.endpoint,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "hearth-test", "AWS_SECRET_ACCESS_KEY": "x"},
    ).stdout
    assert all(f"ran on {node}" in printed for node in set(ran))
    cloudwatch = boto3.client(
        "cloudwatch",
        endpoint_url=c.endpoint,
        region_name="us-east-1",
        aws_access_key_id="hearth-test",
        aws_secret_access_key="hearth-test",
    )

    def invocations_counted() -> None:
        now = time.time()
        figures = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName="Invocations",
            Dimensions=[{"Name": "FunctionName", "Value": "observed"}],
            StartTime=now - 600,
            EndTime=now + 60,
            Period=3600,
            Statistics=["Sum"],
        )["Datapoints"]
        assert sum(d["Sum"] for d in figures) == len(ran)

    _eventually(invocations_counted)


# Last: it kills a node.


def test_a_node_killed_under_load_fails_only_the_calls_it_was_running(cluster: Cluster) -> None:
    reports = _Reports()
    outcomes: list[tuple[float, str]] = []  # (when it ended, "ok" or the error's code: message)
    direct: list[tuple[float, str]] = []
    stop = threading.Event()

    def load(client: Any, function: str, into: list[Any], event: dict[str, Any]) -> None:
        while not stop.is_set():
            try:
                client.invoke(FunctionName=function, Payload=json.dumps(event).encode())
                into.append((time.monotonic(), "ok"))
            except ClientError as error:
                failure = error.response["Error"]
                into.append((time.monotonic(), f"{failure['Code']}: {failure['Message']}"))

    try:
        create_function(cluster.nodes[0].client(), "steady", make_zip({"app.py": HANDLER}))
        victim = cluster.nodes[1]
        workers = [
            # Forwarded: node-2 has no share; each call runs on node-0 or node-1.
            threading.Thread(
                target=load,
                args=(
                    cluster.nodes[2].client(),
                    "overflow",
                    outcomes,
                    # Long enough on node-1 for the kill to come while it runs.
                    {"url": reports.url, "sleep": 0.2, "slow_on": victim.endpoint, "slow": 5},
                ),
            ),
            # Received and run by node-0 itself.
            threading.Thread(target=load, args=(cluster.nodes[0].client(), "steady", direct, {})),
        ]
        for worker in workers:
            worker.start()

        def running_on_victim() -> None:
            assert any(r["node"] == victim.endpoint for r in reports.seen)

        _eventually(running_on_victim, timeout=30)
        assert victim.process is not None
        victim.process.send_signal(signal.SIGKILL)  # a forwarded call is in flight there
        killed_at = time.monotonic()

        def answered_after_the_kill() -> None:
            later = [o for when, o in outcomes if when > killed_at + 0.1]
            assert later.count("ok") >= 2

        _eventually(answered_after_the_kill, timeout=30)
        stop.set()
        for worker in workers:
            worker.join()
        victim.stop()
    finally:
        stop.set()
        reports.server.shutdown()
        reports.server.server_close()
    failures = [o for _, o in outcomes if o != "ok"]
    # The one call in flight on the dead node fails, naming it; every other call is answered.
    assert len(failures) == 1, failures
    assert failures[0].startswith("ServiceException: ") and "node-1" in failures[0]
    assert all(o == "ok" for _, o in direct) and len(direct) >= 2
