"""Calls a LambdaApp in-process, as uvicorn would, for API-level unit tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from hearth.api.http import LambdaApp, Message


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def call(
    app: LambdaApp,
    method: str,
    path: str,
    query: str = "",
    body: Any = None,
    *,
    host: str = "localhost",
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> Reply:
    """One request: `path` is the raw (percent-encoded) path, `body` is JSON-encoded (`raw`
    is sent as it is)."""
    payload = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "method": method,
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [
            (b"host", host.encode()),
            (b"content-length", str(len(payload)).encode()),
            *extra,
        ],
        # The address uvicorn reports the connection arrived on (what URLs are built from).
        "server": (host.partition(":")[0], int(host.partition(":")[2] or 80)),
    }
    sent: list[Message] = []
    received = False

    async def receive() -> Message:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": payload, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, content = sent
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return Reply(start["status"], headers, content["body"])
