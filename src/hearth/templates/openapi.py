"""The methods and routes of an API Gateway `Body` (the Swagger 2.0 / OpenAPI 3 document SAM
writes for `AWS::Serverless::Api` / `HttpApi` and implicit APIs), read as API Gateway's import
reads it: each path's operations, their `x-amazon-apigateway-integration`, and the Lambda
authorizers their `security` names. Pure: api_deployer.py makes the calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hearth.templates.errors import TemplateError

ANY_METHOD = "x-amazon-apigateway-any-method"
_VERBS = {"get", "put", "post", "delete", "options", "head", "patch", ANY_METHOD}
_INTEGRATION = "x-amazon-apigateway-integration"
_AUTHORIZER = "x-amazon-apigateway-authorizer"


@dataclass(frozen=True)
class AuthorizerSpec:
    """A Lambda authorizer (`type: token | request`, REST; `request`, HTTP APIs)."""

    name: str
    kind: str  # TOKEN or REQUEST
    uri: str
    identity_sources: tuple[str, ...]
    ttl_seconds: int | None
    payload_version: str | None = None  # HTTP APIs
    simple_responses: bool = False  # HTTP APIs


@dataclass(frozen=True)
class Operation:
    """One method of one path (REST) or one route (HTTP): `verb` is GET, ANY...; `path` is
    `/items/{id}` or `$default`."""

    path: str
    verb: str
    integration_type: str
    integration_uri: str
    integration_method: str
    payload_version: str | None
    authorizer: str | None = None  # the AuthorizerSpec's name

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.verb} {self.path}"


@dataclass(frozen=True)
class ApiBody:
    title: str
    operations: tuple[Operation, ...]
    authorizers: dict[str, AuthorizerSpec] = field(default_factory=dict)
    binary_media_types: tuple[str, ...] = ()


def read_body(body: Any, place: str) -> ApiBody:
    """The operations of ``body``; TemplateError (at ``place``) for what cannot be run."""
    if not isinstance(body, dict) or not isinstance(body.get("paths"), dict):
        raise TemplateError(place, "Body must be an OpenAPI document with paths")
    authorizers = _authorizers(body, place)
    default_security = body.get("security")
    operations: list[Operation] = []
    for path, item in body["paths"].items():
        if not isinstance(item, dict):
            raise TemplateError(f"{place}.paths.{path}", "must be a mapping")
        for key, operation in item.items():
            if key.lower() not in _VERBS or not isinstance(operation, dict):
                continue  # parameters, summary, x-... extensions of the path
            where = f"{place}.paths.{path}.{key}"
            integration = operation.get(_INTEGRATION)
            if not isinstance(integration, dict):
                raise TemplateError(where, f"has no {_INTEGRATION}")
            kind = str(integration.get("type", "")).upper()
            if kind not in ("AWS_PROXY", "MOCK", "HTTP_PROXY"):
                raise TemplateError(where, f"integration type {kind or '?'} is not run by Hearth")
            verb = "ANY" if key == ANY_METHOD else key.upper()
            version = integration.get("payloadFormatVersion")
            operations.append(
                Operation(
                    path=str(path),
                    verb=verb,
                    integration_type=kind,
                    integration_uri=str(integration.get("uri", "")),
                    integration_method=str(integration.get("httpMethod", "POST")).upper(),
                    payload_version=str(version) if version is not None else None,
                    authorizer=_security(
                        operation.get("security", default_security), authorizers, where
                    ),
                )
            )
    info = body.get("info")
    info = info if isinstance(info, dict) else {}
    binary = body.get("x-amazon-apigateway-binary-media-types") or ()
    return ApiBody(
        str(info.get("title", "")), tuple(operations), authorizers, tuple(map(str, binary))
    )


def _security(security: Any, authorizers: dict[str, AuthorizerSpec], where: str) -> str | None:
    """The Lambda authorizer an operation's `security` names (None: open). A scheme Hearth
    does not run (IAM, Cognito, API keys) is refused rather than left open."""
    if not security:
        return None
    names = [name for requirement in security for name in (requirement or {})]
    for name in names:
        if name in authorizers:
            return str(name)
        if name in ("NONE",):
            return None
    raise TemplateError(
        where, f"security {', '.join(names)}: only Lambda authorizers are run by Hearth"
    )


def _authorizers(body: dict[str, Any], place: str) -> dict[str, AuthorizerSpec]:
    schemes = dict(body.get("securityDefinitions") or {})
    components = body.get("components")
    if isinstance(components, dict):
        schemes.update(components.get("securitySchemes") or {})
    found: dict[str, AuthorizerSpec] = {}
    for name, scheme in schemes.items():
        spec = scheme.get(_AUTHORIZER) if isinstance(scheme, dict) else None
        if not isinstance(spec, dict) or str(spec.get("type", "")).lower() not in (
            "token",
            "request",
        ):
            continue  # IAM, Cognito, JWT, API keys: refused where an operation uses them
        sources = spec.get("identitySource")
        if isinstance(sources, str):
            identity = tuple(s.strip() for s in sources.split(",") if s.strip())
        elif isinstance(sources, list):
            identity = tuple(map(str, sources))
        else:
            header = scheme.get("name", "Authorization")
            identity = (f"method.request.header.{header}",)
        ttl = spec.get("authorizerResultTtlInSeconds")
        version = spec.get("authorizerPayloadFormatVersion")
        found[str(name)] = AuthorizerSpec(
            name=str(name),
            kind=str(spec["type"]).upper(),
            uri=str(spec.get("authorizerUri", "")),
            identity_sources=identity,
            ttl_seconds=int(ttl) if ttl is not None else None,
            payload_version=str(version) if version is not None else None,
            simple_responses=bool(spec.get("enableSimpleResponses", False)),
        )
        if not found[str(name)].uri:
            raise TemplateError(f"{place}.securityDefinitions.{name}", "has no authorizerUri")
    return found
