"""A warm Python environment does not grow per invoke (issue 11 item 7).

Each invoke carries a new X-Ray trace id, which the runtime puts in `_X_AMZN_TRACE_ID`;
glibc's setenv never frees a replaced value, so setting it through os.environ leaked about
140 bytes an invoke. The handler reports glibc's own count of bytes in use (mallinfo2), which
is where that leak lands; Python's objects live in arenas outside it.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

from tests.integration.conftest import Server, create_function, make_zip

HANDLER = """\
import ctypes
import os
import subprocess

_FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in _FIELDS.split()]


_libc = ctypes.CDLL(None)
_libc.mallinfo2.restype = _MallInfo2


def handler(event, context):
    out = {"heap": _libc.mallinfo2().uordblks, "trace": os.environ.get("_X_AMZN_TRACE_ID")}
    if event.get("child"):
        child = subprocess.run(
            ["/bin/sh", "-c", "echo $_X_AMZN_TRACE_ID"], capture_output=True, text=True
        )
        out["child"] = child.stdout.strip()
    return out
"""

INVOKES = 1500


def _invoke(conn: http.client.HTTPConnection, name: str, event: dict[str, Any]) -> Any:
    conn.request("POST", f"/2015-03-31/functions/{name}/invocations", body=json.dumps(event))
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, body
    return json.loads(body)


def test_a_warm_environment_does_not_grow_per_invoke(server: Server, client: Any) -> None:
    # A full vCPU: at 128 MB the sandbox would cap the handler at 7% of one.
    create_function(client, "warm-memory", make_zip({"app.py": HANDLER}), MemorySize=1769)
    address = urlsplit(server.endpoint)
    conn = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        for _ in range(100):  # let the runtime's own buffers reach their working size
            first = _invoke(conn, "warm-memory", {})
        for _ in range(INVOKES):
            last = _invoke(conn, "warm-memory", {})
        # Each invoke got its own trace id, and the handler saw it.
        assert first["trace"] != last["trace"] and last["trace"].startswith("Root=1-")
        grown = last["heap"] - first["heap"]
        # The leak was ~140 bytes an invoke: 210 KB here. Allow a few pages of noise.
        assert grown < 32 * 1024, f"heap grew {grown} bytes over {INVOKES} invokes"
        # A child process of the handler sees the current trace id too.
        with_child = _invoke(conn, "warm-memory", {"child": True})
        assert with_child["child"] == with_child["trace"]
    finally:
        conn.close()
        client.delete_function(FunctionName="warm-memory")
