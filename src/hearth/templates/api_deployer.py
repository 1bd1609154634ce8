"""API Gateway REST and HTTP APIs in the companion services, from a template's `Body`, for
`hearth up`. The API is built from its methods, routes and integrations (openapi.py reads
them) rather than imported, so the same calls work on any API Gateway endpoint. An update
keeps the API's id, and with it every URL already handed out. Same contract as
deployer.Deployer: one resource each, DeployError on refusal, deleting what is gone is fine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from hearth.templates.boto_deployer import _translated
from hearth.templates.openapi import ApiBody

_GONE = {"NotFoundException", "NotFound"}
# Deleting a deployment a stage still uses: it stays (it costs nothing) rather than fail.
_IN_USE = {"BadRequestException", "ConflictException"}


def local_api_url(endpoint_url: str, api_id: str) -> str:
    """Where Hearth serves an API: ``http://<id>.execute-api.localhost:<port>``."""
    port = urlsplit(endpoint_url).port
    authority = f"{api_id}.execute-api.localhost" + (f":{port}" if port and port != 80 else "")
    return f"http://{authority}"


class ApiDeployer:
    """REST APIs (apigateway) and HTTP APIs (apigatewayv2) through boto3 clients."""

    def __init__(self, clients: Callable[[str], Any], endpoint_url: str) -> None:
        self._clients = clients
        self._endpoint_url = endpoint_url
        self._made: dict[str, Any] = {}

    def _client(self, service: str) -> Any:
        if service not in self._made:
            self._made[service] = self._clients(service)
        return self._made[service]

    def url(self, api_id: str) -> str:
        return local_api_url(self._endpoint_url, api_id)

    def _exists(self, call: Callable[[], Any]) -> bool:
        try:
            call()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _GONE:
                return False
            raise
        return True

    # REST APIs -----------------------------------------------------------------------

    def put_rest_api(self, api_id: str | None, name: str, body: ApiBody) -> dict[str, str]:
        """Create the API (or empty the one of ``api_id``) and build ``body``'s methods;
        returns RestApiId and RootResourceId."""
        client = self._client("apigateway")
        with _translated():
            if api_id is None or not self._exists(lambda: client.get_rest_api(restApiId=api_id)):
                api_id = str(client.create_rest_api(name=name or "api")["id"])
            else:
                self._empty_rest_api(api_id)
            if body.binary_media_types:
                client.update_rest_api(
                    restApiId=api_id,
                    patchOperations=[
                        {"op": "add", "path": "/binaryMediaTypes/" + t.replace("/", "~1")}
                        for t in body.binary_media_types
                    ],
                )
            authorizers = {
                spec.name: str(
                    client.create_authorizer(
                        restApiId=api_id,
                        name=spec.name,
                        type=spec.kind,
                        authorizerUri=spec.uri,
                        identitySource=",".join(spec.identity_sources),
                        **(
                            {"authorizerResultTtlInSeconds": spec.ttl_seconds}
                            if spec.ttl_seconds is not None
                            else {}
                        ),
                    )["id"]
                )
                for spec in body.authorizers.values()
            }
            resources = {
                item["path"]: item["id"]
                for item in client.get_resources(restApiId=api_id, limit=500)["items"]
            }
            for operation in body.operations:
                resource = self._resource(api_id, operation.path, resources)
                extra = (
                    {"authorizerId": authorizers[operation.authorizer]}
                    if operation.authorizer
                    else {}
                )
                client.put_method(
                    restApiId=api_id,
                    resourceId=resource,
                    httpMethod=operation.verb,
                    authorizationType="CUSTOM" if operation.authorizer else "NONE",
                    **extra,
                )
                client.put_integration(
                    restApiId=api_id,
                    resourceId=resource,
                    httpMethod=operation.verb,
                    type=operation.integration_type,
                    integrationHttpMethod=operation.integration_method,
                    uri=operation.integration_uri,
                )
            return {"RestApiId": api_id, "RootResourceId": resources["/"]}

    def _resource(self, api_id: str, path: str, resources: dict[str, str]) -> str:
        """The id of ``path``'s resource, made (with its parents) when missing."""
        if path in resources:
            return resources[path]
        parent_path, _, part = path.rstrip("/").rpartition("/")
        parent = self._resource(api_id, parent_path or "/", resources)
        made = self._client("apigateway").create_resource(
            restApiId=api_id, parentId=parent, pathPart=part
        )
        resources[path] = str(made["id"])
        return resources[path]

    def _empty_rest_api(self, api_id: str) -> None:
        client = self._client("apigateway")
        items = client.get_resources(restApiId=api_id, limit=500)["items"]
        # Children first: a resource is deleted before its parent.
        for item in sorted(items, key=lambda i: -len(i["path"])):
            if item["path"] == "/":
                for verb in item.get("resourceMethods") or {}:
                    client.delete_method(restApiId=api_id, resourceId=item["id"], httpMethod=verb)
            else:
                client.delete_resource(restApiId=api_id, resourceId=item["id"])
        for authorizer in client.get_authorizers(restApiId=api_id).get("items", []):
            client.delete_authorizer(restApiId=api_id, authorizerId=authorizer["id"])

    def delete_rest_api(self, api_id: str) -> None:
        client = self._client("apigateway")
        with _translated():
            self._gone_ok(lambda: client.delete_rest_api(restApiId=api_id))

    def put_rest_deployment(self, api_id: str, stage: str | None, description: str) -> str:
        client = self._client("apigateway")
        extra = {"stageName": stage} if stage else {}
        with _translated():
            made = client.create_deployment(restApiId=api_id, description=description, **extra)
            return str(made["id"])

    def delete_rest_deployment(self, api_id: str, deployment_id: str) -> None:
        client = self._client("apigateway")
        with _translated():
            self._gone_ok(
                lambda: client.delete_deployment(restApiId=api_id, deploymentId=deployment_id),
                also=_IN_USE,
            )

    def put_rest_stage(
        self, api_id: str, stage: str, deployment_id: str, variables: dict[str, str]
    ) -> None:
        client = self._client("apigateway")
        with _translated():
            self._gone_ok(lambda: client.delete_stage(restApiId=api_id, stageName=stage))
            client.create_stage(
                restApiId=api_id, stageName=stage, deploymentId=deployment_id, variables=variables
            )

    def delete_rest_stage(self, api_id: str, stage: str) -> None:
        client = self._client("apigateway")
        with _translated():
            self._gone_ok(lambda: client.delete_stage(restApiId=api_id, stageName=stage))

    # HTTP APIs -----------------------------------------------------------------------

    def put_http_api(
        self, api_id: str | None, name: str, body: ApiBody, cors: dict[str, Any] | None
    ) -> dict[str, str]:
        """Create the API (or empty the one of ``api_id``) and build ``body``'s routes;
        returns ApiId and ApiEndpoint (Hearth's URL of it)."""
        client = self._client("apigatewayv2")
        with _translated():
            if api_id is None or not self._exists(lambda: client.get_api(ApiId=api_id)):
                extra = {"CorsConfiguration": cors} if cors else {}
                api_id = str(
                    client.create_api(Name=name or "api", ProtocolType="HTTP", **extra)["ApiId"]
                )
            else:
                self._empty_http_api(api_id)
                if cors:
                    client.update_api(ApiId=api_id, CorsConfiguration=cors)
            authorizers = {}
            for spec in body.authorizers.values():
                params: dict[str, Any] = {
                    "ApiId": api_id,
                    "Name": spec.name,
                    "AuthorizerType": "REQUEST",
                    "AuthorizerUri": spec.uri,
                    "IdentitySource": list(spec.identity_sources),
                    "AuthorizerPayloadFormatVersion": spec.payload_version or "2.0",
                    "EnableSimpleResponses": spec.simple_responses,
                }
                if spec.ttl_seconds is not None:
                    params["AuthorizerResultTtlInSeconds"] = spec.ttl_seconds
                authorizers[spec.name] = str(client.create_authorizer(**params)["AuthorizerId"])
            for operation in body.operations:
                integration = client.create_integration(
                    ApiId=api_id,
                    IntegrationType=operation.integration_type,
                    IntegrationUri=operation.integration_uri,
                    IntegrationMethod=operation.integration_method,
                    PayloadFormatVersion=operation.payload_version or "2.0",
                )["IntegrationId"]
                route: dict[str, Any] = {
                    "ApiId": api_id,
                    "RouteKey": operation.route_key,
                    "Target": f"integrations/{integration}",
                    "AuthorizationType": "CUSTOM" if operation.authorizer else "NONE",
                }
                if operation.authorizer:
                    route["AuthorizerId"] = authorizers[operation.authorizer]
                client.create_route(**route)
            return {"ApiId": api_id, "ApiEndpoint": self.url(api_id)}

    def _empty_http_api(self, api_id: str) -> None:
        client = self._client("apigatewayv2")
        for route in client.get_routes(ApiId=api_id, MaxResults="500").get("Items", []):
            client.delete_route(ApiId=api_id, RouteId=route["RouteId"])
        for item in client.get_integrations(ApiId=api_id, MaxResults="500").get("Items", []):
            client.delete_integration(ApiId=api_id, IntegrationId=item["IntegrationId"])
        try:
            found = client.get_authorizers(ApiId=api_id, MaxResults="500").get("Items", [])
        except ClientError:
            found = []  # moto has no GetAuthorizers: the old ones stay, unused by any route
        for item in found:
            client.delete_authorizer(ApiId=api_id, AuthorizerId=item["AuthorizerId"])

    def delete_http_api(self, api_id: str) -> None:
        client = self._client("apigatewayv2")
        with _translated():
            self._gone_ok(lambda: client.delete_api(ApiId=api_id))

    def put_http_stage(self, api_id: str, stage: str, variables: dict[str, str]) -> None:
        client = self._client("apigatewayv2")
        with _translated():
            self._gone_ok(lambda: client.delete_stage(ApiId=api_id, StageName=stage))
            client.create_stage(
                ApiId=api_id, StageName=stage, AutoDeploy=True, StageVariables=variables
            )

    def delete_http_stage(self, api_id: str, stage: str) -> None:
        client = self._client("apigatewayv2")
        with _translated():
            self._gone_ok(lambda: client.delete_stage(ApiId=api_id, StageName=stage))

    def _gone_ok(self, call: Callable[[], Any], also: set[str] | None = None) -> None:
        try:
            call()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _GONE | (also or set()):
                raise
