"""Shared by the event source mapping tests: a Hearth reading from moto's server (conftest's
`moto` fixture), and a handler that leaves a trace of every batch in a file."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.integration.async_helpers import wait_for
from tests.integration.conftest import REGION, Server, create_function, make_zip

ACCOUNT = "123456789012"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

# One JSON line per invocation: the time and the event. MODE (environment) says what to
# answer: "" succeed, "fail" raise, "answer" return $ANSWER; a record whose body / data
# contains "fail" fails the batch, "bad" is reported as a batch item failure, "sleep" sleeps,
# "answer:<json>" is returned as the answer.
HANDLER = """
import base64, json, os, time

def _text(record):
    if "body" in record:
        return record["body"]
    if "kinesis" in record:
        return base64.b64decode(record["kinesis"]["data"]).decode()
    return json.dumps(record.get("dynamodb", {}))

def _id(record):
    if "messageId" in record:
        return record["messageId"]
    if "kinesis" in record:
        return record["kinesis"]["sequenceNumber"]
    return record["dynamodb"]["SequenceNumber"]

def handler(event, context):
    with open(os.environ["TRACE_FILE"], "a") as out:
        out.write(json.dumps({"t": time.time(), "event": event}) + "\\n")
    texts = [(_id(r), _text(r)) for r in event.get("Records", [])]
    if any("sleep" in t for _, t in texts):
        time.sleep(float(os.environ.get("SLEEP", "3")))
    if "window" in event:
        state = dict(event.get("state") or {})
        state["n"] = state.get("n", 0) + len(texts)
        return {"state": state, "batchItemFailures": []}
    mode = os.environ.get("MODE", "")
    if mode == "fail" or any("fail" in t for _, t in texts):
        raise RuntimeError("asked to fail")
    if mode == "answer":
        return json.loads(os.environ["ANSWER"])
    answers = [t[len("answer:"):] for _, t in texts if t.startswith("answer:")]
    if answers:
        return json.loads(answers[0])
    return {"batchItemFailures": [{"itemIdentifier": i} for i, t in texts if "bad" in t]}
"""


def hearth_server(moto: str, data_dir: Path) -> Server:
    return Server(
        data_dir,
        [
            "--event-source-endpoint-url",
            moto,
            "--aws-endpoint-url",
            moto,
            "--isolation",
            "process",
        ],
        env={**CREDENTIALS, "AWS_DEFAULT_REGION": REGION},
    )


@pytest.fixture(scope="module")
def hearth(moto: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = hearth_server(moto, tmp_path_factory.mktemp("esm-data"))
    server.start()
    yield server
    server.stop()


def aws_client(moto: str, service: str) -> Any:
    session: Any = boto3.session.Session()
    return session.client(
        service,
        endpoint_url=moto,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def traced_function(lam: Any, name: str, trace: Path, **env: str) -> str:
    create_function(
        lam,
        name,
        make_zip({"app.py": HANDLER}),
        Environment={"Variables": {"TRACE_FILE": str(trace), **env}},
        Timeout=30,
    )
    return name


def batches(trace: Path) -> list[dict[str, Any]]:
    if not trace.exists():
        return []
    return [json.loads(line) for line in trace.read_text().splitlines() if line.strip()]


def records(trace: Path) -> list[dict[str, Any]]:
    return [r for b in batches(trace) for r in b["event"].get("Records", [])]


def wait_state(lam: Any, uuid: str, state: str, timeout: float = 20) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def settled() -> bool:
        found.update(lam.get_event_source_mapping(UUID=uuid))
        return bool(found["State"] == state)

    wait_for(settled, timeout=timeout, interval=0.1)
    return found


def status(endpoint: str) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(f"{endpoint}/_hearth/event-source-mappings", timeout=5) as r:
        data: dict[str, Any] = json.loads(r.read())
        return data


def settle(seconds: float = 0.5) -> None:
    time.sleep(seconds)
