"""Requests relayed from a network-none sandbox reach the embedded services only."""

from __future__ import annotations

import asyncio
from typing import Any

from hearth.api.http import PEER_SCOPE_KEY
from hearth.sandbox.peers import TcpPeer
from hearth.services.relay_guard import RelayGuard

SANDBOX = ("127.0.0.1", 50001)
SANDBOX_PEER = TcpPeer(990007, owned=True)


def _sign(service: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential=ASIAX/20261201/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host, Signature=00"
    )


def _status(
    client: tuple[str, int],
    headers: dict[str, str],
    path: str = "/",
    peers: list[Any] | None = None,
) -> int:
    reached: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(True)
        if peers is not None:
            peers.append(scope.get(PEER_SCOPE_KEY))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    guard = RelayGuard(app, lambda c: SANDBOX_PEER if c == SANDBOX else None)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": client,
        PEER_SCOPE_KEY: TcpPeer(0, owned=True),  # what the edge saw: the relay, root's
    }
    asyncio.run(guard(scope, receive, send))
    status: int = sent[0]["status"]
    assert (status == 200) == bool(reached)
    return status


def test_a_sandbox_reaches_the_embedded_services() -> None:
    for service in ("s3", "dynamodb", "sqs", "sns", "events", "scheduler"):
        assert _status(SANDBOX, {"authorization": _sign(service)}) == 200


def test_a_sandbox_does_not_reach_hearths_own_api() -> None:
    for service in ("lambda", "logs", "monitoring", "unknown"):
        assert _status(SANDBOX, {"authorization": _sign(service)}) == 403
    assert _status(SANDBOX, {}, "/_hearth/health") == 403  # unsigned: the console, health
    assert _status(SANDBOX, {"host": "abc.lambda-url.us-east-1.localhost"}) == 403


def test_other_clients_are_not_guarded() -> None:
    assert _status(("127.0.0.1", 50002), {"authorization": _sign("lambda")}) == 200
    assert _status(("10.0.0.5", 50001), {}) == 200


def test_a_relayed_request_is_the_sandboxs_not_the_relays() -> None:
    # The embedded IAM reads the peer to hold a function to its role: it must be the
    # sandbox's uid, not the relay's (which is Hearth's own, the operator's).
    peers: list[Any] = []
    assert _status(SANDBOX, {"authorization": _sign("iam")}, peers=peers) == 200
    assert peers == [SANDBOX_PEER]
    peers.clear()
    assert _status(("127.0.0.1", 50002), {"authorization": _sign("iam")}, peers=peers) == 200
    assert peers == [TcpPeer(0, owned=True)]
