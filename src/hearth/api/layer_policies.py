"""AddLayerVersionPermission, GetLayerVersionPolicy, RemoveLayerVersionPermission."""

from __future__ import annotations

import json

from hearth.api.http import Request, Response, Router, empty_response, json_response
from hearth.arns import parse_layer_name
from hearth.control.layer_policies import LayerPolicies
from hearth.errors import ConstraintViolation, validation_error

POLICY = "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy"


def _layer(request: Request) -> tuple[str, int]:
    raw = request.params["VersionNumber"]
    if not raw.isdigit():
        raise validation_error(
            [ConstraintViolation("versionNumber", raw, "Member must be a number")]
        )
    return parse_layer_name(request.params["LayerName"]), int(raw)


class LayerPoliciesApi:
    def __init__(self, policies: LayerPolicies) -> None:
        self._policies = policies

    def register(self, router: Router) -> None:
        router.add("AddLayerVersionPermission", "POST", POLICY, self.add)
        router.add("GetLayerVersionPolicy", "GET", POLICY, self.get)
        router.add("RemoveLayerVersionPermission", "DELETE", POLICY + "/{StatementId}", self.remove)

    async def add(self, request: Request) -> Response:
        name, number = _layer(request)
        body = {**request.json()}
        if request.query_value("RevisionId"):
            body["RevisionId"] = request.query_value("RevisionId")
        statement, revision = self._policies.add(name, number, body)
        return json_response(
            {"Statement": json.dumps(statement, separators=(",", ":")), "RevisionId": revision},
            201,
        )

    async def get(self, request: Request) -> Response:
        document, revision = self._policies.get(*_layer(request))
        return json_response(
            {"Policy": json.dumps(document, separators=(",", ":")), "RevisionId": revision}
        )

    async def remove(self, request: Request) -> Response:
        name, number = _layer(request)
        self._policies.remove(
            name, number, request.params["StatementId"], request.query_value("RevisionId")
        )
        return empty_response(204)
