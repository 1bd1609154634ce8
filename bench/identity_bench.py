"""Identity benchmark: what telling a function's request to Hearth's API apart costs.

In-process, one run on one machine, medians of many repetitions:
- peer lookup: the kernel asked who owns a loopback connection's peer socket (NETLINK
  sock_diag), once per connection, on the event loop, when Hearth sandboxes;
- with `--isolation process`, for a connection of the operator's: its socket looked for
  among the fds of 10 environments' process trees (and found in none), in a thread, once
  per connection;
- the operator's request: `FunctionAccess.authorize` on a request from a host uid (what every
  request that is not a function's pays);
- a function's request, decided by its role's policy: from the in-memory policies, and from
  the embedded IAM (moto, on its thread: the real path).

    .venv/bin/python bench/identity_bench.py           # writes bench/results/identity.json
    .venv/bin/python bench/identity_bench.py --quick   # a second or two
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from hearth.api.http import Request
from hearth.arns import ArnFormatter
from hearth.invoke.identities import FunctionIdentity, SandboxIdentities
from hearth.invoke.process_identities import ProcessIdentities
from hearth.sandbox.isolation import FIRST_UID
from hearth.sandbox.peers import TcpPeer
from hearth.services.credentials import FunctionCredentials
from hearth.services.embedded import EmbeddedServices
from hearth.services.function_access import FunctionAccess, peer_lookup
from hearth.services.role_policies import EmbeddedIamPolicies, RolePolicies, StaticPolicies
from hearth.services.role_sessions import DerivedSessions, RoleSessions

RESULTS = Path(__file__).parent / "results"
ARNS = ArnFormatter("us-east-1", "123456789012")
ROLE = "arn:aws:iam::123456789012:role/bench"
ALLOW = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "lambda:GetFunction*", "Resource": "*"}],
    }
)


def _median_us(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1e6, 1)


def peer_lookup_us(n: int) -> float:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        accepted, peer = server.accept()
        with client, accepted:
            local = accepted.getsockname()
            samples = []
            for _ in range(n):
                started = time.perf_counter()
                peer_lookup(peer, local)
                samples.append(time.perf_counter() - started)
    return _median_us(samples)


def process_peer_lookup_us(n: int, environments: int = 10) -> float:
    """An operator's connection with `environments` plain-process environments running."""
    processes = ProcessIdentities()
    sleepers = [
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        for _ in range(environments)
    ]
    try:
        for sleeper in sleepers:
            processes.bind(sleeper.pid, FunctionIdentity("bench-fn", ROLE))
        with socket.create_server(("127.0.0.1", 0)) as server:
            client = socket.create_connection(server.getsockname())
            accepted, _ = server.accept()
            with client, accepted:
                inode = os.fstat(client.fileno()).st_ino
                samples = []
                for _ in range(n):
                    started = time.perf_counter()
                    found = processes.owner_of(inode)
                    samples.append(time.perf_counter() - started)
                assert found is None, found  # the operator's: no environment's
    finally:
        for sleeper in sleepers:
            sleeper.kill()
            sleeper.wait()
    return _median_us(samples)


def _access(policies: RolePolicies) -> FunctionAccess:
    identities = SandboxIdentities()
    identities.bind(FIRST_UID, FunctionIdentity("bench-fn", ROLE))
    sessions = RoleSessions(DerivedSessions(FunctionCredentials(os.urandom(32))))
    return FunctionAccess(sessions, identities, policies, ARNS)


def _request(peer: object) -> Request:
    return Request(
        "GET",
        "/2015-03-31/functions/target/configuration",
        "",
        {"authorization": "AWS4-HMAC-SHA256 Credential=hearth-test/20260101/us-east-1/lambda/"},
        b"",
        operation="GetFunctionConfiguration",
        params={"FunctionName": "target"},
        peer=peer,
    )


async def _time(n: int, call: Callable[[], Awaitable[None]]) -> float:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return _median_us(samples)


async def authorize_us(n: int) -> dict[str, float]:
    static = _access(StaticPolicies({ROLE: [ALLOW]}))
    operator = _request(TcpPeer(os.getuid(), owned=True))
    function = _request(TcpPeer(FIRST_UID, owned=True))
    embedded = EmbeddedServices("123456789012")

    def make_role() -> None:
        from moto.iam.models import iam_backends

        backend = iam_backends["123456789012"]["aws"]
        backend.create_role("bench", "{}", "/", None, "", [], None)
        backend.put_role_policy("bench", "allow", ALLOW)

    await embedded.run(make_role)
    real = _access(EmbeddedIamPolicies(embedded, "us-east-1"))
    figures = {
        "operator_request_us": await _time(n, lambda: static.authorize(operator)),
        "function_request_static_policies_us": await _time(n, lambda: static.authorize(function)),
        "function_request_embedded_iam_us": await _time(n, lambda: real.authorize(function)),
    }
    embedded.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "identity.json")
    args = parser.parse_args()
    n = 200 if args.quick else 5000
    results: dict[str, Any] = {"repetitions": n, "peer_lookup_us": peer_lookup_us(n)}
    results["process_mode_peer_lookup_10_environments_us"] = process_peer_lookup_us(n)
    results.update(asyncio.run(authorize_us(n)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
