"""Aliases: CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases."""

from __future__ import annotations

from typing import Any

from hearth.api.functions import unqualified
from hearth.api.http import Request, Response, Router, empty_response, json_response
from hearth.api.pagination import paginate
from hearth.api.shapes import alias_configuration
from hearth.arns import ArnFormatter
from hearth.control.aliases import Aliases, parse_routing_config
from hearth.errors import ConstraintViolation, validation_error
from hearth.models import Alias

ALIASES = "/2015-03-31/functions/{FunctionName}/aliases"
ALIAS = "/2015-03-31/functions/{FunctionName}/aliases/{Name}"


def _required_str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    field = key[0].lower() + key[1:]
    if value is None:
        raise validation_error([ConstraintViolation(field, None, "Member must not be null")])
    if not isinstance(value, str):
        raise validation_error([ConstraintViolation(field, value, "Member must be a string")])
    return value


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise validation_error(
            [ConstraintViolation(key[0].lower() + key[1:], value, "Member must be a string")]
        )
    return value


def _alias_key(alias: Alias) -> str:
    return alias.name


class AliasesApi:
    def __init__(self, aliases: Aliases, arns: ArnFormatter) -> None:
        self._aliases = aliases
        self._arns = arns

    def register(self, router: Router) -> None:
        router.add("CreateAlias", "POST", ALIASES, self.create)
        router.add("ListAliases", "GET", ALIASES, self.list)
        router.add("GetAlias", "GET", ALIAS, self.get)
        router.add("UpdateAlias", "PUT", ALIAS, self.update)
        router.add("DeleteAlias", "DELETE", ALIAS, self.delete)

    def _shape(self, alias: Alias) -> dict[str, Any]:
        return alias_configuration(alias, self._arns)

    async def create(self, request: Request) -> Response:
        function_name = unqualified(request)
        body = request.json()
        alias = self._aliases.create(
            function_name,
            _required_str(body, "Name"),
            _required_str(body, "FunctionVersion"),
            description=_optional_str(body, "Description") or "",
            routing_weights=parse_routing_config(body.get("RoutingConfig")),
        )
        return json_response(self._shape(alias), 201)

    async def list(self, request: Request) -> Response:
        function_name = unqualified(request)
        # An empty `?FunctionVersion=` filters nothing, as an absent one.
        version = request.query_value("FunctionVersion") or None
        aliases = self._aliases.list(function_name, version)
        page, marker = paginate(aliases, request, key=_alias_key)
        shape: dict[str, Any] = {"Aliases": [self._shape(a) for a in page]}
        if marker:
            shape["NextMarker"] = marker
        return json_response(shape)

    async def get(self, request: Request) -> Response:
        alias = self._aliases.get(unqualified(request), request.params["Name"])
        return json_response(self._shape(alias))

    async def update(self, request: Request) -> Response:
        function_name = unqualified(request)
        body = request.json()
        alias = self._aliases.update(
            function_name,
            request.params["Name"],
            function_version=_optional_str(body, "FunctionVersion"),
            description=_optional_str(body, "Description"),
            routing_weights=parse_routing_config(body.get("RoutingConfig")),
            revision_id=_optional_str(body, "RevisionId") or None,
        )
        return json_response(self._shape(alias))

    async def delete(self, request: Request) -> Response:
        self._aliases.delete(unqualified(request), request.params["Name"])
        return empty_response(204)
