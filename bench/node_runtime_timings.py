"""What Hearth's Node.js runtime client adds to a warm invocation, measured and printed (not
asserted; moved here from tests/sandbox/test_node_runtime.py, since a figure is not a test).

    .venv/bin/python -m pytest bench/node_runtime_timings.py -s -p no:cacheprovider
"""

from __future__ import annotations

import http.client
import socket
import statistics
import threading
import time
from typing import Any

import pytest
from tests.sandbox.test_node_runtime import NODE, PREFIX, FakeRuntimeApi, api, start

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")
__all__ = ["api", "start"]  # the fixtures this benchmark uses


def _round_trips(api: FakeRuntimeApi, count: int) -> list[float]:
    timings = []
    for i in range(count):
        began = time.perf_counter()
        posted = api.invoke({"i": i})
        timings.append((time.perf_counter() - began) * 1000)
        assert posted.json() == {"i": i}
    return sorted(timings)


def _summary(timings: list[float]) -> str:
    return (
        f"mean {statistics.mean(timings):.3f} ms, p50 {timings[len(timings) // 2]:.3f} ms, "
        f"p95 {timings[int(len(timings) * 0.95)]:.3f} ms"
    )


def _python_echo_runtime(api: FakeRuntimeApi) -> None:
    """The least a runtime can do: GET next, POST the event back, on one keep-alive connection.

    Returns after answering the event "stop".
    """
    host, port = api.address.split(":")
    connection = http.client.HTTPConnection(host, int(port))
    connection.connect()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            connection.request("GET", f"{PREFIX}/invocation/next")
            response = connection.getresponse()
            event = response.read()
            if response.status != 200:
                return
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            connection.request("POST", f"{PREFIX}/invocation/{request_id}/response", body=event)
            connection.getresponse().read()
            if event == b'"stop"':
                return
    except (OSError, http.client.HTTPException):
        return  # the server went away at the end of the test
    finally:
        connection.close()


def test_warm_invocation_overhead(start: Any, api: FakeRuntimeApi) -> None:
    """Round trips of a trivial invocation, measured and printed (not asserted).

    The same loop is first timed with a bare Python client in place of node: the difference
    is what the Node runtime itself adds per warm invocation.
    """
    baseline_client = threading.Thread(target=_python_echo_runtime, args=(api,), daemon=True)
    baseline_client.start()
    _round_trips(api, 20)
    baseline = _round_trips(api, 200)
    api.invoke("stop")
    baseline_client.join(timeout=5)

    start({"index.mjs": "export const handler = async (event) => event;"})
    _round_trips(api, 20)  # warm up: JIT, the keep-alive connection
    node = _round_trips(api, 200)
    print(
        f"\nwarm invocation round trip, 200 invocations\n"
        f"  bare Python client: {_summary(baseline)}\n"
        f"  node bootstrap.mjs: {_summary(node)}\n"
        f"  runtime overhead (p50 difference): "
        f"{node[len(node) // 2] - baseline[len(baseline) // 2]:.3f} ms"
    )
