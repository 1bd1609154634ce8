"""Helpers for the asynchronous-invocation tests: a handler that leaves a trace in a file."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Appends one JSON line per run to event["file"]: the request id, the event, the attempt's
# function version. Fails (Unhandled) when the event says so.
RECORDER = """
import json, os

def handler(event, context):
    line = {
        "requestId": context.aws_request_id,
        "event": event,
        "version": context.function_version,
    }
    with open(event["file"] if "file" in event else os.environ["TRACE_FILE"], "a") as out:
        out.write(json.dumps(line) + "\\n")
    if event.get("fail"):
        raise RuntimeError("asked to fail: " + str(event.get("id")))
    return {"seen": event.get("id")}
"""


def read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll until `condition()` is truthy; return its value or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def async_status(endpoint: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{endpoint}/_hearth/async", timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
    return result


def queue_empty(endpoint: str) -> bool:
    queue = async_status(endpoint)["Queue"]
    return bool(queue["Ready"] == 0 and queue["Delayed"] == 0 and queue["InFlight"] == 0)
