"""Aliases: CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases."""

from __future__ import annotations

from typing import Any

from hearth.api.body import optional_str, required_str
from hearth.api.functions import unqualified
from hearth.api.http import Request, Response, Router, empty_response, json_response
from hearth.api.pagination import list_response, paginate
from hearth.api.shapes import alias_configuration
from hearth.arns import ArnFormatter
from hearth.control.aliases import Aliases, parse_routing_config
from hearth.models import Alias

ALIASES = "/2015-03-31/functions/{FunctionName}/aliases"
ALIAS = "/2015-03-31/functions/{FunctionName}/aliases/{Name}"


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
            required_str(body, "Name"),
            required_str(body, "FunctionVersion"),
            description=optional_str(body, "Description") or "",
            routing_weights=parse_routing_config(body.get("RoutingConfig")),
        )
        return json_response(self._shape(alias), 201)

    async def list(self, request: Request) -> Response:
        function_name = unqualified(request)
        # An empty `?FunctionVersion=` filters nothing, as an absent one.
        version = request.query_value("FunctionVersion") or None
        aliases = self._aliases.list(function_name, version)
        page, marker = paginate(aliases, request, key=_alias_key)
        return list_response("Aliases", [self._shape(a) for a in page], marker)

    async def get(self, request: Request) -> Response:
        alias = self._aliases.get(unqualified(request), request.params["Name"])
        return json_response(self._shape(alias))

    async def update(self, request: Request) -> Response:
        function_name = unqualified(request)
        body = request.json()
        alias = self._aliases.update(
            function_name,
            request.params["Name"],
            function_version=optional_str(body, "FunctionVersion"),
            description=optional_str(body, "Description"),
            routing_weights=parse_routing_config(body.get("RoutingConfig")),
            revision_id=optional_str(body, "RevisionId") or None,
        )
        return json_response(self._shape(alias))

    async def delete(self, request: Request) -> Response:
        self._aliases.delete(unqualified(request), request.params["Name"])
        return empty_response(204)
