"""The one client every tool gets: raw HTTP/1.1 on loopback with keep-alive, and boto3.

A `Caller` makes one invoke and says whether it succeeded (a 200 whose body is the handler's
{"ok": true}); anything else, including a refused or dropped connection, is an error, counted,
never raised: a tool that fails under load is a result, not a crash of the benchmark.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from .fastclient import run_closed_loop
from .stats import summarize

Call = Callable[[], bool]


class Caller(Protocol):
    """Opens one client (a connection, a boto3 client): a thread's own, never shared."""

    def open(self) -> tuple[Call, Callable[[], None]]:
        """(call, close)."""
        ...


def succeeded(status: int, body: bytes) -> bool:
    if status != 200:
        return False
    try:
        return bool(json.loads(body) == {"ok": True})
    except ValueError:
        return False


class HttpCaller:
    def __init__(self, host: str, port: int, path: str, timeout: float = 60) -> None:
        self.host, self.port, self.path, self.timeout = host, port, path, timeout

    def targets(self) -> list[tuple[str, int, str]]:
        """Where the load client's connections go (connection i: target i modulo)."""
        return [(self.host, self.port, self.path)]

    def open(self) -> tuple[Call, Callable[[], None]]:
        state = {"conn": http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)}

        def call() -> bool:
            conn = state["conn"]
            try:
                conn.request("POST", self.path, body=b"{}")
                response = conn.getresponse()
                return succeeded(response.status, response.read())
            except (OSError, http.client.HTTPException):
                conn.close()  # reconnect on the next call
                state["conn"] = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
                return False

        def close() -> None:
            state["conn"].close()

        return call, close


class Boto3Caller:
    """boto3's Lambda `invoke` with endpoint_url at the tool: what an SDK user pays."""

    def __init__(self, endpoint: str, function: str) -> None:
        self.endpoint, self.function = endpoint, function

    def open(self) -> tuple[Call, Callable[[], None]]:
        import boto3
        from botocore.config import Config

        # A session per client: boto3's default session is not safe to share across threads.
        client: Any = boto3.session.Session().client(
            "lambda",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=Config(retries={"max_attempts": 1}, read_timeout=60),
        )

        def call() -> bool:
            try:
                answer = client.invoke(FunctionName=self.function, Payload=b"{}")
                return "FunctionError" not in answer and json.loads(answer["Payload"].read()) == {
                    "ok": True
                }
            except Exception:  # any botocore error is a failed invoke here
                return False

        return call, client.close


def latency(caller: Caller, count: int, warmup: int = 20) -> dict[str, Any]:
    """`count` sequential invokes on one client after `warmup` unmeasured ones."""
    call, close = caller.open()
    try:
        for _ in range(warmup):
            call()
        samples, errors = [], 0
        for _ in range(count):
            started = time.perf_counter()
            ok = call()
            samples.append((time.perf_counter() - started) * 1000)
            errors += not ok
    finally:
        close()
    return {**summarize(samples), "errors": errors}


# A client that fails this many times in a row stops: the tool is down, and spinning on
# refused connections would only heat the machine the other clients share.
GIVE_UP_AFTER = 200


def throughput(caller: Caller, concurrency: int, seconds: float) -> dict[str, float]:
    """Invokes per second with `concurrency` clients in closed loops for `seconds`.

    An HTTP tool gets the light client (`fastclient`: one selector loop in its own process,
    a prepared request per call), so that at 8 clients the tool, not the client, is what
    runs out of CPU; a tool without a server (a process per invoke) gets threads."""
    if isinstance(caller, HttpCaller):
        done = run_closed_loop(caller.targets(), concurrency, seconds=seconds)
        return {
            "per_second": round(done["ok"] / done["elapsed_s"], 1),
            "ok": done["ok"],
            "errors": done["errors"],
            "clients_gave_up": done["clients_gave_up"],
        }
    done = [0] * concurrency
    errors = [0] * concurrency
    gave_up = [False] * concurrency
    stop = time.perf_counter() + seconds

    def worker(index: int) -> None:
        call, close = caller.open()
        failing = 0
        try:
            while time.perf_counter() < stop and failing < GIVE_UP_AFTER:
                if call():
                    done[index] += 1
                    failing = 0
                else:
                    errors[index] += 1
                    failing += 1
            gave_up[index] = failing >= GIVE_UP_AFTER
        finally:
            close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "per_second": round(sum(done) / elapsed, 1),
        "ok": sum(done),
        "errors": sum(errors),
        "clients_gave_up": sum(gave_up),
    }
