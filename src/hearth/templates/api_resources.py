"""Handlers for API Gateway resources (what SAM makes of `AWS::Serverless::Api` / `HttpApi` and
of implicit APIs): REST APIs with a Body, their deployments and stages; HTTP APIs with a Body
(or quick-create's Target) and their stages. Served by Hearth at `ApiDeployer.url(id)`."""

from __future__ import annotations

import dataclasses
from typing import Any

from hearth.templates.errors import TemplateError
from hearth.templates.openapi import ApiBody, Operation, read_body
from hearth.templates.resources import Context
from hearth.templates.state import Deployed

API_TYPES = ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api")


def _body(props: dict[str, Any], place: str) -> dict[str, Any] | None:
    if "BodyS3Location" in props:
        raise TemplateError(place, "BodyS3Location is not read by Hearth: give the Body inline")
    body = props.get("Body")
    return body if isinstance(body, dict) else None


def _variables(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


class RestApiHandler:
    """AWS::ApiGateway::RestApi; Ref is its id. An update rebuilds it under the same id."""

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        place = f"Resources.{logical_id}.Properties"
        body = _body(props, place)
        api = read_body(body, f"{place}.Body") if body is not None else ApiBody("", ())
        binary = tuple(map(str, props.get("BinaryMediaTypes") or ())) + api.binary_media_types
        api = dataclasses.replace(api, binary_media_types=tuple(dict.fromkeys(binary)))
        name = str(props.get("Name") or api.title or logical_id)
        found = ctx.apis.put_rest_api(previous.physical_id if previous else None, name, api)
        api_id = found["RestApiId"]
        return Deployed(
            "AWS::ApiGateway::RestApi",
            api_id,
            {"RestApiId": api_id, "RootResourceId": found["RootResourceId"]},
        )

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.apis.delete_rest_api(entry.physical_id)


class DeploymentHandler:
    """AWS::ApiGateway::Deployment (its StageName is made or moved to it); Ref is its id."""

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        api_id = str(props["RestApiId"])
        stage = str(props["StageName"]) if props.get("StageName") else None
        made = ctx.apis.put_rest_deployment(api_id, stage, str(props.get("Description", "")))
        if previous is not None:
            ctx.apis.delete_rest_deployment(str(previous.attributes["Api"]), previous.physical_id)
        return Deployed("AWS::ApiGateway::Deployment", made, {"Api": api_id, "DeploymentId": made})

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.apis.delete_rest_deployment(str(entry.attributes["Api"]), entry.physical_id)


class RestStageHandler:
    """AWS::ApiGateway::Stage; Ref is the stage's name."""

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        place = f"Resources.{logical_id}.Properties"
        for key in ("RestApiId", "StageName", "DeploymentId"):
            if not props.get(key):
                raise TemplateError(place, f"{key} is required")
        api_id, stage = str(props["RestApiId"]), str(props["StageName"])
        if previous is not None and [previous.attributes.get("Api"), previous.physical_id] != [
            api_id,
            stage,
        ]:
            ctx.apis.delete_rest_stage(str(previous.attributes["Api"]), previous.physical_id)
        ctx.apis.put_rest_stage(
            api_id, stage, str(props["DeploymentId"]), _variables(props.get("Variables"))
        )
        return Deployed("AWS::ApiGateway::Stage", stage, {"Api": api_id})

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.apis.delete_rest_stage(str(entry.attributes["Api"]), entry.physical_id)


class HttpApiHandler:
    """AWS::ApiGatewayV2::Api of ProtocolType HTTP; Ref is its id, ApiEndpoint Hearth's URL."""

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        place = f"Resources.{logical_id}.Properties"
        body = _body(props, place)
        if body is None and str(props.get("ProtocolType", "HTTP")) != "HTTP":
            raise TemplateError(place, f"{props['ProtocolType']} APIs are not run by Hearth")
        if body is not None:
            api = read_body(body, f"{place}.Body")
        elif props.get("Target"):
            # Quick create: one $default route to the Lambda function named by Target.
            route = Operation("$default", "ANY", "AWS_PROXY", str(props["Target"]), "POST", "2.0")
            if props.get("RouteKey") and props["RouteKey"] != "$default":
                verb, _, path = str(props["RouteKey"]).partition(" ")
                route = dataclasses.replace(route, verb=verb, path=path)
            api = ApiBody("", (route,))
        else:
            api = ApiBody("", ())
        cors = props.get("CorsConfiguration") or (body or {}).get("x-amazon-apigateway-cors")
        name = str(props.get("Name") or api.title or logical_id)
        found = ctx.apis.put_http_api(
            previous.physical_id if previous else None, name, api, _cors(cors)
        )
        if body is None and props.get("Target"):
            ctx.apis.put_http_stage(found["ApiId"], "$default", {})
        return Deployed("AWS::ApiGatewayV2::Api", found["ApiId"], dict(found))

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.apis.delete_http_api(entry.physical_id)


def _cors(value: Any) -> dict[str, Any] | None:
    """CORS as CreateApi takes it (the OpenAPI extension spells its keys in camel case)."""
    if not isinstance(value, dict) or not value:
        return None
    names = {"alloworigins": "AllowOrigins", "allowmethods": "AllowMethods",
             "allowheaders": "AllowHeaders", "exposeheaders": "ExposeHeaders",
             "allowcredentials": "AllowCredentials", "maxage": "MaxAge"}  # fmt: skip
    found: dict[str, Any] = {}
    for key, item in value.items():
        name = names.get(str(key).lower())
        if name is None:
            continue
        if name == "MaxAge":
            found[name] = int(item)
        elif name == "AllowCredentials":
            found[name] = str(item).lower() == "true"
        else:
            found[name] = [str(v) for v in item]
    return found or None


class HttpStageHandler:
    """AWS::ApiGatewayV2::Stage; Ref is the stage's name."""

    def apply(
        self, ctx: Context, logical_id: str, props: dict[str, Any], previous: Deployed | None
    ) -> Deployed:
        place = f"Resources.{logical_id}.Properties"
        for key in ("ApiId", "StageName"):
            if not props.get(key):
                raise TemplateError(place, f"{key} is required")
        api_id, stage = str(props["ApiId"]), str(props["StageName"])
        if previous is not None and [previous.attributes.get("Api"), previous.physical_id] != [
            api_id,
            stage,
        ]:
            ctx.apis.delete_http_stage(str(previous.attributes["Api"]), previous.physical_id)
        ctx.apis.put_http_stage(api_id, stage, _variables(props.get("StageVariables")))
        return Deployed("AWS::ApiGatewayV2::Stage", stage, {"Api": api_id})

    def delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        ctx.apis.delete_http_stage(str(entry.attributes["Api"]), entry.physical_id)
