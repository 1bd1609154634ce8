"""Resource-based policies: AddPermission, GetPolicy, RemovePermission."""

from __future__ import annotations

from hearth.api.functions import function_ref
from hearth.api.http import Request, Response, Router, empty_response, json_response
from hearth.control.policies import Policies, policy_json

POLICY = "/2015-03-31/functions/{FunctionName}/policy"
STATEMENT = "/2015-03-31/functions/{FunctionName}/policy/{StatementId}"


class PoliciesApi:
    def __init__(self, policies: Policies) -> None:
        self._policies = policies

    def register(self, router: Router) -> None:
        router.add("AddPermission", "POST", POLICY, self.add_permission)
        router.add("GetPolicy", "GET", POLICY, self.get_policy)
        router.add("RemovePermission", "DELETE", STATEMENT, self.remove_permission)

    async def add_permission(self, request: Request) -> Response:
        statement = self._policies.add_permission(function_ref(request), request.json())
        # AWS returns the statement as a JSON string inside the JSON answer.
        return json_response({"Statement": policy_json(statement)}, 201)

    async def get_policy(self, request: Request) -> Response:
        view = self._policies.get_policy(function_ref(request))
        return json_response({"Policy": policy_json(view.document), "RevisionId": view.revision_id})

    async def remove_permission(self, request: Request) -> Response:
        self._policies.remove_permission(
            function_ref(request),
            request.params["StatementId"],
            request.query_value("RevisionId") or None,
        )
        return empty_response(204)
