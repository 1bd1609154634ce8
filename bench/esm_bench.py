"""Event source mapping benchmark: records per second through one mapping, and the latency
from SendMessage / PutRecord to the handler starting, against moto's server.

Measures, in one run on one machine (`hearth serve --isolation process`), each figure twice:
- "botocore": the sources are moto's server in its own process on loopback
  (`bench/fast_moto.py`), read through botocore, as any external endpoint is;
- "in_process": the sources are Hearth's embedded services on its own port; SQS queues
  and Kinesis streams are then read from moto's models in-process
  (`hearth/events/sqs_readers.py`, `hearth/events/embedded_streams.py`).

What is measured, in each:
- records/s through one SQS mapping at BatchSize 10 and at BatchSize 100 (window 1 s), and
  through one Kinesis mapping (one shard, BatchSize 100): a backlog of N records is written
  first, then the mapping is created; the rate is N over the time from the mapping's first
  handler start to its last;
- send-to-handler latency (p50, p99) on an idle queue / stream: one record at a time, the
  send time in the record, the handler's start time written by the handler.

    .venv/bin/python bench/esm_bench.py            # full run, writes bench/results/esm.*
    .venv/bin/python bench/esm_bench.py --quick    # a few seconds, for CI
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, ClassVar

import boto3

sys.path.insert(0, str(Path(__file__).parent))
from invoke_bench import handler_zip, machine, percentile, start_hearth

RESULTS = Path(__file__).parent / "results"
REGION = "us-east-1"
ACCOUNT = "123456789012"
KEYS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}

# One line per batch: handler start time, record count, and the first record's send time.
HANDLER = """
import base64, json, os, time

def handler(event, context):
    start = time.time()
    records = event["Records"]
    first = records[0]
    text = first["body"] if "body" in first else base64.b64decode(first["kinesis"]["data"]).decode()
    with open(os.environ["TRACE"], "a") as out:
        out.write(f"{start} {len(records)} {text}\\n")
    return {}
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK")


class Cpu:
    """CPU used by Hearth and by moto over a phase: who the bottleneck is."""

    pids: ClassVar[dict[str, int]] = {}

    def __init__(self) -> None:
        self.start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    @classmethod
    def watch(cls, pids: dict[str, int]) -> None:
        cls.pids = pids

    def per_record_ms(self, records: int) -> dict[str, float]:
        return {
            f"{name}_cpu_ms_per_record": round(
                (cpu_seconds(pid) - self.start[name]) * 1000 / records, 3
            )
            for name, pid in self.pids.items()
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).parent / "fast_moto.py"),
            "-H",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto did not start")


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, **KEYS)


def read_trace(trace: Path) -> list[tuple[float, int, str]]:
    if not trace.exists():
        return []
    lines = []
    for line in trace.read_text().splitlines():
        start, count, text = line.split(" ", 2)
        lines.append((float(start), int(count), text))
    return lines


def wait_records(trace: Path, total: int, timeout: float) -> list[tuple[float, int, str]]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        lines = read_trace(trace)
        if sum(c for _, c, _ in lines) >= total:
            return lines
        time.sleep(0.05)
    raise RuntimeError(f"only {sum(c for _, c, _ in read_trace(trace))} of {total} records arrived")


def make_function(lam: Any, name: str, trace: Path) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Handler="app.handler",
        Role=f"arn:aws:iam::{ACCOUNT}:role/bench",
        Code={"ZipFile": handler_zip(HANDLER)},
        MemorySize=1769,
        Timeout=30,
        Environment={"Variables": {"TRACE": str(trace)}},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1})


def wait_enabled(lam: Any, uuid: str) -> None:
    for _ in range(300):
        if lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled":
            return
        time.sleep(0.05)
    raise RuntimeError("mapping did not become Enabled")


def rate(lines: list[tuple[float, int, str]]) -> float:
    total = sum(c for _, c, _ in lines)
    span = lines[-1][0] - lines[0][0]
    # The first batch's records are counted from its start: the rate is per handled record.
    return (total - lines[0][1]) / span if span > 0 else float("nan")


def _round(value: float) -> int | None:
    # A backlog drained in one batch (a --quick run) has no rate.
    return None if math.isnan(value) else round(value)


def sqs_throughput(lam: Any, sqs: Any, work: Path, count: int, batch: int) -> dict[str, Any]:
    name = f"sqs-{batch}"
    trace = work / f"{name}.trace"
    make_function(lam, name, trace)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    for start in range(0, count, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(min(10, count - start))],
        )
    window = {"MaximumBatchingWindowInSeconds": 1} if batch > 10 else {}
    cpu = Cpu()
    mapping = lam.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
        BatchSize=batch,
        **window,
    )
    lines = wait_records(trace, count, timeout=600)
    used = cpu.per_record_ms(count)
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
    return {
        "records": count,
        "batch_size": batch,
        "batches": len(lines),
        "records_per_second": _round(rate(lines)),
        **used,
    }


def kinesis_throughput(lam: Any, kinesis: Any, work: Path, count: int) -> dict[str, Any]:
    name = "kinesis-throughput"
    trace = work / f"{name}.trace"
    make_function(lam, name, trace)
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1})
    for start in range(0, count, 500):
        kinesis.put_records(
            StreamName=name,
            Records=[{"Data": b"x", "PartitionKey": "k"} for _ in range(min(500, count - start))],
        )
    cpu = Cpu()
    mapping = lam.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}",
        StartingPosition="TRIM_HORIZON",
        BatchSize=100,
    )
    lines = wait_records(trace, count, timeout=600)
    used = cpu.per_record_ms(count)
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
    return {
        "records": count,
        "batch_size": 100,
        "batches": len(lines),
        "records_per_second": _round(rate(lines)),
        **used,
    }


