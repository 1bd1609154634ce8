"""The floor: the least this machine can do for each figure, measured in the same run.

- warm calls and throughput: a bare asyncio + httptools HTTP server answering {"ok":true};
- cold starts: a bare os.fork() of a warm, single-threaded interpreter whose child imports the
  handler's module, calls it and reports back over a pipe (what a zygote cannot beat).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..client import Boto3Caller, HttpCaller
from ..workloads import Workload
from .base import ColdStart, PerEnv

ANSWER = b'{"ok":true}'


def serve_ok(ready: Connection) -> None:
    import httptools

    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()

    class Ok(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.parser = httptools.HttpRequestParser(self)

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_message_complete(self) -> None:
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(ANSWER), ANSWER)
            )

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Ok, "127.0.0.1", 0)
        ready.send(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


def fork_server(commands: Connection, task_root: str, handler: str) -> None:
    """Forks a child per command; the child imports the handler, calls it, answers, exits."""
    sys.path.insert(0, task_root)
    module_name, function = handler.rsplit(".", 1)
    # What any zygote does before forking (Hearth's does too): children then skip the
    # parent's objects in every collection, which matters for an import of thousands.
    gc.collect()
    gc.freeze()
    while commands.recv() is not None:
        pid = os.fork()
        if pid == 0:
            result = getattr(importlib.import_module(module_name), function)({}, None)
            commands.send(result == {"ok": True})
            os._exit(0)
        os.waitpid(pid, 0)


class FloorTool:
    name = "floor"
    fresh = "os.fork() of a warm interpreter; the child imports the handler and calls it"

    def unavailable(self, workload: Workload) -> str | None:
        return None

    def version(self) -> str:
        return f"Python {sys.version.split()[0]}, asyncio + httptools, os.fork()"

    @contextlib.contextmanager
    def start(self, workload: Workload, workdir: Path, cold: int) -> Iterator[RunningFloor]:
        # Fresh interpreters (spawn), single-threaded, so forking them is clean.
        context = multiprocessing.get_context("spawn")
        ready, ready_child = context.Pipe()
        server = context.Process(target=serve_ok, args=(ready_child,), daemon=True)
        server.start()
        forker = None
        commands = None
        if workload.language == "python":
            task = workload.write(workdir / "task")
            commands, commands_child = context.Pipe()
            forker = context.Process(
                target=fork_server, args=(commands_child, str(task), workload.handler), daemon=True
            )
            forker.start()
        try:
            if not ready.poll(60):
                raise RuntimeError("the floor server did not start")
            yield RunningFloor(server, ready.recv(), commands)
        finally:
            if commands is not None:
                commands.send(None)
            for process in (server, forker):
                if process is not None:
                    process.terminate()
                    process.join(10)


class RunningFloor:
    warm = True
    per_env: PerEnv = None
    warm_environments = 1

    def __init__(self, server: Any, port: int, commands: Connection | None) -> None:
        self.server, self.commands = server, commands
        self.caller = HttpCaller("127.0.0.1", port, "/")
        self.boto3 = Boto3Caller(f"http://127.0.0.1:{port}", "floor")

    def roots(self) -> list[int]:
        return [self.server.pid]

    def alive(self) -> bool:
        return bool(self.server.is_alive())

    def cold_start(self, index: int) -> ColdStart:
        if self.commands is None:
            raise NotImplementedError("no fork floor for a Node.js handler")
        started = time.perf_counter()
        self.commands.send(index)
        ok = bool(self.commands.recv())
        return ColdStart((time.perf_counter() - started) * 1000, ok)
