"""Cluster benchmark: the shared embedded services and mapping take-over, in one run.

Starts a nats-server with JetStream and three `hearth serve --cluster` nodes on this machine
and measures, with boto3:
- S3 GetObject (1 KiB) and DynamoDB GetItem p50 / p99, through the node that serves the
  embedded services and through another node (which hands the request over NATS), taking
  turns sample by sample;
- S3 GetObject of 2 MiB (over NATS's 1 MB max_payload: through the transfer bucket) p50 both
  ways;
- the take-over of a Kinesis mapping: from `kill -9` of the node polling it until another
  node polls it (`/_hearth/event-source-mappings`);
- the take-over of the services: from `kill -9` of their holder until a GetObject through a
  surviving node answers from the restored snapshot.

    .venv/bin/python bench/cluster_services.py          # writes bench/results/cluster_services.json
    .venv/bin/python bench/cluster_services.py --quick  # fewer samples, nothing written
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "src"))

import boto3
from botocore.config import Config
from invoke_bench import (  # type: ignore[import-not-found]
    RESULTS,
    Target,
    create_function,
    handler_zip,
    machine,
    percentile,
    start_hearth,
)

from hearth.cluster.local import LocalNats

REGION = "us-east-1"


def client(target: Target, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=f"http://{target.host}:{target.port}",
        region_name=REGION,
        aws_access_key_id="hearth",
        aws_secret_access_key="hearth",
        config=Config(retries={"max_attempts": 0}),
    )


def status(target: Target, path: str) -> Any:
    with urllib.request.urlopen(f"http://{target.host}:{target.port}{path}", timeout=10) as got:
        return json.load(got)


def timed(call: Any, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
    }


def wait_for(check: Any, timeout: float = 60.0) -> float:
    """Seconds until `check()` is true (polled every 20 ms)."""
    start = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - start
        except Exception:  # a node down or moving: try again
            pass
        if time.monotonic() - start > timeout:
            raise TimeoutError("not within the timeout")
        time.sleep(0.02)


def main() -> None:  # noqa: PLR0915 - one run, in order
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    small_n, big_n = (30, 3) if args.quick else (300, 20)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        "mode": "quick" if args.quick else "full",
        "nodes": 3,
    }
    with tempfile.TemporaryDirectory() as root:
        nats = LocalNats(Path(root) / "nats").start()
        processes: dict[str, subprocess.Popen[str]] = {}
        targets: dict[str, Target] = {}
        try:
            for index in range(3):
                name = f"node-{index}"
                process, target, _ = start_hearth(
                    str(Path(root) / name), ["--cluster", nats.url, "--node-name", name]
                )
                processes[name], targets[name] = process, target
            first = targets["node-0"]
            wait_for(lambda: status(first, "/_hearth/cluster")["services"]["holder"])
            holder = status(first, "/_hearth/cluster")["services"]["holder"]
            other = next(name for name in targets if name != holder)
            s3 = {k: client(targets[k], "s3") for k in (holder, other)}
            ddb = {k: client(targets[k], "dynamodb") for k in (holder, other)}
            s3[holder].create_bucket(Bucket="bench")
            s3[holder].put_object(Bucket="bench", Key="small", Body=b"x" * 1024)
            s3[holder].put_object(Bucket="bench", Key="big", Body=b"y" * (2 * 1024 * 1024))
            ddb[holder].create_table(
                TableName="bench",
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            )
            ddb[holder].put_item(TableName="bench", Item={"id": {"S": "1"}})
            calls = {
                "s3_get_1kib": (
                    small_n,
                    lambda n: s3[n].get_object(Bucket="bench", Key="small")["Body"].read(),
                ),
                "dynamodb_get_item": (
                    small_n,
                    lambda n: ddb[n].get_item(TableName="bench", Key={"id": {"S": "1"}}),
                ),
                "s3_get_2mib": (
                    big_n,
                    lambda n: s3[n].get_object(Bucket="bench", Key="big")["Body"].read(),
                ),
            }
            figures: dict[str, Any] = {"holder": {}, "other_node": {}}
            for figure, (count, call) in calls.items():
                # Taking turns, sample by sample: the machine's other work weighs on both alike.
                samples: dict[str, list[float]] = {holder: [], other: []}
                for _ in range(count):
                    for name in (holder, other):
                        samples[name] += timed(lambda n=name, c=call: c(n), 1)
                figures["holder"][figure] = summary(samples[holder])
                figures["other_node"][figure] = summary(samples[other])
            results["requests"] = figures

            # A Kinesis mapping's owner killed: how long until another node polls it.
            kinesis = client(first, "kinesis")
            kinesis.create_stream(StreamName="bench", ShardCount=1)
            arn = kinesis.describe_stream(StreamName="bench")["StreamDescription"]["StreamARN"]
            create_function(first, "bench", handler_zip())
            uuid = client(first, "lambda").create_event_source_mapping(
                FunctionName="bench", EventSourceArn=arn, StartingPosition="LATEST"
            )["UUID"]

            def polling() -> list[str]:
                found = []
                for name, target in targets.items():
                    if processes[name].poll() is not None:
                        continue
                    shown = status(target, "/_hearth/event-source-mappings")
                    if any(
                        m["UUID"] == uuid and m["Running"] for m in shown["EventSourceMappings"]
                    ):
                        found.append(name)
                return found

            wait_for(lambda: len(polling()) == 1)
            owner = polling()[0]
            processes[owner].send_signal(signal.SIGKILL)
            processes[owner].wait()
            took = wait_for(lambda: len(polling()) == 1)
            results["mapping_takeover_seconds"] = round(took, 2)
            results["mapping_owner_was_services_holder"] = owner == holder

            # The services' holder killed: how long until a survivor answers from the snapshot.
            holder_now = status(
                targets[next(n for n in targets if processes[n].poll() is None)], "/_hearth/cluster"
            )["services"]["holder"]
            if holder_now is not None and processes[holder_now].poll() is None:
                survivor = next(
                    n for n in targets if n != holder_now and processes[n].poll() is None
                )
                time.sleep(1.5)  # past one snapshot interval
                processes[holder_now].send_signal(signal.SIGKILL)
                processes[holder_now].wait()
                asked = client(targets[survivor], "s3")
                took = wait_for(
                    lambda: (
                        asked.get_object(Bucket="bench", Key="small")["Body"].read() == b"x" * 1024
                    )
                )
                results["services_takeover_seconds"] = round(took, 2)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()
            for process in processes.values():
                process.wait(30)
            nats.stop()
    print(json.dumps(results, indent=2))
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "cluster_services.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