def sqs_latency(lam: Any, sqs: Any, work: Path, samples: int) -> dict[str, Any]:
    name = "sqs-latency"
    trace = work / f"{name}.trace"
    make_function(lam, name, trace)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    mapping = lam.create_event_source_mapping(
        FunctionName=name, EventSourceArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    )
    wait_enabled(lam, mapping["UUID"])
    # A first message warms the function's environment; it is not counted.
    sqs.send_message(QueueUrl=url, MessageBody=str(time.time()))
    wait_records(trace, 1, timeout=60)
    for i in range(samples):
        time.sleep(0.2)  # idle between sends: the poller is in its long poll
        sqs.send_message(QueueUrl=url, MessageBody=str(time.time()))
        wait_records(trace, i + 2, timeout=60)
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
    return summarize([(s - float(t)) * 1000 for s, _, t in read_trace(trace)[1:]])


def kinesis_latency(lam: Any, kinesis: Any, work: Path, samples: int) -> dict[str, Any]:
    name = "kinesis-latency"
    trace = work / f"{name}.trace"
    make_function(lam, name, trace)
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1})
    mapping = lam.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}",
        StartingPosition="TRIM_HORIZON",
    )
    wait_enabled(lam, mapping["UUID"])
    kinesis.put_record(StreamName=name, Data=str(time.time()).encode(), PartitionKey="k")
    wait_records(trace, 1, timeout=60)
    for i in range(samples):
        time.sleep(0.2)
        kinesis.put_record(StreamName=name, Data=str(time.time()).encode(), PartitionKey="k")
        wait_records(trace, i + 2, timeout=60)
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
    return summarize([(s - float(t)) * 1000 for s, _, t in read_trace(trace)[1:]])


def summarize(samples_ms: list[float]) -> dict[str, Any]:
    return {
        "samples": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 0.5), 1),
        "p99_ms": round(percentile(samples_ms, 0.99), 1),
    }


def markdown(results: dict[str, Any]) -> str:
    rows = [
        "| measure | through botocore (moto's server) | in-process (embedded services) |",
        "|---|---|---|",
    ]
    before, after = results["botocore"], results["in_process"]

    def cpu(t: dict[str, Any]) -> str:
        moto = t.get("moto_cpu_ms_per_record")
        shown = f"{t['hearth_cpu_ms_per_record']}" + (f" / {moto}" if moto is not None else "")
        return f"{t['records_per_second']:,} (CPU ms per record, Hearth / moto: {shown})"

    for key, label in (
        ("sqs_batch_10", "SQS, BatchSize 10: records/s"),
        ("sqs_batch_100", "SQS, BatchSize 100 (window 1 s): records/s"),
        ("kinesis", "Kinesis, 1 shard, BatchSize 100: records/s"),
    ):
        rows.append(
            f"| {label} | {cpu(before['throughput'][key])} | {cpu(after['throughput'][key])} |"
        )
    for key, label in (
        ("sqs", "SendMessage → handler start, idle queue: p50 / p99 ms"),
        ("kinesis", "PutRecord → handler start, idle stream: p50 / p99 ms"),
    ):
        b, a = before["latency"][key], after["latency"][key]
        rows.append(f"| {label} | {b['p50_ms']} / {b['p99_ms']} | {a['p50_ms']} / {a['p99_ms']} |")
    return "\n".join(rows) + "\n"


def phase(
    hearth: tuple[Any, Any], source_url: str, pids: dict[str, int], work: Path, counts: Any
) -> dict[str, Any]:
    """Every figure against one Hearth reading from one source endpoint."""
    process, target = hearth
    sqs_count, kinesis_count, samples = counts
    work.mkdir()
    Cpu.watch({"hearth": process.pid, **pids})
    lam = client("lambda", f"http://{target.host}:{target.port}")
    sqs, kinesis = client("sqs", source_url), client("kinesis", source_url)
    return {
        "throughput": {
            "sqs_batch_10": sqs_throughput(lam, sqs, work, sqs_count, 10),
            "sqs_batch_100": sqs_throughput(lam, sqs, work, sqs_count, 100),
            "kinesis": kinesis_throughput(lam, kinesis, work, kinesis_count),
        },
        "latency": {
            "sqs": sqs_latency(lam, sqs, work, samples),
            "kinesis": kinesis_latency(lam, kinesis, work, samples),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts, no result files")
    parser.add_argument("--sqs-records", type=int, default=None)
    parser.add_argument("--kinesis-records", type=int, default=None)
    args = parser.parse_args()
    sqs_count, kinesis_count, samples = (200, 300, 5) if args.quick else (3000, 10000, 50)
    counts = (args.sqs_records or sqs_count, args.kinesis_records or kinesis_count, samples)
    moto, moto_url = start_moto()
    work = Path(tempfile.mkdtemp(prefix="esm-bench-"))
    started = []
    try:
        external, ext_target, _ = start_hearth(
            str(work / "data-botocore"),
            ["--isolation", "process", "--event-source-endpoint-url", moto_url],
        )
        started.append(external)
        results: dict[str, Any] = {"machine": machine()}
        results["botocore"] = phase(
            (external, ext_target), moto_url, {"moto": moto.pid}, work / "botocore", counts
        )
        external.terminate()
        external.wait(30)
        embedded, emb_target, _ = start_hearth(
            str(work / "data-in-process"), ["--isolation", "process"]
        )
        started.append(embedded)
        own = f"http://{emb_target.host}:{emb_target.port}"
        results["in_process"] = phase((embedded, emb_target), own, {}, work / "in-process", counts)
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()
                process.wait(30)
        moto.terminate()
        moto.wait(10)
    print(json.dumps(results, indent=2))
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "esm.json").write_text(json.dumps(results, indent=2) + "\n")
        (RESULTS / "esm.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
