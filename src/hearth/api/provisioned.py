"""Put/Get/Delete/ListProvisionedConcurrencyConfig(s)."""

from __future__ import annotations

from hearth.api.functions import function_ref, unqualified
from hearth.api.http import Request, Response, Router, empty_response, json_response
from hearth.api.pagination import list_response, paginate
from hearth.control.provisioned import ProvisionedConfigs, check_requested

PATH = "/2019-09-30/functions/{FunctionName}/provisioned-concurrency"
# AWS caps ListProvisionedConcurrencyConfigs pages at 50.
_MAX_PAGE = 50


class ProvisionedApi:
    def __init__(self, configs: ProvisionedConfigs) -> None:
        self._configs = configs

    def register(self, router: Router) -> None:
        router.add("PutProvisionedConcurrencyConfig", "PUT", PATH, self.put)
        router.add("GetProvisionedConcurrencyConfig", "GET", PATH, self.get)
        router.add(
            "ListProvisionedConcurrencyConfigs", "GET", PATH, self.list, query=[("List", "ALL")]
        )
        router.add("DeleteProvisionedConcurrencyConfig", "DELETE", PATH, self.delete)

    async def put(self, request: Request) -> Response:
        requested = check_requested(request.json().get("ProvisionedConcurrentExecutions"))
        return json_response(self._configs.put(function_ref(request), requested), status=202)

    async def get(self, request: Request) -> Response:
        return json_response(self._configs.get(function_ref(request)))

    async def delete(self, request: Request) -> Response:
        self._configs.delete(function_ref(request))
        return empty_response(204)

    async def list(self, request: Request) -> Response:
        configs = self._configs.list(unqualified(request))
        page, marker = paginate(
            configs, request, key=lambda c: str(c["FunctionArn"]), default=_MAX_PAGE
        )
        return list_response("ProvisionedConcurrencyConfigs", page, marker)
