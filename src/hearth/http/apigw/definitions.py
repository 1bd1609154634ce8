"""What Hearth needs to know about an API, and where it reads it from.

`ApiDefinitions` is the source: `BotocoreApiDefinitions` reads any AWS-compatible API Gateway
endpoint (the embedded services, moto's server, LocalStack, AWS); `MemoryApiDefinitions` is
the fake for tests. The records are plain frozen data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Authorizer:
    """A Lambda authorizer. `kind`: TOKEN or REQUEST. `identity_sources`: AWS's expressions
    (`method.request.header.Authorization`, `$request.header.Authorization`...)."""

    id: str
    kind: str
    function_uri: str
    identity_sources: tuple[str, ...]
    ttl_seconds: int = 300
    # HTTP APIs: the payload version sent to the authorizer and the simple-response form.
    payload_version: str = "1.0"
    simple_responses: bool = False


@dataclass(frozen=True)
class Integration:
    """Where a method or route sends its requests: a Lambda proxy integration."""

    kind: str
    uri: str
    payload_version: str = "1.0"


@dataclass(frozen=True)
class Method:
    integration: Integration | None
    authorization_type: str = "NONE"
    authorizer_id: str | None = None


@dataclass(frozen=True)
class Resource:
    """A REST API resource: its full path template and its methods (`ANY` included)."""

    path: str
    methods: dict[str, Method] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """An HTTP API route: `GET /items/{id}`, `ANY /{proxy+}` or `$default`."""

    key: str
    method: Method


@dataclass(frozen=True)
class Api:
    """A REST API (`rest`) or an HTTP API (`http`). `stages`: stage name → stage variables."""

    id: str
    kind: str
    stages: dict[str, dict[str, str]]
    resources: tuple[Resource, ...] = ()
    routes: tuple[Route, ...] = ()
    authorizers: dict[str, Authorizer] = field(default_factory=dict)
    # REST APIs: the content types whose base64 bodies are decoded (`*/*`: all).
    binary_media_types: tuple[str, ...] = ()


class ApiDefinitions(Protocol):
    """Guarantees: `api` answers the definition as it stands (at most a second or so old),
    or None for an id no API has; it raises only for a source that cannot be reached."""

    async def api(self, api_id: str) -> Api | None: ...


class MemoryApiDefinitions:
    """The in-memory fake."""

    def __init__(self, *apis: Api) -> None:
        self.apis = {api.id: api for api in apis}

    async def api(self, api_id: str) -> Api | None:
        return self.apis.get(api_id)
