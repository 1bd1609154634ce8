"""Event invokes on a sandboxed server: the event runs inside the sandbox, retries included,
seen from outside only through the function's logs (the sandbox hides host files from it)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from hearth.sandbox.capabilities import probe
from hearth.sandbox.isolation import Isolation, choose_isolation
from tests.integration.conftest import Server, create_function, make_zip

pytestmark = pytest.mark.skipif(
    not choose_isolation(Isolation.AUTO, probe()).sandboxed, reason="this host cannot sandbox"
)

APP = """\
import json, os
def handler(event, context):
    print(json.dumps({"marker": event["marker"], "task": os.environ["LAMBDA_TASK_ROOT"],
                      "uid": os.getuid()}))
    if event.get("fail"):
        raise RuntimeError("fails on purpose")
    return "done"
"""


def wait_for(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_event_invokes_run_in_the_sandbox_and_retry_there(tmp_path: Any) -> None:
    server = Server(tmp_path / "data", ["--isolation", "sandbox", "--async-retry-delay", "0.2"])
    server.start()
    try:
        client = server.client()
        logs = boto3.client(
            "logs",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        create_function(client, "sandboxed-async", make_zip({"app.py": APP}))
        client.put_function_event_invoke_config(
            FunctionName="sandboxed-async", MaximumRetryAttempts=1
        )
        for marker, fail in (("ok-1", False), ("fail-1", True)):
            response = client.invoke(
                FunctionName="sandboxed-async",
                InvocationType="Event",
                Payload=json.dumps({"marker": marker, "fail": fail}).encode(),
            )
            assert response["StatusCode"] == 202

        def printed() -> list[dict[str, Any]]:
            events = logs.filter_log_events(logGroupName="/aws/lambda/sandboxed-async")["events"]
            return [json.loads(e["message"]) for e in events if e["message"].startswith("{")]

        wait_for(lambda: len(printed()) >= 3)  # ok-1 once, fail-1 twice (one retry)
        seen = printed()
        assert sorted(p["marker"] for p in seen) == ["fail-1", "fail-1", "ok-1"]
        assert all(p["task"] == "/var/task" and p["uid"] >= 990_000 for p in seen)
    finally:
        server.stop()
