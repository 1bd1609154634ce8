"""Nothing lost: kill -9 with events queued and in flight; a 10,000-event drain, all accounted for."""

from __future__ import annotations

import http.client
import json
import signal
import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.integration.async_helpers import async_status, queue_empty, wait_for
from tests.integration.conftest import Server, create_function, make_zip

pytestmark = pytest.mark.integration

# Functions here report to files in the test's directory, which the sandbox hides on
# purpose: these servers run plain processes (test_async_sandboxed.py runs one sandboxed).
PLAIN = ["--isolation", "process"]

# Appends the event's id to $TRACE_FILE (one short write: O_APPEND keeps lines whole).
TRACER = """
import os, time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    fd = os.open(os.environ["TRACE_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, (event["id"] + "\\n").encode())
    os.close(fd)
"""


def traced(trace: Path) -> Counter[str]:
    if not trace.exists():
        return Counter()
    return Counter(line for line in trace.read_text().splitlines() if line)


def send_events(
    endpoint: str,
    function: str,
    ids: Iterable[str],
    accepted: list[str],
    *,
    connections: int = 4,
    sleep: float = 0.0,
) -> None:
    """POST an Event invoke per id over `connections` keep-alive connections; the ids that got
    a 202 go to `accepted`. Stops quietly when the server goes away."""
    url = urlparse(endpoint)
    pending = list(ids)
    lock = threading.Lock()
    path = f"/2015-03-31/functions/{function}/invocations"

    def worker() -> None:
        conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
        while True:
            with lock:
                if not pending:
                    break
                event_id = pending.pop(0)
            body = json.dumps({"id": event_id, "sleep": sleep})
            try:
                conn.request("POST", path, body, {"X-Amz-Invocation-Type": "Event"})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                break  # the server was killed
            if response.status == 202:
                with lock:
                    accepted.append(event_id)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_kill_9_with_events_queued_and_in_flight_loses_none(tmp_path: Path) -> None:
    trace = tmp_path / "trace.txt"
    server = Server(
        tmp_path / "data", ["--async-retry-delay", "0.1", "--async-concurrency", "4", *PLAIN]
    )
    server.start()
    try:
        create_function(
            server.client(),
            "durable",
            make_zip({"app.py": TRACER}),
            Environment={"Variables": {"TRACE_FILE": str(trace)}},
        )
        accepted: list[str] = []
        sent = [f"e{i}" for i in range(5000)]
        sender = threading.Thread(
            target=send_events,
            args=(server.endpoint, "durable", sent, accepted),
            kwargs={"sleep": 0.02, "connections": 1},
        )
        sender.start()
        wait_for(lambda: sum(traced(trace).values()) >= 40, timeout=60)
        server.stop(signal.SIGKILL)  # mid-stream: events queued, running, being accepted
        sender.join()
        done_before = set(traced(trace))
        assert len(accepted) < len(sent), "the kill should interrupt the sender"
        assert len(accepted) > len(done_before), "the kill should leave queued events behind"

        server.start()
        wait_for(lambda: set(accepted) <= set(traced(trace)), timeout=100)
        wait_for(lambda: queue_empty(server.endpoint), timeout=30)
        runs = traced(trace)
        assert set(accepted) <= set(runs)  # every 202 was delivered
        duplicates = sum(runs.values()) - len(runs)
        redelivered = async_status(server.endpoint)["Queue"]["Redelivered"]
        # Only events in flight at the kill run twice, and the queue counted each of them.
        assert redelivered >= 1
        assert duplicates <= redelivered <= 4
        print(f"accepted {len(accepted)}, duplicates {duplicates}, redelivered {redelivered}")
    finally:
        if server.process is not None:
            server.stop()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ten_thousand_events_drain_each_exactly_once(tmp_path: Path) -> None:
    trace = tmp_path / "trace.txt"
    server = Server(tmp_path / "data", PLAIN).start()
    try:
        create_function(
            server.client(),
            "drain",
            make_zip({"app.py": TRACER}),
            Environment={"Variables": {"TRACE_FILE": str(trace)}},
        )
        ids = [f"d{i}" for i in range(10_000)]
        accepted: list[str] = []
        send_events(server.endpoint, "drain", ids, accepted, connections=8)
        assert len(accepted) == 10_000
        wait_for(lambda: sum(traced(trace).values()) >= 10_000, timeout=240, interval=0.5)
        wait_for(lambda: queue_empty(server.endpoint), timeout=30)
        runs = traced(trace)
        assert set(runs) == set(ids)
        assert max(runs.values()) == 1  # no crash, no lease ran out: no duplicates
        status = async_status(server.endpoint)
        assert status["SinceStart"]["Succeeded"] == 10_000
        assert status["Queue"]["Redelivered"] == 0
    finally:
        server.stop()


def test_a_backlog_for_one_function_does_not_hold_up_another(tmp_path: Path) -> None:
    busy_trace, quiet_trace = tmp_path / "busy.txt", tmp_path / "quiet.txt"
    server = Server(tmp_path / "data", ["--async-concurrency", "2", *PLAIN]).start()
    try:
        for name, trace in (("busy", busy_trace), ("quiet", quiet_trace)):
            create_function(
                server.client(),
                name,
                make_zip({"app.py": TRACER}),
                Environment={"Variables": {"TRACE_FILE": str(trace)}},
            )
        accepted: list[str] = []
        send_events(server.endpoint, "busy", [f"b{i}" for i in range(100)], accepted, sleep=0.1)
        assert len(accepted) == 100  # 100 x 0.1 s on 2 slots: a 5 s backlog
        send_events(server.endpoint, "quiet", ["q0"], accepted)
        wait_for(lambda: traced(quiet_trace), timeout=30)
        # Served in turn: the quiet function's event ran long before the backlog was done.
        assert sum(traced(busy_trace).values()) < 30
    finally:
        server.stop()
