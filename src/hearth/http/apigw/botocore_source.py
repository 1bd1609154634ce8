"""API definitions read through botocore from an AWS-compatible API Gateway endpoint.

Reads are blocking botocore calls, so they run in a thread; an answer is kept for a second,
so a burst of requests costs one read and a change (a new route, a deployment) shows within
about a second.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from hearth.http.apigw.definitions import (
    Api,
    Authorizer,
    Integration,
    Method,
    Resource,
    Route,
)

CACHE_SECONDS = 1.0


def _client(
    service: str, endpoint_url: str | None, region: str, key_pair: tuple[str, str] | None
) -> Any:
    session = botocore.session.get_session()
    credentials = session.get_credentials()
    if key_pair is not None:
        key, secret = key_pair
    else:
        # An embedded or emulated endpoint takes any key: don't fail for want of one.
        key = credentials.access_key if credentials else "hearth"
        secret = credentials.secret_key if credentials else "hearth"
    return session.create_client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5),
    )


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("NotFoundException", "NotFound")


class BotocoreApiDefinitions:
    def __init__(self, endpoint_url: str | None, region: str) -> None:
        self._endpoint_url = endpoint_url
        self._region = region
        self._key_pair: tuple[str, str] | None = None
        self._clients: dict[str, Any] = {}
        self._cache: dict[str, tuple[float, Api | None]] = {}

    def point_at(self, endpoint_url: str, key_pair: tuple[str, str]) -> None:
        """Read from `endpoint_url` with this key pair from now on: the embedded services on
        Hearth's own port, once it listens."""
        self._endpoint_url = endpoint_url
        self._key_pair = key_pair
        self._clients.clear()
        self._cache.clear()

    def _of(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = _client(
                service, self._endpoint_url, self._region, self._key_pair
            )
        return self._clients[service]

    async def api(self, api_id: str) -> Api | None:
        cached = self._cache.get(api_id)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        api = await asyncio.to_thread(self._read, api_id)
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[api_id] = (time.monotonic(), api)
        return api

    def _read(self, api_id: str) -> Api | None:
        try:
            self._of("apigatewayv2").get_api(ApiId=api_id)
            return self._http_api(api_id)
        except ClientError as error:
            if not _missing(error):
                raise
        try:
            rest = self._of("apigateway").get_rest_api(restApiId=api_id)
        except ClientError as error:
            if _missing(error):
                return None
            raise
        return self._rest_api(api_id, tuple(rest.get("binaryMediaTypes") or ()))

    def _rest_api(self, api_id: str, binary_media_types: tuple[str, ...]) -> Api:
        client = self._of("apigateway")
        items = client.get_resources(restApiId=api_id, limit=500, embed=["methods"])["items"]
        resources = []
        for item in items:
            methods = {}
            for verb, method in (item.get("resourceMethods") or {}).items():
                found = method.get("methodIntegration")
                integration = (
                    Integration(found.get("type", ""), found.get("uri", ""), "1.0")
                    if found
                    else None
                )
                methods[verb] = Method(
                    integration, method.get("authorizationType", "NONE"), method.get("authorizerId")
                )
            resources.append(Resource(item["path"], methods))
        stages = {
            s["stageName"]: dict(s.get("variables") or {})
            for s in client.get_stages(restApiId=api_id).get("item", [])
        }
        authorizers = {
            a["id"]: Authorizer(
                id=a["id"],
                kind=a.get("type", "TOKEN"),
                function_uri=a.get("authorizerUri", ""),
                identity_sources=tuple(
                    s.strip() for s in (a.get("identitySource") or "").split(",") if s.strip()
                ),
                ttl_seconds=int(a.get("authorizerResultTtlInSeconds", 300)),
            )
            for a in client.get_authorizers(restApiId=api_id, limit=500).get("items", [])
        }
        return Api(
            api_id,
            "rest",
            stages,
            resources=tuple(resources),
            authorizers=authorizers,
            binary_media_types=binary_media_types,
        )

    def _http_api(self, api_id: str) -> Api:
        client = self._of("apigatewayv2")
        integrations = {
            i["IntegrationId"]: Integration(
                i.get("IntegrationType", ""),
                i.get("IntegrationUri", ""),
                i.get("PayloadFormatVersion", "2.0"),
            )
            for i in client.get_integrations(ApiId=api_id, MaxResults="500").get("Items", [])
        }
        routes = []
        for item in client.get_routes(ApiId=api_id, MaxResults="500").get("Items", []):
            target = item.get("Target") or ""
            integration = integrations.get(target.removeprefix("integrations/"))
            routes.append(
                Route(
                    item["RouteKey"],
                    Method(
                        integration,
                        item.get("AuthorizationType", "NONE"),
                        item.get("AuthorizerId"),
                    ),
                )
            )
        stages = {
            s["StageName"]: dict(s.get("StageVariables") or {})
            for s in client.get_stages(ApiId=api_id, MaxResults="500").get("Items", [])
        }
        # One GetAuthorizer per authorizer the routes use (moto has no GetAuthorizers).
        used = {r.method.authorizer_id for r in routes if r.method.authorizer_id}
        found = [client.get_authorizer(ApiId=api_id, AuthorizerId=i) for i in sorted(used)]
        authorizers = {
            a["AuthorizerId"]: Authorizer(
                id=a["AuthorizerId"],
                kind=a.get("AuthorizerType", "REQUEST"),
                function_uri=a.get("AuthorizerUri", ""),
                identity_sources=tuple(a.get("IdentitySource") or ()),
                ttl_seconds=int(a.get("AuthorizerResultTtlInSeconds", 0)),
                payload_version=a.get("AuthorizerPayloadFormatVersion", "2.0"),
                simple_responses=bool(a.get("EnableSimpleResponses", False)),
            )
            for a in found
        }
        return Api(api_id, "http", stages, routes=tuple(routes), authorizers=authorizers)
