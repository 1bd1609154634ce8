"""Event invokes on a sandboxed server, seen from outside only through the function's logs
(the sandbox hides host files from it): the event runs inside the sandbox, retries run there
too, and an event throttled by reserved concurrency waits in the queue until it may run."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hearth.sandbox.capabilities import probe
from hearth.sandbox.choice import choose_isolation
from hearth.sandbox.isolation import Isolation
from tests.integration.async_helpers import async_status, wait_for
from tests.integration.conftest import Server, create_function, log_events, make_zip

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


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(
        tmp_path_factory.mktemp("async-sandbox"),
        ["--isolation", "sandbox", "--async-retry-delay", "0.2"],
    ).start()
    yield server
    server.stop()


def printed(server: Server, name: str) -> list[dict[str, Any]]:
    events = log_events(server.endpoint, f"/aws/lambda/{name}")
    return [json.loads(e["message"]) for e in events if e["message"].startswith("{")]


def send(client: Any, name: str, marker: str, fail: bool = False) -> None:
    response = client.invoke(
        FunctionName=name,
        InvocationType="Event",
        Payload=json.dumps({"marker": marker, "fail": fail}).encode(),
    )
    assert response["StatusCode"] == 202


def test_event_invokes_run_in_the_sandbox_and_retry_there(sandboxed: Server) -> None:
    client = sandboxed.client()
    create_function(client, "sandboxed-async", make_zip({"app.py": APP}))
    client.put_function_event_invoke_config(FunctionName="sandboxed-async", MaximumRetryAttempts=1)
    send(client, "sandboxed-async", "ok-1")
    send(client, "sandboxed-async", "fail-1", fail=True)
    wait_for(lambda: len(printed(sandboxed, "sandboxed-async")) >= 3)  # fail-1 runs twice
    seen = printed(sandboxed, "sandboxed-async")
    assert sorted(p["marker"] for p in seen) == ["fail-1", "fail-1", "ok-1"]
    assert all(p["task"] == "/var/task" and p["uid"] >= 990_000 for p in seen)


def test_a_throttled_event_waits_and_runs_once_it_may(sandboxed: Server, tmp_path: Path) -> None:
    client = sandboxed.client()
    create_function(client, "throttled-async", make_zip({"app.py": APP}))
    client.put_function_concurrency(FunctionName="throttled-async", ReservedConcurrentExecutions=0)
    send(client, "throttled-async", "waited")
    time.sleep(2)  # throttled, re-queued with backoff (1 s, 2 s, ...), never run, not dropped
    assert printed(sandboxed, "throttled-async") == []
    assert async_status(sandboxed.endpoint)["Queue"]["Delayed"] >= 1
    client.delete_function_concurrency(FunctionName="throttled-async")
    wait_for(lambda: printed(sandboxed, "throttled-async"), timeout=30)
    assert [p["marker"] for p in printed(sandboxed, "throttled-async")] == ["waited"]
